package provider

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// vercel verifies Vercel webhooks: `x-vercel-signature` is the hex HMAC-SHA1
// of the raw body keyed with the webhook secret (account webhooks) or the
// integration's client secret. No timestamp is signed.
type vercel struct{ keys [][]byte }

func newVercel(cfg Config) (Scheme, error) {
	if err := plainConfig("vercel", cfg); err != nil {
		return nil, err
	}
	return &vercel{keys: stringKeys(cfg.Secrets)}, nil
}

func (s *vercel) Verify(r *Request) (Result, error) {
	sig, err := hexHeader(r.Header, "X-Vercel-Signature", "x-vercel-signature")
	if err != nil {
		return Result{}, err
	}
	for _, k := range s.keys {
		if equal(mac(sha1.New, k, r.Body), sig) {
			doc, ok := jsonObject(r.Body)
			if !ok {
				return Result{Malformed: true}, nil
			}
			return Result{EventID: jsonString(doc, "id"), EventType: jsonString(doc, "type")}, nil
		}
	}
	return Result{}, mismatch(len(s.keys))
}

// Sign sets x-vercel-signature for body.
func (s *vercel) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("vercel: no secret")
	}
	h.Set("X-Vercel-Signature", hex.EncodeToString(mac(sha1.New, s.keys[0], body)))
	return nil
}
