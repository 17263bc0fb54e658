package provider

import (
	"net/http"
)

// msgraph verifies Microsoft Graph change notifications. Graph signs
// nothing: each notification in the body's value[] carries the clientState
// given when the subscription was created, which must equal a configured
// secret (every notification of the request must match). When a
// subscription is created or renewed, Graph POSTs with
// `?validationToken=<token>` and expects the token back as text/plain
// within 10 seconds: it is answered and not stored. Notifications have no
// ID; the type is the common changeType ("created") or lifecycleEvent
// ("reauthorizationRequired") of value[], or "batch".
type msgraph struct{ states []string }

func newMSGraph(cfg Config) (Scheme, error) {
	if err := plainConfig("msgraph", cfg); err != nil {
		return nil, err
	}
	return &msgraph{states: cfg.Secrets}, nil
}

func (s *msgraph) Verify(r *Request) (Result, error) {
	if tok := queryParam(r.URL, "validationToken"); tok != "" {
		if len(tok) > maxChallenge {
			return Result{}, Reject(ReasonMalformedHeader, "validationToken is longer than %d bytes", maxChallenge)
		}
		return Result{Handshake: &Handshake{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte(tok)}}, nil
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		return Result{}, Reject(ReasonMissingSignature, "body is not a JSON notification collection, so it carries no clientState")
	}
	items, _ := doc["value"].([]any)
	if len(items) == 0 {
		return Result{}, Reject(ReasonMissingSignature, "body has no value[] notifications, so no clientState")
	}
	var types []string
	for i, it := range items {
		m, _ := it.(map[string]any)
		cs := jsonString(m, "clientState")
		if cs == "" {
			return Result{}, Reject(ReasonMissingSignature, "notification %d has no clientState (set clientState when creating the subscription)", i+1)
		}
		matched := false
		for _, st := range s.states {
			if equalString(cs, st) {
				matched = true
			}
		}
		if !matched {
			return Result{}, Reject(ReasonBadSignature, "notification %d: clientState matches none of the %d configured secret(s)", i+1, len(s.states))
		}
		t := jsonString(m, "changeType")
		if t == "" {
			t = jsonString(m, "lifecycleEvent")
		}
		types = append(types, t)
	}
	return Result{EventType: batchType(types)}, nil
}
