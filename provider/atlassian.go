package provider

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"time"
)

// hubSHA256 is `X-Hub-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw
// body keyed with the webhook's secret, as Bitbucket Cloud and Jira (WebSub
// method=signature) send it. Neither signs a timestamp.
var hubSHA256 = bodyMAC{header: "X-Hub-Signature", prefix: "sha256=", hash: sha256.New}

// bitbucket verifies Bitbucket Cloud webhooks (X-Hub-Signature sha256=).
// The event ID is `X-Request-UUID`, the type `X-Event-Key` ("repo:push").
type bitbucket struct{ keys [][]byte }

func newBitbucket(cfg Config) (Scheme, error) {
	if err := plainConfig("bitbucket", cfg); err != nil {
		return nil, err
	}
	return &bitbucket{keys: stringKeys(cfg.Secrets)}, nil
}

func (s *bitbucket) Verify(r *Request) (Result, error) {
	if err := hubSHA256.verify(r, s.keys); err != nil {
		return Result{}, err
	}
	res := Result{EventID: header(r.Header, "X-Request-UUID"), EventType: header(r.Header, "X-Event-Key")}
	_, ok := jsonObject(r.Body)
	res.Malformed = !ok
	return res, nil
}

// Sign sets X-Hub-Signature (and X-Request-UUID when none is set).
func (s *bitbucket) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("bitbucket: no secret")
	}
	if h.Get("X-Request-UUID") == "" {
		h.Set("X-Request-UUID", randomUUID())
	}
	h.Set(hubSHA256.header, hubSHA256.sign(s.keys[0], body))
	return nil
}

// jira verifies Jira Cloud admin webhooks registered with a secret
// (X-Hub-Signature sha256=). The event ID is
// `X-Atlassian-Webhook-Identifier` (the same across retries), the type the
// body's webhookEvent ("jira:issue_created").
type jira struct{ keys [][]byte }

func newJira(cfg Config) (Scheme, error) {
	if err := plainConfig("jira", cfg); err != nil {
		return nil, err
	}
	return &jira{keys: stringKeys(cfg.Secrets)}, nil
}

func (s *jira) Verify(r *Request) (Result, error) {
	if err := hubSHA256.verify(r, s.keys); err != nil {
		return Result{}, err
	}
	res := Result{EventID: header(r.Header, "X-Atlassian-Webhook-Identifier")}
	doc, ok := jsonObject(r.Body)
	if !ok {
		res.Malformed = true
		return res, nil
	}
	res.EventType = jsonString(doc, "webhookEvent")
	return res, nil
}

// Sign sets X-Hub-Signature (and X-Atlassian-Webhook-Identifier when none
// is set).
func (s *jira) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("jira: no secret")
	}
	if h.Get("X-Atlassian-Webhook-Identifier") == "" {
		h.Set("X-Atlassian-Webhook-Identifier", randomUUID())
	}
	h.Set(hubSHA256.header, hubSHA256.sign(s.keys[0], body))
	return nil
}
