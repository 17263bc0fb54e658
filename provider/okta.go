package provider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// okta verifies Okta event hooks. Okta signs nothing: each request carries
// the secret configured on the hook in an authentication header
// (options.header, default Authorization), compared in constant time with
// every configured secret. When the hook is verified, Okta sends a GET with
// `X-Okta-Verification-Challenge` (and the same header) and expects
// {"verification": "<challenge>"}: it is answered and not stored. The event
// ID is the body's eventId; the type is the common eventType of
// data.events[] ("user.session.start"), or "batch".
type okta struct {
	header string
	tokens []string
}

func newOkta(cfg Config) (Scheme, error) {
	if err := requireSecrets("okta", cfg.Secrets); err != nil {
		return nil, err
	}
	if err := checkOptions("okta", cfg.Options, "header"); err != nil {
		return nil, err
	}
	h := cfg.Options["header"]
	if h == "" {
		h = "Authorization"
	}
	return &okta{header: http.CanonicalHeaderKey(h), tokens: cfg.Secrets}, nil
}

func (s *okta) Verify(r *Request) (Result, error) {
	tok := r.Header.Get(s.header)
	if tok == "" {
		return Result{}, missing(s.header)
	}
	ok := false
	for _, t := range s.tokens {
		if equalString(tok, t) {
			ok = true
		}
	}
	if !ok {
		return Result{}, Reject(ReasonBadSignature, "%s matches none of the %d configured secret(s)", s.header, len(s.tokens))
	}
	if r.Method == http.MethodGet {
		c := header(r.Header, "X-Okta-Verification-Challenge")
		if c == "" || len(c) > maxChallenge {
			return Result{}, Reject(ReasonMalformedHeader, "a GET from Okta carries X-Okta-Verification-Challenge (at most %d bytes); this one has none", maxChallenge)
		}
		b, _ := json.Marshal(map[string]string{"verification": c})
		return Result{Handshake: &Handshake{Status: http.StatusOK, ContentType: "application/json", Body: b}}, nil
	}
	doc, okd := jsonObject(r.Body)
	if !okd {
		return Result{Malformed: true}, nil
	}
	res := Result{EventID: jsonString(doc, "eventId")}
	if data, _ := doc["data"].(map[string]any); data != nil {
		evs, _ := data["events"].([]any)
		var types []string
		for _, e := range evs {
			if m, ok := e.(map[string]any); ok {
				types = append(types, jsonString(m, "eventType"))
			}
		}
		res.EventType = batchType(types)
	}
	return res, nil
}

// Sign sets the authentication header to the first secret.
func (s *okta) Sign(h http.Header, _ string, _ []byte, _ time.Time) error {
	if len(s.tokens) == 0 {
		return fmt.Errorf("okta: no secret")
	}
	h.Set(s.header, s.tokens[0])
	return nil
}
