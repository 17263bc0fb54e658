package provider

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The fuzzers feed arbitrary header values to each parser and to Verify.
// They assert: no panic; every rejection is a *VerifyError with a known
// reason whose text never contains the secret or the expected signature;
// the same input always gives the same answer; and a request only verifies
// when the header really carries the expected signature.

const fuzzSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

var fuzzBody = []byte(`{"id":"evt_fuzz","type":"fuzz.tested"}`)

var knownReasons = map[Reason]bool{
	ReasonMissingSignature: true, ReasonMalformedHeader: true, ReasonBadSignature: true,
	ReasonStaleTimestamp: true, ReasonFutureTimestamp: true, ReasonUnknownVersion: true,
}

// checkVerify runs Verify twice on r and checks the invariants above.
// expected lists the encodings of the right signature, any of which must
// appear in header for the request to pass.
func checkVerify(t *testing.T, s Scheme, r *Request, header string, expected ...string) {
	res1, err1 := s.Verify(r)
	res2, err2 := s.Verify(r)
	if (err1 == nil) != (err2 == nil) || ReasonOf(err1) != ReasonOf(err2) || res1.EventID != res2.EventID {
		t.Fatalf("not deterministic: %v / %v", err1, err2)
	}
	if err1 == nil {
		found := false
		for _, e := range expected {
			found = found || strings.Contains(strings.ToLower(header), strings.ToLower(e))
		}
		if !found {
			t.Fatalf("header %q verified without the expected signature", header)
		}
		return
	}
	var ve *VerifyError
	if !errors.As(err1, &ve) || !knownReasons[ve.Reason] {
		t.Fatalf("err = %#v, want a *VerifyError with a known reason", err1)
	}
	for _, leak := range append([]string{fuzzSecret, strings.TrimPrefix(fuzzSecret, "whsec_")}, expected...) {
		if strings.Contains(ve.Detail, leak) {
			t.Fatalf("detail %q leaks %q", ve.Detail, leak)
		}
	}
}

// fuzzV1Header fuzzes the signature header key (over a copy of base): the
// parser, through v1s (how many v1 signatures it found), must not accept a
// header without one, and Verify must keep checkVerify's invariants.
func fuzzV1Header(f *testing.F, s Scheme, base http.Header, key, expected string, v1s func(header string) (int, error)) {
	f.Fuzz(func(t *testing.T, header string) {
		if n, err := v1s(header); err == nil && n == 0 {
			t.Fatal("parsed without a v1 signature")
		}
		h := base.Clone()
		h.Set(key, header)
		checkVerify(t, s, &Request{Header: h, Body: fuzzBody, Now: testNow}, header, expected)
	})
}

func FuzzStripeSignature(f *testing.F) {
	s := mustNew(f, "stripe", Config{Secrets: []string{fuzzSecret}, Tolerance: -1})
	r := signed(f, s, string(fuzzBody), testNow, testNow)
	good := r.Header.Get("Stripe-Signature")
	expected := good[strings.Index(good, "v1=")+3:]
	for _, seed := range []string{good, good + ",v0=abcd", "t=1,v1=zz", "t=,v1=", ",,", "t", "v1=" + expected, "t=-1,v1=" + expected, "t=1,t=2", " t = 1 , v1 = 00 "} {
		f.Add(seed)
	}
	fuzzV1Header(f, s, http.Header{}, "Stripe-Signature", expected, func(header string) (int, error) {
		sig, err := parseStripeSignature(header)
		return len(sig.v1), err
	})
}

func FuzzWebhookSignatureList(f *testing.F) {
	s := mustNew(f, "standardwebhooks", Config{Secrets: []string{fuzzSecret}, Tolerance: -1})
	r := signed(f, s, string(fuzzBody), testNow, testNow)
	good := r.Header.Get("webhook-signature")
	expected := strings.TrimPrefix(good, "v1,")
	for _, seed := range []string{good, "v1a," + expected + " " + good, "v2," + expected, "v1,", ",", "v1,abc v1,def", "  ", expected, "v1," + expected + "=="} {
		f.Add(seed)
	}
	fuzzV1Header(f, s, r.Header, "webhook-signature", expected, func(header string) (int, error) {
		l, err := parseSignatureList(header)
		return len(l.v1), err
	})
}

func FuzzSlackSignature(f *testing.F) {
	s := mustNew(f, "slack", Config{Secrets: []string{fuzzSecret}, Tolerance: -1})
	r := signed(f, s, string(fuzzBody), testNow, testNow)
	good := r.Header.Get("X-Slack-Signature")
	ts := r.Header.Get("X-Slack-Request-Timestamp")
	expected := strings.TrimPrefix(good, "v0=")
	f.Add(good, ts)
	f.Add("v1="+expected, ts)
	f.Add(good, "0"+ts)
	f.Add("v0=", "")
	f.Add("=", "-1")
	f.Add(good, " "+ts+" ")
	f.Fuzz(func(t *testing.T, sig, ts string) {
		if _, err := parseSlackSignature(sig); err == nil && !strings.HasPrefix(strings.TrimSpace(sig), "v0=") {
			t.Fatalf("parsed %q without v0=", sig)
		}
		h := http.Header{}
		h.Set("X-Slack-Signature", sig)
		h.Set("X-Slack-Request-Timestamp", ts)
		checkVerify(t, s, &Request{Header: h, Body: fuzzBody, Now: testNow}, sig, expected)
	})
}

func FuzzHMACHeader(f *testing.F) {
	opts := map[string]string{"header": "X-Signature", "prefix": "sha256=", "signed": "{timestamp}.{body}", "timestamp_header": "X-Timestamp"}
	s := mustNew(f, "hmac", Config{Secrets: []string{fuzzSecret}, Options: opts, Tolerance: -1})
	b64 := mustNew(f, "hmac", Config{Secrets: []string{fuzzSecret}, Options: map[string]string{"header": "X-Signature", "encoding": "base64"}})
	r := signed(f, s, string(fuzzBody), testNow, testNow)
	good := r.Header.Get("X-Signature")
	expected := strings.TrimPrefix(good, "sha256=")
	rb := signed(f, b64, string(fuzzBody), testNow, testNow)
	goodB64 := rb.Header.Get("X-Signature")
	for _, seed := range []string{good, "SHA256=" + expected, expected, "sha256=", "sha256=" + expected[:10], goodB64, goodB64 + "\n", "sha256=" + hexToB64(expected)} {
		f.Add(seed)
	}
	ts := strconv.FormatInt(testNow.Unix(), 10)
	f.Fuzz(func(t *testing.T, header string) {
		h := http.Header{}
		h.Set("X-Signature", header)
		h.Set("X-Timestamp", ts)
		checkVerify(t, s, &Request{Header: h, Body: fuzzBody, Now: testNow}, header, expected)
		// base64 is case-sensitive: compare its expected value exactly.
		res, err := b64.Verify(&Request{Header: h, Body: fuzzBody, Now: testNow})
		if err == nil && !strings.Contains(header, goodB64) {
			raw, _ := base64.StdEncoding.DecodeString(goodB64)
			t.Fatalf("base64 header %q verified (%+v) without %s (%s)", header, res, goodB64, hex.EncodeToString(raw))
		}
	})
}
