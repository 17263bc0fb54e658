package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	slackSigHeader = "X-Slack-Signature"
	slackTSHeader  = "X-Slack-Request-Timestamp"
)

// slackScheme verifies `X-Slack-Signature: v0=<hex>`, an HMAC-SHA256 keyed
// with the app's signing secret over "v0:{X-Slack-Request-Timestamp}:{body}".
// It covers the Events API (JSON bodies) as well as slash commands and
// interactivity (form-encoded bodies, the latter with a JSON `payload`).
type slackScheme struct {
	keys      [][]byte
	tolerance time.Duration
}

func newSlack(cfg Config) (Scheme, error) {
	if err := requireSecrets("slack", cfg.Secrets); err != nil {
		return nil, err
	}
	if err := noOptions("slack", cfg.Options); err != nil {
		return nil, err
	}
	return &slackScheme{keys: stringKeys(cfg.Secrets), tolerance: cfg.Tolerance}, nil
}

// parseSlackSignature parses "v0=<64 hex digits>". Another version prefix is
// reported as unknown_version, so a future v1 is recognisable in the logs.
func parseSlackSignature(header string) ([]byte, error) {
	version, digest, ok := strings.Cut(strings.TrimSpace(header), "=")
	if !ok {
		return nil, Reject(ReasonMalformedHeader, "%s is not version=signature", slackSigHeader)
	}
	if version != "v0" {
		return nil, Reject(ReasonUnknownVersion, "%s version %q is not v0", slackSigHeader, truncate(version, 8))
	}
	b, err := hex.DecodeString(digest)
	if err != nil || len(b) != sha256.Size {
		return nil, Reject(ReasonMalformedHeader, "%s is not 64 hex digits after v0=", slackSigHeader)
	}
	return b, nil
}

// Verify implements Scheme.
func (s *slackScheme) Verify(r *Request) (Result, error) {
	header := r.Header.Get(slackSigHeader)
	if strings.TrimSpace(header) == "" {
		return Result{}, Reject(ReasonMissingSignature, "no %s header", slackSigHeader)
	}
	sig, err := parseSlackSignature(header)
	if err != nil {
		return Result{}, err
	}
	rawTS := strings.TrimSpace(r.Header.Get(slackTSHeader))
	if rawTS == "" {
		return Result{}, Reject(ReasonMalformedHeader, "%s is set but %s is missing", slackSigHeader, slackTSHeader)
	}
	ts, err := parseUnix(rawTS)
	if err != nil {
		return Result{}, err
	}
	// The timestamp is signed as sent, not re-formatted.
	if !matchAny(macs(sha256.New, s.keys, []byte("v0:"+rawTS+":"), r.Body), [][]byte{sig}) {
		return Result{}, Reject(ReasonBadSignature, "%s matches no configured secret", slackSigHeader)
	}
	if err := checkTimestamp(ts, r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	return slackResult(r.Body), nil
}

// slackResult extracts the event ID and type from a verified body, and
// answers Events API url_verification with its challenge.
func slackResult(body []byte) Result {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var ev struct {
			Type      string `json:"type"`
			EventID   string `json:"event_id"`
			Challenge string `json:"challenge"`
			Event     struct {
				Type string `json:"type"`
			} `json:"event"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			return Result{Malformed: true}
		}
		if ev.Type == "url_verification" {
			// Slack accepts the challenge as text/plain, form or JSON.
			return Result{EventType: ev.Type, Handshake: &Handshake{
				Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte(ev.Challenge),
			}}
		}
		typ := ev.Event.Type
		if typ == "" {
			typ = ev.Type
		}
		return Result{EventID: ev.EventID, EventType: typ}
	}
	// Slash commands and interactivity are form-encoded and carry no event
	// ID: they are never deduplicated.
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Result{Malformed: true}
	}
	if p, ok := form["payload"]; ok {
		var pl struct {
			Type string `json:"type"`
		}
		if len(p) == 0 || json.Unmarshal([]byte(p[0]), &pl) != nil {
			return Result{Malformed: true}
		}
		return Result{EventType: pl.Type}
	}
	if cmd := form.Get("command"); cmd != "" {
		return Result{EventType: cmd}
	}
	return Result{Malformed: true}
}

// Sign implements Signer.
func (s *slackScheme) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set(slackTSHeader, ts)
	h.Set(slackSigHeader, "v0="+hex.EncodeToString(mac(sha256.New, s.keys[0], []byte("v0:"+ts+":"), body)))
	return nil
}
