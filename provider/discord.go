package provider

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// discord verifies Discord interaction and webhook-event requests:
// `X-Signature-Ed25519` is the hex Ed25519 signature, by the application's
// public key, of the `X-Signature-Timestamp` value followed by the raw body.
// Secrets are the application's hex public keys ("Public Key" in the
// developer portal); Discord holds the private key, so there is no Signer.
//
// Handshakes, answered after verification: an interaction PING (type 1) gets
// {"type":1}; a webhook-event PING (type 0 with an application_id and no
// event) gets 204 No Content.
type discord struct {
	keys      []ed25519.PublicKey
	tolerance time.Duration
}

func newDiscord(cfg Config) (Scheme, error) {
	if err := plainConfig("discord", cfg); err != nil {
		return nil, err
	}
	s := &discord{tolerance: cfg.Tolerance}
	for i, k := range cfg.Secrets {
		b, err := hex.DecodeString(strings.TrimSpace(k))
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("provider discord: secret %d must be the application's public key, 64 hex characters", i+1)
		}
		s.keys = append(s.keys, ed25519.PublicKey(b))
	}
	return s, nil
}

// discordInteractionTypes names Discord's interaction types.
var discordInteractionTypes = map[string]string{
	"1": "PING",
	"2": "APPLICATION_COMMAND",
	"3": "MESSAGE_COMPONENT",
	"4": "APPLICATION_COMMAND_AUTOCOMPLETE",
	"5": "MODAL_SUBMIT",
}

func (s *discord) Verify(r *Request) (Result, error) {
	v := header(r.Header, "X-Signature-Ed25519")
	if v == "" {
		return Result{}, missing("X-Signature-Ed25519")
	}
	sig, ok := decodeHex(v)
	if !ok || len(sig) != ed25519.SignatureSize {
		return Result{}, Reject(ReasonMalformedHeader, "X-Signature-Ed25519 is not 64 hex-encoded bytes")
	}
	ts := header(r.Header, "X-Signature-Timestamp")
	if ts == "" {
		return Result{}, Reject(ReasonMalformedHeader, "no X-Signature-Timestamp header")
	}
	t, err := parseUnix(ts)
	if err != nil {
		return Result{}, err
	}
	msg := make([]byte, 0, len(ts)+len(r.Body))
	msg = append(append(msg, ts...), r.Body...)
	matched := false
	for _, k := range s.keys {
		if ed25519.Verify(k, msg, sig) {
			matched = true
			break
		}
	}
	if !matched {
		return Result{}, Reject(ReasonBadSignature, "signature matches none of the %d configured public key(s)", len(s.keys))
	}
	if err := checkTimestamp(t, r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		return Result{Malformed: true}, nil
	}
	typ := jsonString(doc, "type")
	if _, isEvent := doc["event"]; isEvent || (doc["application_id"] != nil && doc["version"] != nil && typ == "0") {
		// Webhook events: {version, application_id, type: 0 PING | 1 event, event: {type, timestamp, data}}.
		if typ == "0" {
			return Result{Handshake: &Handshake{Status: http.StatusNoContent}}, nil
		}
		return Result{EventType: jsonString(doc, "event.type")}, nil
	}
	if typ == "1" {
		return Result{Handshake: &Handshake{Status: http.StatusOK, ContentType: "application/json", Body: []byte(`{"type":1}`)}}, nil
	}
	name := discordInteractionTypes[typ]
	if name == "" && typ != "" {
		name = "INTERACTION_" + typ
	}
	return Result{EventID: jsonString(doc, "id"), EventType: name}, nil
}
