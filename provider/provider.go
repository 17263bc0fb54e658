// Package provider verifies webhook signatures the exact way each provider
// signs them, and extracts the provider's event ID and type from a verified
// request. Every scheme is registered explicitly in registry.go; nothing here
// touches storage or HTTP serving.
//
// It is usable as a library on its own (it imports the standard library
// only). Build a scheme once with New, naming the provider and giving every
// currently valid secret (a request passes when it matches any: rotation):
//
//	scheme, err := provider.New("stripe", provider.Config{Secrets: []string{secret}})
//
// then verify the exact bytes of each request:
//
//	res, err := scheme.Verify(&provider.Request{Method: r.Method, URL: url,
//		Header: r.Header, Body: body, Now: time.Now()})
//
// A rejection is a *VerifyError whose Reason (ReasonOf) is safe to return to
// the caller. On success, Result.Handshake, when set, is the answer the
// provider expects (a challenge, a ping) and the request is not an event;
// otherwise Result.EventID (dedupe on it when not empty) and
// Result.EventType describe the event. Names lists the providers, Lookup
// describes one (Info.NeedsPublicURL, Info.AllowedMethods), and schemes that
// can sign implement Signer (or BodySigner, when the signature is in the
// body). docs/providers.md describes every scheme.
package provider

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Request is what a scheme sees of an incoming webhook. Body holds the exact
// bytes received: schemes never re-serialise before verifying.
type Request struct {
	Method string
	// URL is the URL the provider called, with the query string: the source's
	// public_url (when set) plus the request's raw query. Schemes that sign
	// the URL (Twilio, Square) use it.
	URL    string
	Header http.Header
	Body   []byte
	// Now is the time the request arrived; tolerances are measured from it.
	Now time.Time
}

// Result is what a verified request yields.
type Result struct {
	// EventID is the provider's own ID for the event (used for dedupe). Empty
	// when the provider sends none; such events are never deduplicated.
	EventID string
	// EventType is the provider's event type ("invoice.paid", "push"...), or
	// empty when the scheme does not carry one.
	EventType string
	// Malformed is set when the signature is valid but the body does not parse
	// as the provider's format. The event is still stored: the signature
	// proves the provider sent it.
	Malformed bool
	// Test is set when the provider marks the event as a test (Stripe's
	// livemode false, a provider's "test" webhook...). Failures of test events
	// never notify in production.
	Test bool
	// Handshake, when not nil, is the answer to a provider's verification
	// request (Slack url_verification, Discord PING...). It is sent as is and
	// the request is not stored as an event.
	Handshake *Handshake
}

// Handshake is a response a provider expects before it sends events.
type Handshake struct {
	Status      int
	ContentType string
	Body        []byte
	// Header holds response headers the provider checks (Asana's
	// X-Hook-Secret echo). The receive path also sends
	// X-Content-Type-Options: nosniff, as challenges echo request input.
	Header http.Header
}

// Reason says why a request failed verification, in a word that is safe to
// show to the caller: it never contains a secret or an expected signature.
type Reason string

// Reasons for a failed verification.
const (
	ReasonMissingSignature Reason = "missing_signature" // no signature header at all
	ReasonMalformedHeader  Reason = "malformed_header"  // signature header present but unparseable
	ReasonBadSignature     Reason = "bad_signature"     // no signature matched any secret
	ReasonStaleTimestamp   Reason = "stale_timestamp"   // timestamp older than the tolerance
	ReasonFutureTimestamp  Reason = "future_timestamp"  // timestamp newer than the tolerance
	ReasonUnknownVersion   Reason = "unknown_version"   // only signature versions we do not know
	ReasonReplayed         Reason = "replayed"          // a one-time token seen before (Mailgun)
	// ReasonHandshakeRefused: a handshake that would replace the secret
	// already configured or kept (Asana); answered 409.
	ReasonHandshakeRefused Reason = "handshake_refused"
)

// VerifyError is returned by Scheme.Verify when a request is rejected.
type VerifyError struct {
	Reason Reason
	// Detail is a human explanation for the operator. It names headers and
	// times but never secrets or computed signatures.
	Detail string
}

func (e *VerifyError) Error() string {
	if e.Detail == "" {
		return string(e.Reason)
	}
	return string(e.Reason) + ": " + e.Detail
}

