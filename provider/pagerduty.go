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
// rotated). No timestamp is signed. PagerDuty's v1 and v2 webhooks (the
// "generic webhooks" before v3) carried no signature at all and have
// reached end of life, so there is no older version to verify: such a
// request, having no X-PagerDuty-Signature, is rejected as missing_signature.
type pagerduty struct{ keys [][]byte }

func newPagerDuty(cfg Config) (Scheme, error) {
	if err := plainConfig("pagerduty", cfg); err != nil {
		return nil, err
	}
	return &pagerduty{keys: stringKeys(cfg.Secrets)}, nil
}

// parsePagerDutySignature returns the decoded v1 signatures of the header,
// by the rule of every multi-signature header: entries that cannot be one
// (no '=') and v1 values that are not hex are skipped, other versions are
// ignored, and the header is rejected only when no usable v1 signature is
// left. known reports whether any v1 entry was present.
func parsePagerDutySignature(v string) (sigs [][]byte, known bool, err error) {
	for _, part := range strings.Split(v, ",") {
		ver, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || ver != "v1" {
			continue
		}
		known = true
		if b, ok := decodeHex(val); ok {
			sigs = append(sigs, b)
		}
	}
	if known && len(sigs) == 0 {
		return nil, true, Reject(ReasonMalformedHeader, "X-PagerDuty-Signature has no v1 signature in hex")
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
