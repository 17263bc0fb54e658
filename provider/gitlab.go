package provider

import (
	"fmt"
	"net/http"
	"time"
)

// gitlab verifies GitLab webhooks. GitLab does not sign the body: it sends
// the webhook's secret token as is in `X-Gitlab-Token`, compared here in
// constant time against every configured secret. The event ID is the
// `Idempotency-Key` header (stable across retries), else
// `X-Gitlab-Event-UUID`; the type is `X-Gitlab-Event` ("Push Hook").
type gitlab struct{ tokens []string }

func newGitLab(cfg Config) (Scheme, error) {
	if err := plainConfig("gitlab", cfg); err != nil {
		return nil, err
	}
	return &gitlab{tokens: cfg.Secrets}, nil
}

func (s *gitlab) Verify(r *Request) (Result, error) {
	tok := r.Header.Get("X-Gitlab-Token")
	if tok == "" {
		return Result{}, missing("X-Gitlab-Token")
	}
	ok := false
	for _, t := range s.tokens {
		if equalString(tok, t) {
			ok = true
		}
	}
	if !ok {
		return Result{}, Reject(ReasonBadSignature, "X-Gitlab-Token matches none of the %d configured token(s)", len(s.tokens))
	}
	res := Result{EventID: header(r.Header, "Idempotency-Key"), EventType: header(r.Header, "X-Gitlab-Event")}
	if res.EventID == "" {
		res.EventID = header(r.Header, "X-Gitlab-Event-UUID")
	}
	if _, ok := jsonObject(r.Body); !ok {
		res.Malformed = true
	}
	return res, nil
}

// Sign sets X-Gitlab-Token to the first secret.
func (s *gitlab) Sign(h http.Header, _ string, _ []byte, _ time.Time) error {
	if len(s.tokens) == 0 {
		return fmt.Errorf("gitlab: no secret")
	}
	h.Set("X-Gitlab-Token", s.tokens[0])
	return nil
}
