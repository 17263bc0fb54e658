package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// lemonsqueezy verifies Lemon Squeezy webhooks: `X-Signature` is the hex
// HMAC-SHA256 of the raw body keyed with the webhook's signing secret. No
// timestamp is signed. Lemon Squeezy sends no event ID (meta.webhook_id
// names the webhook, not the event), so these events are not deduplicated.
type lemonsqueezy struct{ keys [][]byte }

func newLemonSqueezy(cfg Config) (Scheme, error) {
	if err := plainConfig("lemonsqueezy", cfg); err != nil {
		return nil, err
	}
	return &lemonsqueezy{keys: stringKeys(cfg.Secrets)}, nil
}

func (s *lemonsqueezy) Verify(r *Request) (Result, error) {
	sig, err := hexHeader(r.Header, "X-Signature", "X-Signature")
	if err != nil {
		return Result{}, err
	}
	for _, k := range s.keys {
		if equal(mac(sha256.New, k, r.Body), sig) {
			res := Result{EventType: header(r.Header, "X-Event-Name")}
			doc, ok := jsonObject(r.Body)
			if !ok {
				res.Malformed = true
				return res, nil
			}
			if t := jsonString(doc, "meta.event_name"); t != "" {
				res.EventType = t
			}
			return res, nil
		}
	}
	return Result{}, mismatch(len(s.keys))
}

// Sign sets X-Signature (and X-Event-Name when the body names the event).
func (s *lemonsqueezy) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("lemonsqueezy: no secret")
	}
	h.Set("X-Signature", hex.EncodeToString(mac(sha256.New, s.keys[0], body)))
	if doc, ok := jsonObject(body); ok {
		if t := jsonString(doc, "meta.event_name"); t != "" {
			h.Set("X-Event-Name", t)
		}
	}
	return nil
}
