package provider

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"time"
)

// coinbase verifies Coinbase Commerce webhooks: `X-CC-Webhook-Signature` is
// the hex HMAC-SHA256 of the raw body keyed with the endpoint's shared
// secret. No timestamp is signed. The event ID is event.id, the type
// event.type ("charge:confirmed").
type coinbase struct{ keys [][]byte }

var coinbaseMAC = bodyMAC{header: "X-CC-Webhook-Signature", hash: sha256.New}

func newCoinbase(cfg Config) (Scheme, error) {
	if err := plainConfig("coinbase", cfg); err != nil {
		return nil, err
	}
	return &coinbase{keys: stringKeys(cfg.Secrets)}, nil
}

func (s *coinbase) Verify(r *Request) (Result, error) {
	if err := coinbaseMAC.verify(r, s.keys); err != nil {
		return Result{}, err
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		return Result{Malformed: true}, nil
	}
	return Result{EventID: jsonString(doc, "event.id"), EventType: jsonString(doc, "event.type")}, nil
}

// Sign sets X-CC-Webhook-Signature.
func (s *coinbase) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("coinbase: no secret")
	}
	h.Set(coinbaseMAC.header, coinbaseMAC.sign(s.keys[0], body))
	return nil
}
