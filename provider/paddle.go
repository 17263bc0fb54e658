package provider

import (
	"fmt"
	"net/http"
	"time"
)

// paddle verifies Paddle Billing webhooks: `Paddle-Signature:
// ts=<unix>;h1=<hex>[;h1=<hex>...]`, each h1 the HMAC-SHA256 of
// "<ts>:<raw body>" keyed with the notification destination's secret key
// (pdl_ntfset_..., used as a plain string). Several h1 appear while a secret
// is rotated.
type paddle struct {
	keys      [][]byte
	tolerance time.Duration
}

func newPaddle(cfg Config) (Scheme, error) {
	if err := plainConfig("paddle", cfg); err != nil {
		return nil, err
	}
	return &paddle{keys: stringKeys(cfg.Secrets), tolerance: cfg.Tolerance}, nil
}

// parsePaddleSignature splits a Paddle-Signature header into its timestamp
// and h1 signatures.
func parsePaddleSignature(v string) (ts string, sigs [][]byte, err error) {
	return paddleHeader.parse(v)
}

func (s *paddle) Verify(r *Request) (Result, error) {
	if err := paddleHeader.verify(r, s.keys, s.tolerance); err != nil {
		return Result{}, err
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		return Result{Malformed: true}, nil
	}
	return Result{EventID: jsonString(doc, "event_id"), EventType: jsonString(doc, "event_type")}, nil
}

// Sign sets Paddle-Signature for body at now.
func (s *paddle) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("paddle: no secret")
	}
	h.Set(paddleHeader.name, paddleHeader.sign(s.keys[0], body, now))
	return nil
}
