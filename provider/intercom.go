package provider

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// intercom verifies Intercom webhooks: `X-Hub-Signature: sha1=<hex>`, the
// HMAC-SHA1 of the raw body keyed with the app's client secret. No timestamp
// is signed.
type intercom struct{ keys [][]byte }

func newIntercom(cfg Config) (Scheme, error) {
	if err := plainConfig("intercom", cfg); err != nil {
		return nil, err
	}
	return &intercom{keys: stringKeys(cfg.Secrets)}, nil
}

func (s *intercom) Verify(r *Request) (Result, error) {
	v := header(r.Header, "X-Hub-Signature")
	if v == "" {
		return Result{}, missing("X-Hub-Signature")
	}
	hx, ok := strings.CutPrefix(v, "sha1=")
	if !ok {
		return Result{}, Reject(ReasonUnknownVersion, "X-Hub-Signature does not start with sha1=")
	}
	sig, ok := decodeHex(hx)
	if !ok {
		return Result{}, Reject(ReasonMalformedHeader, "X-Hub-Signature is not hex")
	}
	for _, k := range s.keys {
		if equal(mac(sha1.New, k, r.Body), sig) {
			doc, ok := jsonObject(r.Body)
			if !ok {
				return Result{Malformed: true}, nil
			}
			return Result{EventID: jsonString(doc, "id"), EventType: jsonString(doc, "topic")}, nil
		}
	}
	return Result{}, mismatch(len(s.keys))
}

// Sign sets X-Hub-Signature for body.
func (s *intercom) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("intercom: no secret")
	}
	h.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(mac(sha1.New, s.keys[0], body)))
	return nil
}
