package provider

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

// TestStripeOfficialSDK signs with stripe-go and verifies with Hookwatch,
// and the other way round.
func TestStripeOfficialSDK(t *testing.T) {
	const secret = "whsec_test_secret"
	body := []byte(`{"id":"evt_test_webhook","object":"event","livemode":true,"type":"payment_intent.succeeded"}`)
	s := mustNew(t, "stripe", Config{Secrets: []string{secret}})

	p := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: testNow})
	h := http.Header{}
	h.Set("Stripe-Signature", p.Header)
	res, err := s.Verify(&Request{Header: h, Body: body, Now: testNow.Add(time.Minute)})
	if err != nil {
		t.Fatalf("verify a stripe-go signature: %v", err)
	}
	if res.EventID != "evt_test_webhook" || res.EventType != "payment_intent.succeeded" || res.Test || res.Malformed {
		t.Errorf("result = %+v", res)
	}

	// A header assembled from stripe-go's ComputeSignature (the primitive
	// its verifier uses), with the whole whsec_ string as key.
	sig := webhook.ComputeSignature(testNow, body, secret)
	h.Set("Stripe-Signature", "t="+formatInt(testNow.Unix())+",v1="+hex.EncodeToString(sig))
	if _, err := s.Verify(&Request{Header: h, Body: body, Now: testNow}); err != nil {
		t.Fatalf("ComputeSignature: %v", err)
	}

	// Hookwatch's Sign is accepted by stripe-go.
	out := http.Header{}
	if err := s.(Signer).Sign(out, "", body, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := webhook.ValidatePayload(body, out.Get("Stripe-Signature"), secret); err != nil {
		t.Fatalf("stripe-go rejects Hookwatch's signature: %v", err)
	}
	if err := webhook.ValidatePayload(body, out.Get("Stripe-Signature"), "whsec_other"); err == nil {
		t.Fatal("stripe-go accepts Hookwatch's signature with another secret: the test is broken")
	}
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

func TestStripeHeaderCases(t *testing.T) {
	const secret = "whsec_test_secret"
	s := mustNew(t, "stripe", Config{Secrets: []string{secret}})
	body := []byte(`{"id":"evt_1","type":"charge.succeeded","livemode":false}`)
	ts := testNow.Unix()
	good := hex.EncodeToString(webhook.ComputeSignature(testNow, body, secret))
	for _, tc := range []struct {
		name, header string
		want         Reason
	}{
		{"valid", "t=" + formatInt(ts) + ",v1=" + good, ""},
		{"spaces around items", " t=" + formatInt(ts) + " , v1=" + good + " ", ""},
		{"v1 first", "v1=" + good + ",t=" + formatInt(ts), ""},
		{"v0 only", "t=" + formatInt(ts) + ",v0=" + good, ReasonUnknownVersion},
		{"no timestamp", "v1=" + good, ReasonMalformedHeader},
		{"two timestamps", "t=1,t=" + formatInt(ts) + ",v1=" + good, ReasonMalformedHeader},
		{"timestamp not a number", "t=yesterday,v1=" + good, ReasonMalformedHeader},
		{"item without =", "t=" + formatInt(ts) + ",v1", ReasonMalformedHeader},
		{"v1 not hex", "t=" + formatInt(ts) + ",v1=not-hex", ReasonMalformedHeader},
		{"v1 truncated", "t=" + formatInt(ts) + ",v1=" + good[:32], ReasonMalformedHeader},
		{"bad v1 beside a good one", "t=" + formatInt(ts) + ",v1=zz,v1=" + good, ""},
		{"signature for another time", "t=" + formatInt(ts+1) + ",v1=" + good, ReasonBadSignature},
		{"v1 in upper case hex", "t=" + formatInt(ts) + ",v1=" + strings.ToUpper(good), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("Stripe-Signature", tc.header)
			res, err := s.Verify(&Request{Header: h, Body: body, Now: testNow})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !res.Test || res.EventID != "evt_1" {
					t.Errorf("result = %+v, want a test-mode evt_1", res)
				}
				return
			}
			wantReason(t, err, tc.want, secret, good)
		})
	}
}

// TestStripeMalformedBody: a signed body that is not JSON is accepted and
// flagged, never rejected.
func TestStripeMalformedBody(t *testing.T) {
	s := mustNew(t, "stripe", Config{Secrets: []string{"whsec_x"}})
	res, err := s.Verify(signed(t, s, `{"id":"evt_1",`, testNow, testNow))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Malformed || res.EventID != "" {
		t.Errorf("result = %+v, want Malformed", res)
	}
}
