package provider

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

const (
	shopifySigHeader     = "X-Shopify-Hmac-Sha256"
	shopifyEventIDHeader = "X-Shopify-Event-Id"
	shopifyWebhookHeader = "X-Shopify-Webhook-Id"
	shopifyTopicHeader   = "X-Shopify-Topic"
)

// shopifyScheme verifies `X-Shopify-Hmac-Sha256`: a base64 (standard
// alphabet) HMAC-SHA256 of the raw body keyed with the app's client secret
// (or, for webhooks created in the store admin, the secret shown there).
// Shopify signs no timestamp; replays are absorbed by dedupe on the event ID.
type shopifyScheme struct {
	keys [][]byte
}

func newShopify(cfg Config) (Scheme, error) {
	if err := requireSecrets("shopify", cfg.Secrets); err != nil {
		return nil, err
	}
	if err := noOptions("shopify", cfg.Options); err != nil {
		return nil, err
	}
	return &shopifyScheme{keys: stringKeys(cfg.Secrets)}, nil
}

// parseShopifySignature decodes the base64 digest. Surrounding white space is
// tolerated (Ruby's Base64.encode64, used in Shopify's own tests, appends a
// newline); a hex digest decodes as base64 too but to 48 bytes, so the length
// check is what reports "wrong encoding" as malformed.
func parseShopifySignature(header string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil || len(b) != sha256.Size {
		return nil, Reject(ReasonMalformedHeader, "%s is not a base64 SHA-256 digest", shopifySigHeader)
	}
	return b, nil
}

// Verify implements Scheme.
func (s *shopifyScheme) Verify(r *Request) (Result, error) {
	header := r.Header.Get(shopifySigHeader)
	if strings.TrimSpace(header) == "" {
		return Result{}, Reject(ReasonMissingSignature, "no %s header", shopifySigHeader)
	}
	sig, err := parseShopifySignature(header)
	if err != nil {
		return Result{}, err
	}
	if !matchAny(macs(sha256.New, s.keys, r.Body), [][]byte{sig}) {
		return Result{}, Reject(ReasonBadSignature, "%s matches no configured secret", shopifySigHeader)
	}
	id := r.Header.Get(shopifyEventIDHeader)
	if id == "" {
		id = r.Header.Get(shopifyWebhookHeader)
	}
	// Legacy REST subscriptions may be in XML; only JSON is checked.
	malformed := !strings.Contains(strings.ToLower(r.Header.Get("Content-Type")), "xml") && !json.Valid(r.Body)
	return Result{
		EventID:   id,
		EventType: r.Header.Get(shopifyTopicHeader),
		Malformed: malformed,
		// "Send test notification" in the admin sets X-Shopify-Test: true.
		Test: strings.EqualFold(r.Header.Get("X-Shopify-Test"), "true"),
	}, nil
}

// Sign implements Signer. It also sets random X-Shopify-Webhook-Id and
// X-Shopify-Event-Id headers when the caller did not, as Shopify sends both.
func (s *shopifyScheme) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	h.Set(shopifySigHeader, base64.StdEncoding.EncodeToString(mac(sha256.New, s.keys[0], body)))
	for _, k := range []string{shopifyWebhookHeader, shopifyEventIDHeader} {
		if h.Get(k) == "" {
			h.Set(k, randomUUID())
		}
	}
	return nil
}
