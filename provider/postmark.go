package provider

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// postmark verifies Postmark webhooks, which Postmark protects with HTTP
// basic authentication: put the credentials in the webhook URL
// (https://user:password@host/in/source) and configure the secret as
// "user:password". The Authorization header is compared in constant time
// with every configured secret. The type is the body's RecordType
// ("Delivery", "Bounce"...); Postmark sends no event ID (a message has
// several records), so events are not deduplicated.
type postmark struct{ creds []string }

func newPostmark(cfg Config) (Scheme, error) {
	if err := plainConfig("postmark", cfg); err != nil {
		return nil, err
	}
	for i, s := range cfg.Secrets {
		if !strings.Contains(s, ":") {
			return nil, fmt.Errorf("provider postmark: secret %d must be user:password (the basic-auth credentials in the webhook URL)", i+1)
		}
	}
	return &postmark{creds: cfg.Secrets}, nil
}

func (s *postmark) Verify(r *Request) (Result, error) {
	v := header(r.Header, "Authorization")
	if v == "" {
		return Result{}, missing("Authorization (put user:password@ in the webhook URL)")
	}
	scheme, enc, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return Result{}, Reject(ReasonMalformedHeader, "Authorization is not Basic")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return Result{}, Reject(ReasonMalformedHeader, "Authorization Basic credentials are not base64")
	}
	ok := false
	for _, c := range s.creds {
		if equalString(string(raw), c) {
			ok = true
		}
	}
	if !ok {
		return Result{}, Reject(ReasonBadSignature, "basic-auth credentials match none of the %d configured secret(s)", len(s.creds))
	}
	doc, okd := jsonObject(r.Body)
	if !okd {
		return Result{Malformed: true}, nil
	}
	return Result{EventType: jsonString(doc, "RecordType")}, nil
}

// Sign sets Authorization to the first credentials.
func (s *postmark) Sign(h http.Header, _ string, _ []byte, _ time.Time) error {
	if len(s.creds) == 0 {
		return fmt.Errorf("postmark: no secret")
	}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s.creds[0])))
	return nil
}
