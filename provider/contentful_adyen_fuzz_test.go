package provider

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Fuzz tests for the Contentful header parser and path normaliser and the
// Adyen body parser: no input may panic, every failure is a *VerifyError,
// and nothing unsigned is accepted.

func FuzzContentfulHeaders(f *testing.F) {
	f.Add("cd72f52ce0b16dfe2809cb6054e9e578c3b2226e0a8b372aaf10e4f42cfbecb9", "x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic", "1764680000123", "/in/cf?a=1&b=2", "POST")
	f.Add("zz", ",,,", "-1", "/?", "GET")
	f.Add("", "X-CONTENTFUL-TIMESTAMP , x-contentful-timestamp", "99999999999999999999", "/a?b?c%zz", "")
	f.Fuzz(func(t *testing.T, sig, list, ts, path, method string) {
		h := http.Header{"X-Contentful-Signature": {sig}, "X-Contentful-Signed-Headers": {list}, "X-Contentful-Timestamp": {ts}, "X-Contentful-Topic": {list}}
		m, err := parseContentfulHeaders(h)
		if err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("error %v is not a VerifyError", err)
			}
		} else if len(m.sig) != 32 || m.ts <= 0 {
			t.Fatalf("parsed %+v from %q %q %q", m, sig, list, ts)
		}
		p := contentfulPath(path)
		for i := 0; i < len(p); i++ {
			if p[i] < 0x21 || p[i] > 0x7e {
				t.Fatalf("contentfulPath(%q) = %q: a byte left unescaped", path, p)
			}
		}
		s := mustNew(t, "contentful", Config{Secrets: []string{strings.Repeat("f", 64)}})
		res, err := s.Verify(&Request{Method: method, URL: "https://hooks.example.com" + path, Header: h, Body: []byte(`{"sys":{"id":"x","version":1}}`), Now: time.UnixMilli(1_764_680_000_123)})
		if err == nil {
			t.Fatalf("accepted an unsigned request: %+v", res)
		}
		if ReasonOf(err) == "" {
			t.Fatalf("error %v is not a VerifyError", err)
		}
	})
}

func FuzzAdyenBody(f *testing.F) {
	f.Add([]byte(`{"live":"false","notificationItems":[{"NotificationRequestItem":{"pspReference":"7914073381342284","amount":{"value":1130,"currency":"EUR"},"eventCode":"AUTHORISATION","success":"true","additionalData":{"hmacSignature":"Ny9gS2veKo5E4w8/OL6xz1/wvT/hYkAXy1xNc/QvO4I="}}}]}`))
	f.Add([]byte(`{"notificationItems":[{"NotificationRequestItem":null},{}]}`))
	f.Add([]byte(`{"notificationItems":[{"NotificationRequestItem":{"amount":[],"success":true,"additionalData":{"hmacSignature":7}}}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := parseAdyen(body)
		if err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("error %v is not a VerifyError", err)
			}
		} else {
			for _, ni := range b.NotificationItems {
				_ = ni.Item.signedString()
			}
		}
		// The fuzzer cannot produce a valid HMAC under this key.
		s := mustNew(t, "adyen", Config{Secrets: []string{"00112233445566778899aabbccddeeff"}})
		res, err := s.Verify(&Request{Method: http.MethodPost, URL: nextURL, Header: http.Header{}, Body: body, Now: time.Now()})
		if err == nil {
			t.Fatalf("accepted an unsigned body: %+v", res)
		}
		if ReasonOf(err) == "" {
			t.Fatalf("error %v is not a VerifyError", err)
		}
	})
}
