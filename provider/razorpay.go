package provider

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"time"
)

// razorpay verifies Razorpay webhooks: `X-Razorpay-Signature` is the hex
// HMAC-SHA256 of the raw body keyed with the webhook secret. No timestamp
// is signed. The event ID is the `X-Razorpay-Event-Id` header (the same
// across retries), the type the body's event ("payment.captured").
type razorpay struct{ keys [][]byte }

var razorpayMAC = bodyMAC{header: "X-Razorpay-Signature", hash: sha256.New}

func newRazorpay(cfg Config) (Scheme, error) {
	if err := plainConfig("razorpay", cfg); err != nil {
		return nil, err
	}
	return &razorpay{keys: stringKeys(cfg.Secrets)}, nil
}

func (s *razorpay) Verify(r *Request) (Result, error) {
	if err := razorpayMAC.verify(r, s.keys); err != nil {
		return Result{}, err
	}
	res := Result{EventID: header(r.Header, "X-Razorpay-Event-Id")}
	doc, ok := jsonObject(r.Body)
	if !ok {
		res.Malformed = true
		return res, nil
	}
	res.EventType = jsonString(doc, "event")
	return res, nil
}

// Sign sets X-Razorpay-Signature.
func (s *razorpay) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("razorpay: no secret")
	}
	h.Set(razorpayMAC.header, razorpayMAC.sign(s.keys[0], body))
	return nil
}
