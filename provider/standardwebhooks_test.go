package provider

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestStandardWebhooksOfficialLibrary signs with the reference Go library and
// verifies with Hookwatch (both header families, both provider names), and
// the other way round.
func TestStandardWebhooksOfficialLibrary(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"type":"user.created","data":{"id":"user_29w83sxmDNGwOuEthce5gg56FcC"}}`)
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", testNow, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"standardwebhooks", "svix"} {
		for _, prefix := range []string{"webhook-", "svix-"} {
			s := mustNew(t, name, Config{Secrets: []string{secret}})
			h := http.Header{}
			h.Set(prefix+"id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
			h.Set(prefix+"timestamp", strconv.FormatInt(testNow.Unix(), 10))
			h.Set(prefix+"signature", sig)
			res, err := s.Verify(&Request{Header: h, Body: body, Now: testNow.Add(2 * time.Minute)})
			if err != nil {
				t.Fatalf("%s with %s headers: %v", name, prefix, err)
			}
			if res.EventID != "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W" || res.EventType != "user.created" || res.Malformed {
				t.Errorf("%s: result = %+v", name, res)
			}
		}
	}

	// Hookwatch's Sign is accepted by the reference library (webhook- headers).
	s := mustNew(t, "standardwebhooks", Config{Secrets: []string{secret}})
	h := http.Header{}
	if err := s.(Signer).Sign(h, "", body, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, h); err != nil {
		t.Fatalf("reference library rejects Hookwatch's signature: %v", err)
	}
	other, _ := standardwebhooks.NewWebhook("whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==")
	if err := other.Verify(body, h); err == nil {
		t.Fatal("reference library accepts the signature with another key: the test is broken")
	}

	// A caller-chosen message ID is kept and signed.
	h = http.Header{}
	h.Set("webhook-id", "msg_fixed")
	if err := s.(Signer).Sign(h, "", body, time.Now()); err != nil {
		t.Fatal(err)
	}
	if h.Get("webhook-id") != "msg_fixed" || wh.Verify(body, h) != nil {
		t.Errorf("Sign did not keep webhook-id: %v", h)
	}
}

func TestStandardWebhooksCases(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	wh, _ := standardwebhooks.NewWebhook(secret)
	good, _ := wh.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", testNow, body)
	goodSig := strings.TrimPrefix(good, "v1,")
	ts := strconv.FormatInt(testNow.Unix(), 10)
	for _, tc := range []struct {
		name, id, ts, sig string
		want              Reason
	}{
		{"valid", "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, good, ""},
		{"extra white space", "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, "  v1,bogus   " + good + "  ", ""},
		{"only v1a and v2", "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, "v1a," + goodSig + " v2," + goodSig, ReasonUnknownVersion},
		{"partial signature", "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, "v1,", ReasonMalformedHeader},
		{"no version", "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, goodSig, ReasonMalformedHeader},
		{"truncated", "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, good[:20], ReasonMalformedHeader},
		{"another id", "msg_other", ts, good, ReasonBadSignature},
		{"no id", "", ts, good, ReasonMalformedHeader},
		{"no timestamp", "msg_p5jXN8AQM9LWM0D4loKWxJek", "", good, ReasonMalformedHeader},
		{"timestamp in ms", "msg_p5jXN8AQM9LWM0D4loKWxJek", ts + "000", good, ReasonBadSignature},
		{"timestamp not a number", "msg_p5jXN8AQM9LWM0D4loKWxJek", "now", good, ReasonMalformedHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, "standardwebhooks", Config{Secrets: []string{secret}})
			h := http.Header{}
			if tc.id != "" {
				h.Set("webhook-id", tc.id)
			}
			if tc.ts != "" {
				h.Set("webhook-timestamp", tc.ts)
			}
			h.Set("webhook-signature", tc.sig)
			_, err := s.Verify(&Request{Header: h, Body: body, Now: testNow})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantReason(t, err, tc.want, secret, strings.TrimPrefix(secret, "whsec_"), goodSig)
		})
	}
}

func TestStandardWebhooksSecrets(t *testing.T) {
	body := `{"type":"x"}`
	prefixed := mustNew(t, "svix", Config{Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}})
	bare := mustNew(t, "svix", Config{Secrets: []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}})
	if _, err := bare.Verify(signed(t, prefixed, body, testNow, testNow)); err != nil {
		t.Fatalf("a secret without whsec_ should be the same key: %v", err)
	}
	for _, bad := range []string{"whsec_not base64!", "whsec_"} {
		_, err := New("standardwebhooks", Config{Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", bad}})
		if err == nil {
			t.Fatalf("secret %q accepted", bad)
		}
		if !strings.Contains(err.Error(), "secret 2") || (len(bad) > 6 && strings.Contains(err.Error(), bad[6:])) {
			t.Errorf("error %q should name secret 2 without echoing it", err)
		}
	}
}

func TestStandardWebhooksMalformedBody(t *testing.T) {
	s := mustNew(t, "standardwebhooks", Config{Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}})
	r := signed(t, s, `not json`, testNow, testNow)
	res, err := s.Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Malformed || res.EventID != r.Header.Get("webhook-id") || res.EventID == "" {
		t.Errorf("result = %+v, want Malformed with the header's ID", res)
	}
}