// Reject builds a *VerifyError.
func Reject(reason Reason, format string, args ...any) error {
	return &VerifyError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the Reason of a verification error, or "" when err is not
// a *VerifyError.
func ReasonOf(err error) Reason {
	var ve *VerifyError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return ""
}

// Scheme verifies requests for one configured source.
type Scheme interface {
	// Verify checks the request's signature against every configured secret
	// (rotation) and, when it passes, extracts the event ID and type. It
	// returns a *VerifyError when the request must be rejected.
	Verify(r *Request) (Result, error)
}

// Signer is implemented by schemes that can produce a valid signature with
// their configured secret, the way the provider would. `hookwatch send`, the
// benchmarks and tests use it. Schemes that verify with a public key only
// (Discord, SendGrid) cannot sign and do not implement it.
type Signer interface {
	// Sign sets on h the headers the provider would send for body at time
	// now, signed with the first configured secret. url is the URL the
	// request is sent to (for schemes that sign it).
	Sign(h http.Header, url string, body []byte, now time.Time) error
}

// BodySigner is implemented by schemes whose signatures are inside the
// body (Adyen's, one per notification item), which a Signer cannot set.
type BodySigner interface {
	// SignBody returns body with its signatures set, made with the first
	// configured secret. It fails when body is not in the provider's
	// format.
	SignBody(body []byte) ([]byte, error)
}

// Config is a source's verification settings, as read from the config file.
type Config struct {
	// Secrets are all the currently valid secrets (or public keys); a request
	// passes when it matches any of them.
	Secrets []string
	// Tolerance is how far a signed timestamp may be from now. Zero means the
	// scheme's default (5 minutes for most).
	Tolerance time.Duration
	// PublicURL is the URL the provider calls, for schemes that sign the URL.
	PublicURL string
	// Options holds scheme-specific settings (the generic hmac scheme's
	// header, algorithm and encoding; hubspot's version...).
	Options map[string]string
	// Keeper keeps the secret a provider hands over in its handshake, for
	// providers whose Info.HandshakeSecret is set and a source configured
	// with no secret (Asana). Nil otherwise.
	Keeper SecretKeeper
}

// DefaultTolerance is the timestamp tolerance used when none is configured.
const DefaultTolerance = 5 * time.Minute

// Factory builds a Scheme from a source's config. It returns an error naming
// the setting to fix when the config cannot work (no secret, a secret in the
// wrong form, an unknown option).
type Factory func(Config) (Scheme, error)

// Info describes a registered provider.
type Info struct {
	Name string
	// Summary is one line for `--help` and docs.
	Summary string
	// NeedsPublicURL is set for schemes that sign the URL.
	NeedsPublicURL bool
	// Subject is the default sources[].subject: the JSON path of the data
	// subject (the customer) in the provider's events, where one path fits
	// nearly every event type. Empty: none is obvious.
	Subject string
	// Methods are the HTTP methods the provider calls the endpoint with,
	// beside POST: GET for HubSpot's signed GET requests and for the
	// verification challenges of Dropbox and Okta, HEAD for Trello's. Nil:
	// POST only. The receive path answers any other method with 405.
	Methods []string
	// HandshakeSecret is set when the secret may be left out of the
	// config: the provider hands it over in its first request and
	// Config.Keeper keeps it (Asana's X-Hook-Secret).
	HandshakeSecret bool
	// Ack, when set, is the body of the answer to a stored (or duplicate)
	// event, sent as text/plain with status 200 instead of Hookwatch's
	// JSON {"id":...}: what the provider's older integrations check for
	// (Adyen's "[accepted]"). Empty but not nil: an empty body (Airtable
	// asks for one). Nil: the JSON answer.
	Ack []byte
	New Factory
}

// AllowedMethods returns the HTTP methods a source of this provider
// accepts: POST, then the provider's Methods.
func (i Info) AllowedMethods() []string {
	out := []string{http.MethodPost}
	for _, m := range i.Methods {
		if m != http.MethodPost {
			out = append(out, m)
		}
	}
	return out
}

// New builds the scheme named name (a lowercase provider word from the config).
func New(name string, cfg Config) (Scheme, error) {
	info, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown provider %q (known: %v)", name, Names())
	}
	if len(cfg.Secrets) == 0 && !info.HandshakeSecret {
		return nil, fmt.Errorf("provider %s: at least one secret is required", name)
	}
	for i, s := range cfg.Secrets {
		if s == "" {
			return nil, fmt.Errorf("provider %s: secret %d is empty (is its environment variable set?)", name, i+1)
		}
	}
	if info.NeedsPublicURL && cfg.PublicURL == "" {
		return nil, fmt.Errorf("provider %s signs the URL: set public_url to the URL the provider calls", name)
	}
	return info.New(cfg)
}

// Lookup returns the registered provider called name.
func Lookup(name string) (Info, bool) {
	info, ok := registry[name]
	return info, ok
}

// Names lists the registered provider names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
