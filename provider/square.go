package provider

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"
)

// square verifies Square webhooks: `x-square-hmacsha256-signature` is the
// base64 HMAC-SHA256 of the notification URL (exactly as registered in the
// Square subscription) followed by the raw body, keyed with the
// subscription's signature key. Square signs no timestamp. Square also
// sends the legacy `x-square-signature`, the base64 HMAC-SHA1 of the same
// content; it is verified only when the SHA-256 header is absent (older
// subscriptions and relays that drop it), never in preference to it.
type square struct {
	keys      [][]byte
	publicURL string
}

func newSquare(cfg Config) (Scheme, error) {
	if err := plainConfig("square", cfg); err != nil {
		return nil, err
	}
	return &square{keys: stringKeys(cfg.Secrets), publicURL: cfg.PublicURL}, nil
}

func (s *square) Verify(r *Request) (Result, error) {
	name, h := "x-square-hmacsha256-signature", sha256.New
	v := header(r.Header, name)
	if v == "" {
		if v = header(r.Header, "X-Square-Signature"); v == "" {
			return Result{}, missing("x-square-hmacsha256-signature (or the legacy x-square-signature)")
		}
		name, h = "x-square-signature", sha1.New
	}
	sig, ok := decodeBase64(v)
	if !ok {
		return Result{}, Reject(ReasonMalformedHeader, "%s is not base64", name)
	}
	url := r.URL
	if url == "" {
		url = s.publicURL
	}
	for _, k := range s.keys {
		if equal(mac(h, k, []byte(url), r.Body), sig) {
			doc, ok := jsonObject(r.Body)
			if !ok {
				return Result{Malformed: true}, nil
			}
			return Result{EventID: jsonString(doc, "event_id"), EventType: jsonString(doc, "type")}, nil
		}
	}
	return Result{}, Reject(ReasonBadSignature, "%s matches none of the %d configured key(s) for URL %s (is public_url exactly the notification URL registered in Square?)", name, len(s.keys), truncate(url, 120))
}

// Sign sets x-square-hmacsha256-signature for body sent to url.
func (s *square) Sign(h http.Header, url string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("square: no secret")
	}
	if url == "" {
		url = s.publicURL
	}
	h.Set("X-Square-Hmacsha256-Signature", base64.StdEncoding.EncodeToString(mac(sha256.New, s.keys[0], []byte(url), body)))
	return nil
}
