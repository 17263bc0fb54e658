package provider

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// gitlab verifies GitLab webhooks, by either of GitLab's two credentials:
//
//   - the secret token, sent as is in `X-Gitlab-Token` and compared here in
//     constant time against every configured secret token;
//   - the signing token (GitLab 18.x, behind the webhook_signing_token
//     feature flag), a `whsec_<base64>` key: GitLab then signs
//     "{webhook-id}.{webhook-timestamp}.{body}" the Standard Webhooks way
//     (`webhook-signature: v1,<base64 HMAC-SHA256>`), webhook-id being the
//     Idempotency-Key.
//
// A configured secret that starts with `whsec_` is a signing token, any
// other a secret token; both kinds may be listed (moving from one to the
// other). When a signing token is configured and the request carries
// webhook-signature, the signature decides (and its timestamp is checked
// against the tolerance); otherwise X-Gitlab-Token does. The event ID is
// the `Idempotency-Key` header (stable across retries), else
// `X-Gitlab-Event-UUID`; the type is `X-Gitlab-Event` ("Push Hook").
type gitlab struct {
	tokens []string
	signed *standardScheme // nil without a signing token
}

func newGitLab(cfg Config) (Scheme, error) {
	if err := plainConfig("gitlab", cfg); err != nil {
		return nil, err
	}
	s := &gitlab{}
	var signing []string
	for _, sec := range cfg.Secrets {
		if strings.HasPrefix(sec, "whsec_") {
			signing = append(signing, sec)
		} else {
			s.tokens = append(s.tokens, sec)
		}
	}
	if len(signing) > 0 {
		sch, err := newStandard("gitlab", swUnbranded, Config{Secrets: signing, Tolerance: cfg.Tolerance})
		if err != nil {
			return nil, fmt.Errorf("%w (a gitlab secret starting with whsec_ is a signing token)", err)
		}
		s.signed = sch.(*standardScheme)
	}
	return s, nil
}

func (s *gitlab) Verify(r *Request) (Result, error) {
	if s.signed != nil && header(r.Header, "webhook-signature") != "" {
		if _, err := s.signed.Verify(r); err != nil {
			return Result{}, err
		}
		return gitlabResult(r), nil
	}
	if len(s.tokens) == 0 {
		return Result{}, missing("webhook-signature")
	}
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
		return Result{}, Reject(ReasonBadSignature, "X-Gitlab-Token matches none of the %d configured secret token(s)", len(s.tokens))
	}
	return gitlabResult(r), nil
}

func gitlabResult(r *Request) Result {
	res := Result{EventID: header(r.Header, "Idempotency-Key"), EventType: header(r.Header, "X-Gitlab-Event")}
	if res.EventID == "" {
		res.EventID = header(r.Header, "X-Gitlab-Event-UUID")
	}
	if _, ok := jsonObject(r.Body); !ok {
		res.Malformed = true
	}
	return res
}

// Sign sets X-Gitlab-Token to the first secret token, and signs the request
// with the first signing token when one is configured.
func (s *gitlab) Sign(h http.Header, url string, body []byte, now time.Time) error {
	if len(s.tokens) == 0 && s.signed == nil {
		return fmt.Errorf("gitlab: no secret")
	}
	if len(s.tokens) > 0 {
		h.Set("X-Gitlab-Token", s.tokens[0])
	}
	if s.signed != nil {
		if h.Get("Idempotency-Key") != "" && h.Get("webhook-id") == "" {
			h.Set("webhook-id", h.Get("Idempotency-Key"))
		}
		if err := s.signed.Sign(h, url, body, now); err != nil {
			return err
		}
		if h.Get("Idempotency-Key") == "" {
			h.Set("Idempotency-Key", h.Get("webhook-id"))
		}
	}
	return nil
}
