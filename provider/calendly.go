package provider

import (
	"fmt"
	"net/http"
	"time"
)

// calendly verifies Calendly webhooks: `Calendly-Webhook-Signature:
// t=<unix>,v1=<hex>`, v1 the HMAC-SHA256 of "<t>.<raw body>" keyed with the
// webhook subscription's signing key. Calendly's own guide rejects
// timestamps older than three minutes; that is the default tolerance here.
// Calendly sends no event ID, so its events are not deduplicated.
type calendly struct {
	keys      [][]byte
	tolerance time.Duration
}

// calendlyTolerance is the tolerance Calendly's verification guide uses.
const calendlyTolerance = 3 * time.Minute

func newCalendly(cfg Config) (Scheme, error) {
	if err := plainConfig("calendly", cfg); err != nil {
		return nil, err
	}
	return &calendly{keys: stringKeys(cfg.Secrets), tolerance: toleranceOr(cfg.Tolerance, calendlyTolerance)}, nil
}

// parseCalendlySignature splits a Calendly-Webhook-Signature header into its
// timestamp and v1 signatures.
func parseCalendlySignature(v string) (ts string, sigs [][]byte, err error) {
	return calendlyHeader.parse(v)
}

func (s *calendly) Verify(r *Request) (Result, error) {
	if err := calendlyHeader.verify(r, s.keys, s.tolerance); err != nil {
		return Result{}, err
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		return Result{Malformed: true}, nil
	}
	return Result{EventType: jsonString(doc, "event")}, nil
}

// Sign sets Calendly-Webhook-Signature for body at now.
func (s *calendly) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("calendly: no secret")
	}
	h.Set(calendlyHeader.name, calendlyHeader.sign(s.keys[0], body, now))
	return nil
}
