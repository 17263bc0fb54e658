package provider

import (
	"crypto/sha1"
	"fmt"
	"net/http"
	"time"
)

// trello verifies Trello webhooks: `X-Trello-Webhook` is the base64
// HMAC-SHA1 of the raw body followed by the callback URL (exactly as given
// when the webhook was created: set public_url to it), keyed with the
// application's secret. When a webhook is created Trello sends a HEAD
// request and expects 200: it is answered and not stored. The event ID is
// action.id, the type action.type ("updateCard").
type trello struct {
	keys      [][]byte
	publicURL string
}

var trelloMAC = bodyMAC{header: "X-Trello-Webhook", hash: sha1.New, base64: true}

func newTrello(cfg Config) (Scheme, error) {
	if err := plainConfig("trello", cfg); err != nil {
		return nil, err
	}
	return &trello{keys: stringKeys(cfg.Secrets), publicURL: cfg.PublicURL}, nil
}

func (s *trello) Verify(r *Request) (Result, error) {
	if r.Method == http.MethodHead {
		return Result{Handshake: &Handshake{Status: http.StatusOK}}, nil
	}
	// Trello signs the callback URL as registered, without the query the
	// request may carry: public_url is that URL.
	if err := trelloMAC.verify(r, s.keys, []byte(s.publicURL)); err != nil {
		if ReasonOf(err) == ReasonBadSignature {
			return Result{}, Reject(ReasonBadSignature, "X-Trello-Webhook matches none of the %d configured secret(s) for callback URL %s (is public_url exactly the callbackURL given to Trello?)", len(s.keys), truncate(s.publicURL, 120))
		}
		return Result{}, err
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		return Result{Malformed: true}, nil
	}
	return Result{EventID: jsonString(doc, "action.id"), EventType: jsonString(doc, "action.type")}, nil
}

// Sign sets X-Trello-Webhook for body sent to the callback URL.
func (s *trello) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("trello: no secret")
	}
	h.Set(trelloMAC.header, trelloMAC.sign(s.keys[0], body, []byte(s.publicURL)))
	return nil
}
