package provider

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"
)

// zendesk verifies Zendesk webhooks: `X-Zendesk-Webhook-Signature` is the
// base64 HMAC-SHA256 of the `X-Zendesk-Webhook-Signature-Timestamp` value
// (an ISO 8601 time such as 2021-08-24T21:19:39Z) followed directly by the
// raw body, keyed with the webhook's signing secret.
type zendesk struct {
	keys      [][]byte
	tolerance time.Duration
}

func newZendesk(cfg Config) (Scheme, error) {
	if err := plainConfig("zendesk", cfg); err != nil {
		return nil, err
	}
	return &zendesk{keys: stringKeys(cfg.Secrets), tolerance: cfg.Tolerance}, nil
}

func (s *zendesk) Verify(r *Request) (Result, error) {
	v := header(r.Header, "X-Zendesk-Webhook-Signature")
	if v == "" {
		return Result{}, missing("X-Zendesk-Webhook-Signature")
	}
	ts := header(r.Header, "X-Zendesk-Webhook-Signature-Timestamp")
	if ts == "" {
		return Result{}, Reject(ReasonMalformedHeader, "no X-Zendesk-Webhook-Signature-Timestamp header")
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return Result{}, Reject(ReasonMalformedHeader, "X-Zendesk-Webhook-Signature-Timestamp %q is not an ISO 8601 time", truncate(ts, 40))
	}
	sig, ok := decodeBase64(v)
	if !ok {
		return Result{}, Reject(ReasonMalformedHeader, "X-Zendesk-Webhook-Signature is not base64")
	}
	if !macMatches(sha256.New, s.keys, sig, []byte(ts), r.Body) {
		return Result{}, mismatch(len(s.keys))
	}
	if err := checkTimestamp(t, r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	res := Result{EventID: header(r.Header, "X-Zendesk-Webhook-Invocation-Id")}
	if len(r.Body) == 0 {
		// Zendesk webhooks may be GET or DELETE without a body.
		return res, nil
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		res.Malformed = true
		return res, nil
	}
	// Event-subscription webhooks carry the event's own id and type
	// ("zen:event-type:ticket.created"); trigger webhooks carry whatever
	// the operator wrote, so fall back to the invocation ID header.
	if id := jsonString(doc, "id"); id != "" {
		res.EventID = id
	}
	res.EventType = jsonString(doc, "type")
	return res, nil
}

// Sign sets X-Zendesk-Webhook-Signature and its timestamp for body at now.
func (s *zendesk) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("zendesk: no secret")
	}
	ts := now.UTC().Format(time.RFC3339)
	h.Set("X-Zendesk-Webhook-Signature-Timestamp", ts)
	h.Set("X-Zendesk-Webhook-Signature", base64.StdEncoding.EncodeToString(mac(sha256.New, s.keys[0], []byte(ts), body)))
	return nil
}
