package provider

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"regexp"
	"time"
)

// woocommerce verifies WooCommerce webhooks: `X-WC-Webhook-Signature` is
// the base64 HMAC-SHA256 of the raw body keyed with the webhook's secret.
// No timestamp is signed. The type is `X-WC-Webhook-Topic`
// ("order.created"), the event ID `X-WC-Webhook-Delivery-ID`.
//
// When a webhook is saved, WooCommerce sends an unsigned ping whose body is
// `webhook_id=<n>` and refuses to save the webhook unless it is answered
// 2xx: that exact request is answered 200 and not stored.
type woocommerce struct{ keys [][]byte }

var (
	woocommerceMAC  = bodyMAC{header: "X-WC-Webhook-Signature", hash: sha256.New, base64: true}
	woocommercePing = regexp.MustCompile(`^webhook_id=[0-9]{1,20}$`)
)

func newWooCommerce(cfg Config) (Scheme, error) {
	if err := plainConfig("woocommerce", cfg); err != nil {
		return nil, err
	}
	return &woocommerce{keys: stringKeys(cfg.Secrets)}, nil
}

func (s *woocommerce) Verify(r *Request) (Result, error) {
	if header(r.Header, woocommerceMAC.header) == "" && woocommercePing.Match(r.Body) {
		return Result{Handshake: &Handshake{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte("ok\n")}}, nil
	}
	if err := woocommerceMAC.verify(r, s.keys); err != nil {
		return Result{}, err
	}
	res := Result{EventID: header(r.Header, "X-WC-Webhook-Delivery-ID"), EventType: header(r.Header, "X-WC-Webhook-Topic")}
	_, ok := jsonObject(r.Body)
	res.Malformed = !ok
	return res, nil
}

// Sign sets X-WC-Webhook-Signature.
func (s *woocommerce) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("woocommerce: no secret")
	}
	h.Set(woocommerceMAC.header, woocommerceMAC.sign(s.keys[0], body))
	return nil
}
