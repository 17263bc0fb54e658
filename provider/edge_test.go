package provider

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// Edge cases of multi-signature headers, one rule for all: skip what cannot
// be an entry, reject only when no entry verifies. Signatures are computed
// with crypto/* here, never with the package's Sign.

func TestMultiSignatureHeadersSkipBadEntries(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := `{"event_id":"evt_01","event_type":"transaction.completed","event":"invitee.created","event":{"id":"e1","event_type":"incident.triggered"}}`
	const secret = "key-one"
	cases := []struct {
		provider, header, value string
		want                    Reason // "" = verifies
	}{
		// Paddle: ts=;h1=, any h1 may match.
		{"paddle", "Paddle-Signature", "ts=" + ts + ";h1=zz-not-hex;h1=" + hmHex(sha256.New, secret, ts, ":", body), ""},
		{"paddle", "Paddle-Signature", "ts=" + ts + ";junk;h1=" + hmHex(sha256.New, secret, ts, ":", body) + ";h2=future", ""},
		{"paddle", "Paddle-Signature", "ts=" + ts + ";h1=zz;h1=", ReasonMalformedHeader},
		{"paddle", "Paddle-Signature", "ts=" + ts + ";h2=abcd", ReasonUnknownVersion},
		{"paddle", "Paddle-Signature", "h1=" + hmHex(sha256.New, secret, ts, ":", body), ReasonMalformedHeader},
		{"paddle", "Paddle-Signature", "ts=" + ts + ";ts=" + ts + ";h1=" + hmHex(sha256.New, secret, ts, ":", body), ReasonMalformedHeader},
		{"paddle", "Paddle-Signature", "ts=" + ts + ";h1=00ff;h1=" + hmHex(sha256.New, "other", ts, ":", body), ReasonBadSignature},
		// Calendly: t=,v1=.
		{"calendly", "Calendly-Webhook-Signature", "t=" + ts + ",v1=not-hex,v1=" + hmHex(sha256.New, secret, ts, ".", body), ""},
		{"calendly", "Calendly-Webhook-Signature", "garbage,t=" + ts + ",v1=" + hmHex(sha256.New, secret, ts, ".", body), ""},
		{"calendly", "Calendly-Webhook-Signature", "t=" + ts + ",v1=not-hex", ReasonMalformedHeader},
		// PagerDuty: v1=, comma separated, no timestamp.
		{"pagerduty", "X-PagerDuty-Signature", "v1=not-hex,v1=" + hmHex(sha256.New, secret, body), ""},
		{"pagerduty", "X-PagerDuty-Signature", "garbage, v2=abcd, v1=" + hmHex(sha256.New, secret, body), ""},
		{"pagerduty", "X-PagerDuty-Signature", "v1=zz", ReasonMalformedHeader},
		{"pagerduty", "X-PagerDuty-Signature", "v2=abcd", ReasonUnknownVersion},
		{"pagerduty", "X-PagerDuty-Signature", "v1=" + hmHex(sha256.New, "other", body), ReasonBadSignature},
	}
	for _, tc := range cases {
		t.Run(tc.provider+"/"+tc.value, func(t *testing.T) {
			s, err := New(tc.provider, Config{Secrets: []string{secret}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Verify(&Request{Method: "POST", Header: http.Header{http.CanonicalHeaderKey(tc.header): {tc.value}}, Body: []byte(body), Now: now})
			if got := ReasonOf(err); got != tc.want || (tc.want == "" && err != nil) {
				t.Fatalf("got %v (reason %q), want reason %q", err, got, tc.want)
			}
		})
	}
}

func TestSquareLegacySHA1(t *testing.T) {
	const key, url = "sq-signature-key", "https://hooks.example.com/in/square"
	body := `{"merchant_id":"M1","type":"payment.updated","event_id":"6a8f5f28"}`
	s, err := New("square", Config{Secrets: []string{key}, PublicURL: url})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(h http.Header) error {
		_, err := s.Verify(&Request{Method: "POST", URL: url, Header: h, Body: []byte(body), Now: time.Now()})
		return err
	}
	legacy := hmB64(sha1.New, key, url, body)
	if err := verify(http.Header{"X-Square-Signature": {legacy}}); err != nil {
		t.Fatalf("legacy x-square-signature alone: %v", err)
	}
	if err := verify(http.Header{"X-Square-Signature": {hmB64(sha1.New, "other", url, body)}}); ReasonOf(err) != ReasonBadSignature {
		t.Fatalf("legacy signature by another key: %v", err)
	}
	// When the SHA-256 header is there it decides: a valid legacy header
	// beside a wrong SHA-256 one does not pass.
	if err := verify(http.Header{"X-Square-Signature": {legacy}, "X-Square-Hmacsha256-Signature": {hmB64(sha256.New, "other", url, body)}}); ReasonOf(err) != ReasonBadSignature {
		t.Fatalf("wrong SHA-256 beside valid SHA-1: %v", err)
	}
	if err := verify(http.Header{}); ReasonOf(err) != ReasonMissingSignature {
		t.Fatalf("no header: %v", err)
	}
}

func TestGitLabSigningToken(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	signing := "whsec_" + base64.StdEncoding.EncodeToString(key)
	now := time.Unix(1_760_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := `{"object_kind":"push"}`
	const id = "b5ef3a2c-2b1f-4b8e-9a5f-0c6d2c1e7a10"
	sig := "v1," + base64.StdEncoding.EncodeToString(hm(sha256.New, string(key), id, ".", ts, ".", body))
	signedHeader := func(sig string) http.Header {
		return http.Header{"Webhook-Id": {id}, "Idempotency-Key": {id}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sig}, "X-Gitlab-Event": {"Push Hook"}}
	}
	for _, tc := range []struct {
		name    string
		secrets []string
		h       http.Header
		at      time.Time
		want    Reason
	}{
		{"signed", []string{signing}, signedHeader(sig), now, ""},
		{"signed, token also configured", []string{"plain-token", signing}, signedHeader(sig), now, ""},
		{"token while moving to signing", []string{"plain-token", signing}, http.Header{"X-Gitlab-Token": {"plain-token"}}, now, ""},
		{"signature by another key", []string{signing}, signedHeader("v1," + base64.StdEncoding.EncodeToString(hm(sha256.New, "x", id, ".", ts, ".", body))), now, ReasonBadSignature},
		{"signature decides over a valid token", []string{"plain-token", signing}, func() http.Header {
			h := signedHeader("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
			h.Set("X-Gitlab-Token", "plain-token")
			return h
		}(), now, ReasonBadSignature},
		{"stale", []string{signing}, signedHeader(sig), now.Add(time.Hour), ReasonStaleTimestamp},
		{"signing only, no signature", []string{signing}, http.Header{"X-Gitlab-Token": {"whatever"}}, now, ReasonMissingSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New("gitlab", Config{Secrets: tc.secrets})
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Verify(&Request{Method: "POST", Header: tc.h, Body: []byte(body), Now: tc.at})
			if ReasonOf(err) != tc.want || (tc.want == "" && err != nil) {
				t.Fatalf("got %v, want reason %q", err, tc.want)
			}
			if tc.want == "" && tc.h.Get("Webhook-Id") != "" && (res.EventID != id || res.EventType != "Push Hook") {
				t.Fatalf("result %+v", res)
			}
		})
	}
	if _, err := New("gitlab", Config{Secrets: []string{"whsec_!!!"}}); err == nil {
		t.Fatal("a whsec_ secret that is not base64 was accepted")
	}
}
