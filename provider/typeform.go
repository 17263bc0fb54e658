package provider

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// typeform verifies Typeform webhooks: `Typeform-Signature: sha256=<base64>`,
// the HMAC-SHA256 of the raw body keyed with the webhook's secret. Typeform
// signs no timestamp, so there is no tolerance to check.
type typeform struct{ keys [][]byte }

func newTypeform(cfg Config) (Scheme, error) {
	if err := plainConfig("typeform", cfg); err != nil {
		return nil, err
	}
	return &typeform{keys: stringKeys(cfg.Secrets)}, nil
}

func (s *typeform) Verify(r *Request) (Result, error) {
	v := header(r.Header, "Typeform-Signature")
	if v == "" {
		return Result{}, missing("Typeform-Signature")
	}
	b64, ok := strings.CutPrefix(v, "sha256=")
	if !ok {
		return Result{}, Reject(ReasonUnknownVersion, "Typeform-Signature does not start with sha256=")
	}
	sig, ok := decodeBase64(b64)
	if !ok {
		return Result{}, Reject(ReasonMalformedHeader, "Typeform-Signature is not base64")
	}
	for _, k := range s.keys {
		if equal(mac(sha256.New, k, r.Body), sig) {
			return typeformResult(r.Body), nil
		}
	}
	return Result{}, mismatch(len(s.keys))
}

func typeformResult(body []byte) Result {
	doc, ok := jsonObject(body)
	if !ok {
		return Result{Malformed: true}
	}
	return Result{EventID: jsonString(doc, "event_id"), EventType: jsonString(doc, "event_type")}
}

// Sign sets Typeform-Signature for body.
func (s *typeform) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("typeform: no secret")
	}
	h.Set("Typeform-Signature", "sha256="+base64.StdEncoding.EncodeToString(mac(sha256.New, s.keys[0], body)))
	return nil
}
