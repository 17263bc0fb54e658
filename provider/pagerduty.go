package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// pagerduty verifies PagerDuty v3 webhooks: `X-PagerDuty-Signature` holds
// one or more comma-separated `v1=<hex>` entries, each the HMAC-SHA256 of the
// raw body keyed with a subscription's secret (several while a secret is
// rotated). No timestamp is signed.
type pagerduty struct{ keys [][]byte }

func newPagerDuty(cfg Config) (Scheme, error) {
	if err := plainConfig("pagerduty", cfg); err != nil {
		return nil, err
	}
	return &pagerduty{keys: stringKeys(cfg.Secrets)}, nil
}

// parsePagerDutySignature returns the decoded v1 signatures of the header.
// Entries of other versions are skipped; known reports whether any entry was
// a v1 one.
func parsePagerDutySignature(v string) (sigs [][]byte, known bool, err error) {
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ver, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, false, Reject(ReasonMalformedHeader, "X-PagerDuty-Signature entry %q has no '='", truncate(part, 16))
		}
		if ver != "v1" {
			continue
		}
		known = true
		b, ok := decodeHex(val)
		if !ok {
			return nil, true, Reject(ReasonMalformedHeader, "X-PagerDuty-Signature v1 value is not hex")
		}
		sigs = append(sigs, b)
	}
	return sigs, known, nil
}

func (s *pagerduty) Verify(r *Request) (Result, error) {
	v := header(r.Header, "X-PagerDuty-Signature")
	if v == "" {
		return Result{}, missing("X-PagerDuty-Signature")
	}
	sigs, known, err := parsePagerDutySignature(v)
	if err != nil {
		return Result{}, err
	}
	if !known {
		return Result{}, Reject(ReasonUnknownVersion, "X-PagerDuty-Signature has no v1 signature")
	}
	for _, k := range s.keys {
		if matchAny([][]byte{mac(sha256.New, k, r.Body)}, sigs) {
			doc, ok := jsonObject(r.Body)
			if !ok {
				return Result{Malformed: true}, nil
			}
			return Result{EventID: jsonString(doc, "event.id"), EventType: jsonString(doc, "event.event_type")}, nil
		}
	}
	return Result{}, mismatch(len(s.keys))
}

// Sign sets X-PagerDuty-Signature with a v1 signature by the first secret.
func (s *pagerduty) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("pagerduty: no secret")
	}
	h.Set("X-PagerDuty-Signature", "v1="+hex.EncodeToString(mac(sha256.New, s.keys[0], body)))
	return nil
}
