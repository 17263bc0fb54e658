package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrUnavailable wraps a SecretKeeper's failure: the request could not be
// verified now, not rejected (the receive path answers 503, and the
// provider retries).
var ErrUnavailable = errors.New("the handshake secret store is unavailable")

// SecretKeeper keeps the secret a provider hands over in its handshake
// (Asana's X-Hook-Secret), for a source configured with no secret. The
// provider package stores nothing itself: Hookwatch gives a keeper backed
// by its store; a library user gives its own.
type SecretKeeper interface {
	// Load returns the kept secret, with ok false when none is kept.
	Load() (secret string, ok bool, err error)
	// Keep stores secret when none is kept, and reports whether it did
	// (false: one was kept already, by a concurrent handshake perhaps).
	Keep(secret string) (kept bool, err error)
}

// asana verifies Asana webhooks. Creating a webhook makes Asana POST a
// handshake carrying `X-Hook-Secret`, which must be echoed in a 200 answer;
// every later event carries `X-Hook-Signature`, the hex HMAC-SHA256 of the
// raw body keyed with that secret.
//
// With secrets configured, a handshake is answered only when its secret is
// one of them (nothing is learned). With none, the first handshake's
// secret is kept (Config.Keeper: trust on first use) and any later
// handshake with another secret is refused (ReasonHandshakeRefused) until
// the kept one is removed (`hookwatch sources reset-handshake`).
//
// Asana events carry no ID. A request's ID is a digest of its body: Asana
// resends the same body when an answer fails, so a retry dedupes. The type
// is the common resource_type.action of events[] ("task.changed"), or
// "batch"; the heartbeat ({"events":[]}) has type "heartbeat" and no ID.
type asana struct {
	keys   [][]byte
	keeper SecretKeeper
}

var asanaMAC = bodyMAC{header: "X-Hook-Signature", hash: sha256.New}

// maxHookSecret bounds the X-Hook-Secret kept or echoed (Asana's are 32
// bytes in hex).
const maxHookSecret = 256

func newAsana(cfg Config) (Scheme, error) {
	if err := noOptions("asana", cfg.Options); err != nil {
		return nil, err
	}
	if len(cfg.Secrets) == 0 && cfg.Keeper == nil {
		return nil, fmt.Errorf("provider asana: no secret is configured and nothing keeps the handshake's: give secrets, or a Keeper")
	}
	return &asana{keys: stringKeys(cfg.Secrets), keeper: cfg.Keeper}, nil
}

func (s *asana) Verify(r *Request) (Result, error) {
	if hs := header(r.Header, "X-Hook-Secret"); hs != "" {
		return s.handshake(hs)
	}
	keys := s.keys
	if len(keys) == 0 {
		sec, ok, err := s.keeper.Load()
		if err != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if !ok {
			if header(r.Header, asanaMAC.header) == "" {
				return Result{}, missing(asanaMAC.header)
			}
			return Result{}, Reject(ReasonBadSignature, "no handshake secret is kept for this source: create the Asana webhook again so that its handshake is received")
		}
		keys = [][]byte{[]byte(sec)}
	}
	if err := asanaMAC.verify(r, keys); err != nil {
		return Result{}, err
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		return Result{Malformed: true}, nil
	}
	evs, ok := doc["events"].([]any)
	if !ok {
		return Result{Malformed: true}, nil
	}
	if len(evs) == 0 {
		return Result{EventType: "heartbeat"}, nil
	}
	types := make([]string, 0, len(evs))
	for _, e := range evs {
		m, _ := e.(map[string]any)
		t := jsonString(m, "resource.resource_type")
		if a := jsonString(m, "action"); a != "" {
			t += "." + a
		}
		types = append(types, t)
	}
	sum := sha256.Sum256(r.Body)
	return Result{EventID: "body:" + hex.EncodeToString(sum[:16]), EventType: batchType(types)}, nil
}

// handshake answers Asana's X-Hook-Secret request, or refuses it.
func (s *asana) handshake(secret string) (Result, error) {
	if len(secret) > maxHookSecret {
		return Result{}, Reject(ReasonMalformedHeader, "X-Hook-Secret is longer than %d bytes", maxHookSecret)
	}
	echo := Result{Handshake: &Handshake{Status: http.StatusOK, Header: http.Header{"X-Hook-Secret": {secret}}}}
	if len(s.keys) > 0 {
		for _, k := range s.keys {
			if equalString(string(k), secret) {
				return echo, nil
			}
		}
		return Result{}, Reject(ReasonHandshakeRefused, "this source's secrets are configured, and the handshake's X-Hook-Secret is none of them: put the new secret in secrets, or remove secrets to keep the handshake's")
	}
	for range 2 {
		kept, ok, err := s.keeper.Load()
		if err != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if ok {
			if equalString(kept, secret) {
				return echo, nil
			}
			return Result{}, Reject(ReasonHandshakeRefused, "a handshake secret is kept for this source already; if this Asana webhook is meant to replace the old one, run `hookwatch sources reset-handshake NAME` and create it again")
		}
		stored, err := s.keeper.Keep(secret)
		if err != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if stored {
			return echo, nil
		}
		// Another handshake kept its secret first: compare with it.
	}
	return Result{}, Reject(ReasonHandshakeRefused, "a handshake secret is kept for this source already")
}

// Sign sets X-Hook-Signature with the first configured secret, or the kept
// one.
func (s *asana) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	key := []byte(nil)
	if len(s.keys) > 0 {
		key = s.keys[0]
	} else if sec, ok, err := s.keeper.Load(); err != nil {
		return fmt.Errorf("asana: %w", err)
	} else if ok {
		key = []byte(sec)
	}
	if key == nil {
		return fmt.Errorf("asana: no secret is configured or kept")
	}
	h.Set(asanaMAC.header, asanaMAC.sign(key, body))
	return nil
}
