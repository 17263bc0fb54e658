package provider

import (
	"net/url"
	"testing"
)

func TestGitHubEvent(t *testing.T) {
	s := mustNew(t, "github", Config{Secrets: []string{"gh"}})
	for _, tc := range []struct {
		name, event, contentType, body string
		malformed                      bool
	}{
		{"ping is a normal event", "ping", "application/json", `{"zen":"Design for failure.","hook_id":42}`, false},
		{"issues", "issues", "application/json", `{"action":"opened","issue":{"number":1}}`, false},
		{"form encoded", "push", "application/x-www-form-urlencoded", url.Values{"payload": {`{"ref":"refs/heads/main"}`}}.Encode(), false},
		{"form encoded, broken payload", "push", "application/x-www-form-urlencoded", "payload=%7B", true},
		{"not json", "push", "application/json", `{"ref":`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := signed(t, s, tc.body, testNow, testNow)
			r.Header.Set("X-GitHub-Event", tc.event)
			r.Header.Set("Content-Type", tc.contentType)
			delivery := r.Header.Get("X-GitHub-Delivery")
			res, err := s.Verify(r)
			if err != nil {
				t.Fatal(err)
			}
			if res.EventType != tc.event || res.EventID != delivery || delivery == "" || res.Malformed != tc.malformed {
				t.Errorf("result = %+v (delivery %q)", res, delivery)
			}
		})
	}

	// Only the legacy SHA-1 header: not accepted.
	r := signed(t, s, `{}`, testNow, testNow)
	r.Header.Set("X-Hub-Signature", "sha1="+r.Header.Get("X-Hub-Signature-256")[7:47])
	r.Header.Del("X-Hub-Signature-256")
	_, err := s.Verify(r)
	wantReason(t, err, ReasonMissingSignature)

	r = signed(t, s, `{}`, testNow, testNow)
	r.Header.Set("X-Hub-Signature-256", "sha1="+r.Header.Get("X-Hub-Signature-256")[7:])
	_, err = s.Verify(r)
	wantReason(t, err, ReasonMalformedHeader)
}

func TestShopifyEvent(t *testing.T) {
	s := mustNew(t, "shopify", Config{Secrets: []string{"shpss_x"}})
	r := signed(t, s, `{"id":1}`, testNow, testNow)
	r.Header.Set("X-Shopify-Topic", "orders/create")
	r.Header.Set("X-Shopify-Test", "true")
	res, err := s.Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	if res.EventID != r.Header.Get("X-Shopify-Event-Id") || res.EventID == "" || res.EventType != "orders/create" || !res.Test {
		t.Errorf("result = %+v", res)
	}
	// Without X-Shopify-Event-Id the webhook ID is the event ID.
	r.Header.Del("X-Shopify-Event-Id")
	if res, _ := s.Verify(r); res.EventID != r.Header.Get("X-Shopify-Webhook-Id") {
		t.Errorf("fallback id = %q", res.EventID)
	}
	// XML bodies (legacy format) are not flagged; broken JSON is.
	for body, ct := range map[string]string{"<order/>": "application/xml", "<order/> ": "application/json"} {
		r := signed(t, s, body, testNow, testNow)
		r.Header.Set("Content-Type", ct)
		res, err := s.Verify(r)
		if err != nil {
			t.Fatal(err)
		}
		if res.Malformed != (ct != "application/xml") {
			t.Errorf("%s body: Malformed = %v", ct, res.Malformed)
		}
	}
}
