package provider

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkVerifyContentfulAdyen measures one verification of each
// scheme's vector, beside Stripe's (the scheme the ingest figures in
// docs/PERFORMANCE.md use), so the cost of Contentful's canonical request
// and of Adyen's per-item JSON decode can be compared.
func BenchmarkVerifyContentfulAdyen(b *testing.B) {
	dir := filepath.Join("..", "testdata", "providers")
	read := func(p string) []byte {
		raw, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			b.Fatal(err)
		}
		return raw
	}
	cf := read("contentful/entry_publish.json")
	ad := read("adyen/php_authorisation.json")
	stripeBody := []byte(`{"id":"evt_bench","object":"event","type":"invoice.paid","livemode":true,"data":{"object":{"customer":"cus_1"}}}`)
	now := time.Now()
	stripeS, _ := New("stripe", Config{Secrets: []string{"whsec_bench"}})
	sh := http.Header{}
	stripeS.(Signer).Sign(sh, "", stripeBody, now)
	cfHeader := http.Header{
		"X-Contentful-Topic":          {"ContentManagement.Entry.publish"},
		"X-Hookwatch-Team":            {" content "},
		"Content-Type":                {"application/vnd.contentful.management.v1+json"},
		"X-Contentful-Signature":      {"cd72f52ce0b16dfe2809cb6054e9e578c3b2226e0a8b372aaf10e4f42cfbecb9"},
		"X-Contentful-Signed-Headers": {"x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic,x-hookwatch-team"},
		"X-Contentful-Timestamp":      {"1764680000123"},
	}
	cfS, _ := New("contentful", Config{Secrets: []string{cfSecret}})
	adS, _ := New("adyen", Config{Secrets: []string{"DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00"}})
	for _, c := range []struct {
		name string
		s    Scheme
		r    Request
	}{
		{"stripe", stripeS, Request{Method: "POST", Header: sh, Body: stripeBody, Now: now}},
		{"contentful", cfS, Request{Method: "POST", URL: "https://hooks.example.com/in/contentful?env=master&x=a%20b", Header: cfHeader, Body: cf, Now: time.UnixMilli(1764680000123)}},
		{"adyen", adS, Request{Method: "POST", Header: http.Header{}, Body: ad, Now: now}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.s.Verify(&c.r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
