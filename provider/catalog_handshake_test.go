package provider

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDiscordPing: Discord's endpoint check is a signed interaction of type 1
// that must be answered {"type":1}; a webhook-event PING (type 0) gets 204.
func TestDiscordPing(t *testing.T) {
	seed := "discord-app"
	s := mustNew(t, "discord", Config{Secrets: []string{edPubHex(seed)}})
	for _, tc := range []struct {
		body   string
		status int
		answer string
	}{
		{`{"app_permissions":"0","application_id":"1","id":"2","token":"tok","type":1,"user":{"id":"3"},"version":1}`, 200, `{"type":1}`},
		{`{"version":1,"application_id":"1","type":0}`, 204, ""},
	} {
		ts := unix(testNow)
		sig := ed25519.Sign(edKey(seed), []byte(ts+tc.body))
		r := post(catURL, tc.body, testNow, "X-Signature-Ed25519", hex.EncodeToString(sig), "X-Signature-Timestamp", ts, "Content-Type", "application/json")
		res, err := s.Verify(r)
		if err != nil {
			t.Fatal(err)
		}
		if res.Handshake == nil || res.Handshake.Status != tc.status || string(res.Handshake.Body) != tc.answer {
			t.Fatalf("handshake = %+v, want %d %s", res.Handshake, tc.status, tc.answer)
		}
		// An unsigned PING is not answered.
		r.Header.Set("X-Signature-Ed25519", hex.EncodeToString(make([]byte, 64)))
		_, err = s.Verify(r)
		wantReason(t, err, ReasonBadSignature)
	}
	// A webhook event (type 1 with an event) is an event, not a handshake.
	body := `{"version":1,"application_id":"1","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834","data":{}}}`
	ts := unix(testNow)
	r := post(catURL, body, testNow, "X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(edKey(seed), []byte(ts+body))), "X-Signature-Timestamp", ts)
	res, err := s.Verify(r)
	if err != nil || res.Handshake != nil || res.EventType != "APPLICATION_AUTHORIZED" {
		t.Fatalf("webhook event: %+v, %v", res, err)
	}
	if _, err := New("discord", Config{Secrets: []string{"not-hex"}}); err == nil {
		t.Fatal("discord accepted a public key that is not hex")
	}
}

// TestTwitchChallenge: the webhook_callback_verification request, shaped as
// in Twitch's guide, is answered with the raw challenge as text/plain.
func TestTwitchChallenge(t *testing.T) {
	const secret = "twitch-subscription-secret"
	s := mustNew(t, "twitch", Config{Secrets: []string{secret}})
	body := `{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"1","cost":1,"condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"}}`
	ts := testNow.UTC().Format(time.RFC3339Nano)
	r := post(catURL, body, testNow,
		"Twitch-Eventsub-Message-Id", "e76c6bd4-55c9-4987-8304-da1588d8988b",
		"Twitch-Eventsub-Message-Retry", "0",
		"Twitch-Eventsub-Message-Type", "webhook_callback_verification",
		"Twitch-Eventsub-Message-Timestamp", ts,
		"Twitch-Eventsub-Subscription-Type", "channel.follow",
		"Twitch-Eventsub-Subscription-Version", "1",
		"Twitch-Eventsub-Message-Signature", "sha256="+hmHex(sha256.New, secret, "e76c6bd4-55c9-4987-8304-da1588d8988b"+ts+body))
	res, err := s.Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	h := res.Handshake
	if h == nil || h.Status != 200 || h.ContentType != "text/plain" || string(h.Body) != "pogchamp-kappa-360noscope-vohiyo" {
		t.Fatalf("handshake = %+v", h)
	}
	r.Header.Set("Twitch-Eventsub-Message-Signature", "sha256="+hmHex(sha256.New, "wrong", "x"))
	_, err = s.Verify(r)
	wantReason(t, err, ReasonBadSignature, secret)

	// A revocation is stored as an event.
	body = `{"subscription":{"id":"f1c2","status":"authorization_revoked","type":"channel.follow","version":"1"}}`
	r = post(catURL, body, testNow, "Twitch-Eventsub-Message-Id", "m2", "Twitch-Eventsub-Message-Type", "revocation",
		"Twitch-Eventsub-Message-Timestamp", ts, "Twitch-Eventsub-Message-Signature", "sha256="+hmHex(sha256.New, secret, "m2"+ts+body))
	res, err = s.Verify(r)
	if err != nil || res.Handshake != nil || res.EventID != "m2" || res.EventType != "revocation.channel.follow" {
		t.Fatalf("revocation: %+v, %v", res, err)
	}
}

// TestZoomURLValidation: endpoint.url_validation, shaped as in Zoom's guide,
// is answered with plainToken and its HMAC under the secret that verified.
func TestZoomURLValidation(t *testing.T) {
	const secret = "zoom-secret-token"
	s := mustNew(t, "zoom", Config{Secrets: []string{"older-token", secret}})
	body := `{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}`
	ts := unix(testNow)
	r := post(catURL, body, testNow, "X-Zm-Request-Timestamp", ts, "X-Zm-Signature", "v0="+hmHex(sha256.New, secret, "v0:"+ts+":"+body))
	res, err := s.Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Handshake == nil || res.Handshake.Status != 200 || res.Handshake.ContentType != "application/json" {
		t.Fatalf("handshake = %+v", res.Handshake)
	}
	var got map[string]string
	if err := json.Unmarshal(res.Handshake.Body, &got); err != nil {
		t.Fatal(err)
	}
	if got["plainToken"] != "qgg8vlvZRS6UYooatFL8Aw" || got["encryptedToken"] != hmHex(sha256.New, secret, "qgg8vlvZRS6UYooatFL8Aw") {
		t.Fatalf("answer = %v", got)
	}
	r.Body = []byte(`{"payload":{"plainToken":"other"},"event":"endpoint.url_validation"}`)
	_, err = s.Verify(r)
	wantReason(t, err, ReasonBadSignature, secret)
}

// TestMailgunReplay: a token that verified once is rejected when it comes
// back with another body (the body is not signed: a forged replay), but the
// identical request passes again (Mailgun retrying after a 503; dedupe on the
// event ID absorbs it).
func TestMailgunReplay(t *testing.T) {
	const key = "key-signing"
	s := mustNew(t, "mailgun", Config{Secrets: []string{key}})
	ts := unix(testNow)
	body := fmt.Sprintf(`{"signature":{"timestamp":"%s","token":"once","signature":"%s"},"event-data":{"id":"e1","event":"opened"}}`, ts, hmHex(sha256.New, key, ts+"once"))
	if _, err := s.Verify(post(catURL, body, testNow)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(post(catURL, body, testNow.Add(time.Second))); err != nil {
		t.Fatalf("identical retry rejected: %v", err)
	}
	forged := strings.Replace(body, `"opened"`, `"clicked"`, 1)
	_, err := s.Verify(post(catURL, forged, testNow.Add(2*time.Second)))
	wantReason(t, err, ReasonReplayed, key)
	if got := MailgunSignature(key, testNow.Unix(), "once"); got != hmHex(sha256.New, key, ts+"once") {
		t.Fatalf("MailgunSignature = %s", got)
	}
	// Legacy form-encoded webhooks.
	form := "timestamp=" + ts + "&token=form-tok&signature=" + hmHex(sha256.New, key, ts+"form-tok") + "&event=delivered&Message-Id=%3Cm%40x%3E"
	res, err := s.Verify(post(catURL, form, testNow))
	if err != nil || res.EventType != "delivered" || res.EventID != "<m@x>" {
		t.Fatalf("form: %+v %v", res, err)
	}
}

// TestMailgunParentSignature: events of a subaccount's domain carry a
// parent-signature made with the primary account's signing key (Mailgun's
// "Securing Webhooks"), so a source configured with the primary key verifies
// them; a parent-signature made with another key, or one that is not hex,
// does not stand in for the signature.
func TestMailgunParentSignature(t *testing.T) {
	const primary, sub = "key-primary", "key-subaccount"
	s := mustNew(t, "mailgun", Config{Secrets: []string{primary}})
	ts := unix(testNow)
	body := func(token, parent string) string {
		return fmt.Sprintf(`{"signature":{"timestamp":"%s","token":"%s","signature":"%s","parent-signature":"%s"},"event-data":{"id":"%s","event":"delivered"}}`,
			ts, token, hmHex(sha256.New, sub, ts+token), parent, token)
	}
	res, err := s.Verify(post(catURL, body("t1", hmHex(sha256.New, primary, ts+"t1")), testNow))
	if err != nil || res.EventID != "t1" {
		t.Fatalf("subaccount event with the primary's parent-signature: %+v %v", res, err)
	}
	_, err = s.Verify(post(catURL, body("t2", hmHex(sha256.New, "key-other", ts+"t2")), testNow))
	wantReason(t, err, ReasonBadSignature, primary)
	_, err = s.Verify(post(catURL, body("t3", "not-hex"), testNow))
	wantReason(t, err, ReasonBadSignature, primary)
	// The subaccount's own key still verifies the signature itself.
	own := mustNew(t, "mailgun", Config{Secrets: []string{sub}})
	if _, err := own.Verify(post(catURL, body("t4", "not-hex"), testNow)); err != nil {
		t.Fatalf("subaccount key: %v", err)
	}
}

func TestTokenCacheBounded(t *testing.T) {
	c := newTokenCache(3, time.Minute)
	for i := range 10 {
		if !c.add(fmt.Sprint(i), [32]byte{}, testNow) {
			t.Fatalf("token %d seen", i)
		}
	}
	if len(c.seen) > 3 {
		t.Fatalf("cache holds %d tokens, max 3", len(c.seen))
	}
	if c.add("9", [32]byte{1}, testNow) {
		t.Fatal("recent token 9 forgotten")
	}
	if !c.add("9", [32]byte{1}, testNow.Add(2*time.Minute)) {
		t.Fatal("token 9 remembered past its TTL")
	}
}

// TestCatalogSendGridKeys: the vector's key verifies, another P-256 key does
// not, keys in the wrong form are refused when the source is built.
func TestCatalogSendGridKeys(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pub := base64.StdEncoding.EncodeToString(der)
	body := `[{"email":"a@example.com","event":"delivered","sg_event_id":"sg-1"},{"email":"b@example.com","event":"delivered","sg_event_id":"sg-2"}]`
	ts := unix(testNow)
	d := sha256.Sum256([]byte(ts + body))
	sig, _ := ecdsa.SignASN1(rand.Reader, priv, d[:])
	r := post(catURL, body, testNow, "X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(sig), "X-Twilio-Email-Event-Webhook-Timestamp", ts)
	s := mustNew(t, "sendgrid", Config{Secrets: []string{pub}})
	res, err := s.Verify(r)
	if err != nil || res.EventType != "delivered" || len(res.EventID) < 7 || res.EventID[:6] != "batch:" {
		t.Fatalf("%+v %v", res, err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	oder, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	_, err = mustNew(t, "sendgrid", Config{Secrets: []string{base64.StdEncoding.EncodeToString(oder)}}).Verify(r)
	wantReason(t, err, ReasonBadSignature)
	if _, err := mustNew(t, "sendgrid", Config{Secrets: []string{base64.StdEncoding.EncodeToString(oder), pub}}).Verify(r); err != nil {
		t.Fatalf("rotation: %v", err)
	}
	stale := post(catURL, body, testNow.Add(time.Hour))
	stale.Header = r.Header
	_, err = s.Verify(stale)
	wantReason(t, err, ReasonStaleTimestamp)
	hexSig := post(catURL, body, testNow)
	hexSig.Header = r.Header.Clone()
	hexSig.Header.Set("X-Twilio-Email-Event-Webhook-Signature", hex.EncodeToString(sig))
	_, err = s.Verify(hexSig)
	wantRejected(t, err, "", ReasonMalformedHeader, ReasonBadSignature)
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("junk"))} {
		if _, err := New("sendgrid", Config{Secrets: []string{bad}}); err == nil {
			t.Errorf("sendgrid accepted key %q", bad)
		}
	}
}

// TestHubSpotConfig: v2 and v3 need public_url, checked by the factory since
// the registry's NeedsPublicURL is per provider; v1 does not.
func TestHubSpotConfig(t *testing.T) {
	sec := []string{"s"}
	for _, v := range []string{"", "3", "v3", "2"} {
		if _, err := New("hubspot", Config{Secrets: sec, Options: map[string]string{"version": v}}); err == nil {
			t.Errorf("version %q without public_url accepted", v)
		}
	}
	if _, err := New("hubspot", Config{Secrets: sec, Options: map[string]string{"version": "1"}}); err != nil {
		t.Errorf("v1: %v", err)
	}
	if _, err := New("hubspot", Config{Secrets: sec, PublicURL: catURL, Options: map[string]string{"version": "4"}}); err == nil {
		t.Error("version 4 accepted")
	}
	if _, err := New("hubspot", Config{Secrets: sec, PublicURL: catURL, Options: map[string]string{"versoin": "3"}}); err == nil {
		t.Error("misspelt option accepted")
	}
	// v1 and v2 sign with Sign, checked against the versions' headers.
	for _, v := range []string{"1", "2", "3"} {
		s := mustNew(t, "hubspot", Config{Secrets: sec, PublicURL: catURL, Options: map[string]string{"version": v}})
		h := http.Header{}
		if err := s.(Signer).Sign(h, catURL, []byte(`[]`), testNow); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Verify(&Request{Method: "POST", URL: catURL, Header: h, Body: []byte(`[]`), Now: testNow}); err != nil {
			t.Errorf("v%s round trip: %v", v, err)
		}
	}
}

// TestTwilioJSONBodyHash: a JSON body whose bodySHA256 does not match is
// rejected even though the URL signature is right.
func TestTwilioJSONBodyHash(t *testing.T) {
	const tok = "tok"
	body := `{"a":1}`
	sum := sha256.Sum256([]byte(body))
	u := catURL + "?bodySHA256=" + hex.EncodeToString(sum[:])
	s := mustNew(t, "twilio", Config{Secrets: []string{tok}, PublicURL: catURL})
	r := post(u, body, testNow, "X-Twilio-Signature", hmB64(sha1.New, tok, u))
	if _, err := s.Verify(r); err != nil {
		t.Fatal(err)
	}
	r.Body = []byte(`{"a":2}`)
	_, err := s.Verify(r)
	wantReason(t, err, ReasonBadSignature, tok)
	if _, err := New("twilio", Config{Secrets: []string{tok}}); err == nil {
		t.Error("twilio without public_url accepted")
	}
}
