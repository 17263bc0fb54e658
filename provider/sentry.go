package provider

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"time"
)

// sentry verifies Sentry integration-platform webhooks:
// `Sentry-Hook-Signature` is the hex HMAC-SHA256 of the raw body keyed with
// the integration's client secret. Sentry-Hook-Timestamp is not signed, so
// it is not checked. The event ID is `Request-ID`; the type is
// `Sentry-Hook-Resource` and the body's action ("issue.created").
type sentry struct{ keys [][]byte }

var sentryMAC = bodyMAC{header: "Sentry-Hook-Signature", hash: sha256.New}

func newSentry(cfg Config) (Scheme, error) {
	if err := plainConfig("sentry", cfg); err != nil {
		return nil, err
	}
	return &sentry{keys: stringKeys(cfg.Secrets)}, nil
}

func (s *sentry) Verify(r *Request) (Result, error) {
	if err := sentryMAC.verify(r, s.keys); err != nil {
		return Result{}, err
	}
	res := Result{EventID: header(r.Header, "Request-ID"), EventType: header(r.Header, "Sentry-Hook-Resource")}
	doc, ok := jsonObject(r.Body)
	if !ok {
		res.Malformed = true
		return res, nil
	}
	if a := jsonString(doc, "action"); a != "" && res.EventType != "" {
		res.EventType += "." + a
	}
	return res, nil
}

// Sign sets Sentry-Hook-Signature (and a Request-ID when none is set).
func (s *sentry) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("sentry: no secret")
	}
	if h.Get("Request-ID") == "" {
		h.Set("Request-ID", randomUUID())
	}
	h.Set("Sentry-Hook-Timestamp", fmt.Sprint(now.Unix()))
	h.Set(sentryMAC.header, sentryMAC.sign(s.keys[0], body))
	return nil
}
