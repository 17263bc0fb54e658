package provider

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	githubSigHeader      = "X-Hub-Signature-256"
	githubDeliveryHeader = "X-GitHub-Delivery"
	githubEventHeader    = "X-GitHub-Event"
)

// githubScheme verifies GitHub's `X-Hub-Signature-256: sha256=<hex>`, an
// HMAC-SHA256 of the raw body keyed with the webhook secret. The legacy SHA-1
// `X-Hub-Signature` header is deliberately not accepted. GitHub signs no
// timestamp, so there is no tolerance: replays are absorbed by dedupe on the
// delivery ID.
//
// The event type is the X-GitHub-Event header as sent ("issues", "push",
// "ping"); the body's "action" is not appended, so the type is always one of
// GitHub's documented event names.
type githubScheme struct {
	keys [][]byte
}

func newGitHub(cfg Config) (Scheme, error) {
	if err := requireSecrets("github", cfg.Secrets); err != nil {
		return nil, err
	}
	if err := noOptions("github", cfg.Options); err != nil {
		return nil, err
	}
	return &githubScheme{keys: stringKeys(cfg.Secrets)}, nil
}

// parseGitHubSignature parses "sha256=<64 hex digits>".
func parseGitHubSignature(header string) ([]byte, error) {
	algo, digest, ok := strings.Cut(strings.TrimSpace(header), "=")
	if !ok || !strings.EqualFold(algo, "sha256") {
		return nil, Reject(ReasonMalformedHeader, "%s does not start with sha256=", githubSigHeader)
	}
	b, err := hex.DecodeString(digest)
	if err != nil || len(b) != sha256.Size {
		return nil, Reject(ReasonMalformedHeader, "%s is not 64 hex digits after sha256=", githubSigHeader)
	}
	return b, nil
}

// Verify implements Scheme.
func (s *githubScheme) Verify(r *Request) (Result, error) {
	header := r.Header.Get(githubSigHeader)
	if strings.TrimSpace(header) == "" {
		return Result{}, Reject(ReasonMissingSignature, "no %s header", githubSigHeader)
	}
	sig, err := parseGitHubSignature(header)
	if err != nil {
		return Result{}, err
	}
	if !matchAny(macs(sha256.New, s.keys, r.Body), [][]byte{sig}) {
		return Result{}, Reject(ReasonBadSignature, "%s matches no configured secret", githubSigHeader)
	}
	return Result{
		EventID:   r.Header.Get(githubDeliveryHeader),
		EventType: r.Header.Get(githubEventHeader),
		Malformed: !githubPayloadValid(r.Header.Get("Content-Type"), r.Body),
	}, nil
}

// githubPayloadValid reports whether the body is the JSON GitHub promises: as
// is for application/json, or in the `payload` form field when the webhook
// is configured with application/x-www-form-urlencoded.
func githubPayloadValid(contentType string, body []byte) bool {
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		return err == nil && json.Valid([]byte(form.Get("payload")))
	}
	return json.Valid(body)
}

// Sign implements Signer. It also sets a random X-GitHub-Delivery when the
// caller did not, as GitHub always sends one.
func (s *githubScheme) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	h.Set(githubSigHeader, "sha256="+hex.EncodeToString(mac(sha256.New, s.keys[0], body)))
	if h.Get(githubDeliveryHeader) == "" {
		h.Set(githubDeliveryHeader, randomUUID())
	}
	return nil
}

// randomUUID returns a random (version 4) UUID string.
func randomUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand.Read panics rather than err)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
