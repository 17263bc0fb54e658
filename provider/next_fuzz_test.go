package provider

import (
	"net/http"
	"testing"
	"time"
)

// Fuzz tests for the header parsers of the providers added with issue 19:
// no input may panic, and every failure is a *VerifyError.

func FuzzBodyMACHeader(f *testing.F) {
	f.Add("sha256=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd")
	f.Add("SHA256=zz")
	f.Add("sha1=00")
	f.Add("=")
	for _, b := range []bodyMAC{hubSHA256, sentryMAC, woocommerceMAC, trelloMAC} {
		f.Add(b.prefix + "AAAA")
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, b := range []bodyMAC{hubSHA256, sentryMAC, woocommerceMAC, trelloMAC} {
			sig, err := b.decode(v)
			if err != nil {
				if ReasonOf(err) == "" {
					t.Fatalf("error %v is not a VerifyError", err)
				}
				continue
			}
			if len(sig) == 0 {
				t.Fatalf("%q decoded to an empty signature", v)
			}
		}
	})
}

// FuzzNextHeaders feeds arbitrary header values to every new scheme's
// Verify: it must not panic, and must reject (nothing here is signed).
func FuzzNextHeaders(f *testing.F) {
	f.Add("2026-12-02T05:00:00Z", "AAAA", "1760000000000", "sha256=00", "/?challenge=x")
	f.Add("", "%%%", "-1", "", "?validationToken=")
	f.Fuzz(func(t *testing.T, ts, sig, ms, hub, query string) {
		h := http.Header{
			"Box-Delivery-Timestamp": {ts}, "Box-Signature-Primary": {sig}, "Box-Signature-Secondary": {hub},
			"X-Docusign-Signature-1": {sig}, "X-Docusign-Signature-100": {hub},
			"X-Webflow-Timestamp": {ms}, "X-Webflow-Signature": {sig},
			"X-Hub-Signature": {hub}, "Sanity-Webhook-Signature": {hub}, "X-Airtable-Content-Mac": {hub}, "X-Trello-Webhook": {sig}, "Authorization": {sig},
		}
		for _, name := range []string{"sentry", "bitbucket", "jira", "dropbox", "box", "docusign", "coinbase", "razorpay", "webflow", "trello", "woocommerce", "okta", "msgraph", "postmark", "sanity", "airtable"} {
			secret := "fuzz-secret-not-in-input"
			if name == "airtable" {
				secret = "ZnV6ei1zZWNyZXQtbm90LWluLWlucHV0"
			}
			if name == "postmark" {
				secret = "fuzz:secret-not-in-input"
			}
			s, err := New(name, Config{Secrets: []string{secret}, PublicURL: nextURL})
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Verify(&Request{Method: "POST", URL: nextURL + query, Header: h, Body: []byte(`{"id":"x"}`), Now: time.Unix(1_760_000_000, 0)})
			if err == nil && res.Handshake == nil {
				t.Fatalf("%s accepted an unsigned request: %+v", name, res)
			}
			if err != nil && ReasonOf(err) == "" {
				t.Fatalf("%s: error %v is not a VerifyError", name, err)
			}
		}
	})
}

func FuzzSanitySignature(f *testing.F) {
	f.Add("t=1760000000000,v1=q1MBkO6r8A0WmKXs3i2bNwG2fMhsZ8jqzQw6Xb1HvVc")
	f.Add("v1=,t=,v1=%%")
	f.Add(",,=,t=1,t=2")
	f.Fuzz(func(t *testing.T, v string) { checkTSHeaderParse(t, v, parseSanitySignature) })
}
