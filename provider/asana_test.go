package provider

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// memKeeper is a SecretKeeper in memory, as a library user would give one.
type memKeeper struct {
	mu     sync.Mutex
	secret string
	fail   error
}

func (k *memKeeper) Load() (string, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.secret, k.secret != "", k.fail
}

func (k *memKeeper) Keep(s string) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fail != nil {
		return false, k.fail
	}
	if k.secret != "" {
		return false, nil
	}
	k.secret = s
	return true, nil
}

// The handshake as in Asana's docs (developers.asana.com/reference/createwebhook).
const asanaHookSecret = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"

const asanaBody = `{"events":[{"user":{"gid":"1","resource_type":"user"},"created_at":"2026-12-02T10:00:00.000Z","action":"changed","resource":{"gid":"1200","resource_type":"task"},"parent":null,"change":{"field":"name","action":"changed"}},` +
	`{"user":{"gid":"1","resource_type":"user"},"created_at":"2026-12-02T10:00:01.000Z","action":"changed","resource":{"gid":"1201","resource_type":"task"},"parent":null}]}`

func asanaReq(h http.Header, body string) *Request {
	return &Request{Method: "POST", URL: "https://hooks.example.com/in/asana", Header: h, Body: []byte(body), Now: time.Unix(1_764_650_000, 0)}
}

func TestAsanaTrustOnFirstUse(t *testing.T) {
	k := &memKeeper{}
	s, err := New("asana", Config{Keeper: k})
	if err != nil {
		t.Fatal(err)
	}
	// Before the handshake an event cannot be verified.
	sig := hmHex(sha256.New, asanaHookSecret, asanaBody)
	if _, err := s.Verify(asanaReq(http.Header{"X-Hook-Signature": {sig}}, asanaBody)); ReasonOf(err) != ReasonBadSignature || !strings.Contains(err.Error(), "no handshake secret") {
		t.Fatalf("event before the handshake: %v", err)
	}
	res, err := s.Verify(asanaReq(http.Header{"X-Hook-Secret": {asanaHookSecret}}, ""))
	if err != nil || res.Handshake == nil || res.Handshake.Status != 200 || res.Handshake.Header.Get("X-Hook-Secret") != asanaHookSecret {
		t.Fatalf("handshake: %+v, %v", res.Handshake, err)
	}
	if k.secret != asanaHookSecret {
		t.Fatalf("kept %q", k.secret)
	}
	res, err = s.Verify(asanaReq(http.Header{"X-Hook-Signature": {sig}}, asanaBody))
	if err != nil || res.EventType != "task.changed" || !strings.HasPrefix(res.EventID, "body:") {
		t.Fatalf("signed event: %+v, %v", res, err)
	}
	again, _ := s.Verify(asanaReq(http.Header{"X-Hook-Signature": {sig}}, asanaBody))
	if again.EventID != res.EventID {
		t.Errorf("a retry (same body) got ID %s, first %s", again.EventID, res.EventID)
	}
	hb := `{"events":[]}`
	if res, err := s.Verify(asanaReq(http.Header{"X-Hook-Signature": {hmHex(sha256.New, asanaHookSecret, hb)}}, hb)); err != nil || res.EventType != "heartbeat" || res.EventID != "" {
		t.Errorf("heartbeat: %+v, %v", res, err)
	}
	mixed := `{"events":[{"action":"added","resource":{"resource_type":"story"}},{"action":"changed","resource":{"resource_type":"task"}}]}`
	if res, err := s.Verify(asanaReq(http.Header{"X-Hook-Signature": {hmHex(sha256.New, asanaHookSecret, mixed)}}, mixed)); err != nil || res.EventType != "batch" {
		t.Errorf("mixed batch: %+v, %v", res, err)
	}
	if res, err := s.Verify(asanaReq(http.Header{"X-Hook-Signature": {hmHex(sha256.New, asanaHookSecret, "[]")}}, "[]")); err != nil || !res.Malformed {
		t.Errorf("signed non-object: %+v, %v", res, err)
	}
	// The same handshake again is answered (nothing changes); another is refused.
	if res, err := s.Verify(asanaReq(http.Header{"X-Hook-Secret": {asanaHookSecret}}, "")); err != nil || res.Handshake == nil {
		t.Errorf("the same handshake again: %v", err)
	}
	if _, err := s.Verify(asanaReq(http.Header{"X-Hook-Secret": {"attacker-secret"}}, "")); ReasonOf(err) != ReasonHandshakeRefused || !strings.Contains(err.Error(), "reset-handshake") {
		t.Errorf("second handshake: %v, want handshake_refused naming reset-handshake", err)
	}
	if k.secret != asanaHookSecret {
		t.Errorf("a refused handshake replaced the secret")
	}
	for _, c := range []struct {
		name   string
		h      http.Header
		body   string
		reason Reason
	}{
		{"no signature", http.Header{}, asanaBody, ReasonMissingSignature},
		{"tampered body", http.Header{"X-Hook-Signature": {sig}}, asanaBody + " ", ReasonBadSignature},
		{"another secret", http.Header{"X-Hook-Signature": {hmHex(sha256.New, "other", asanaBody)}}, asanaBody, ReasonBadSignature},
		{"not hex", http.Header{"X-Hook-Signature": {"zz"}}, asanaBody, ReasonMalformedHeader},
		{"huge secret", http.Header{"X-Hook-Secret": {strings.Repeat("a", maxHookSecret+1)}}, "", ReasonMalformedHeader},
	} {
		if _, err := s.Verify(asanaReq(c.h, c.body)); ReasonOf(err) != c.reason {
			t.Errorf("%s: %v, want %s", c.name, err, c.reason)
		}
	}
	// A keeper that fails is not a rejection: the caller answers 503.
	k.fail = errors.New("disk on fire")
	if _, err := s.Verify(asanaReq(http.Header{"X-Hook-Signature": {sig}}, asanaBody)); !errors.Is(err, ErrUnavailable) || ReasonOf(err) != "" {
		t.Errorf("failing keeper: %v, want ErrUnavailable", err)
	}
}

func TestAsanaConfiguredSecret(t *testing.T) {
	k := &memKeeper{}
	s, err := New("asana", Config{Secrets: []string{"old", asanaHookSecret}, Keeper: k})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.Verify(asanaReq(http.Header{"X-Hook-Secret": {asanaHookSecret}}, "")); err != nil || res.Handshake.Header.Get("X-Hook-Secret") != asanaHookSecret {
		t.Fatalf("handshake with a configured secret: %v", err)
	}
	if _, err := s.Verify(asanaReq(http.Header{"X-Hook-Secret": {"new"}}, "")); ReasonOf(err) != ReasonHandshakeRefused {
		t.Errorf("handshake with an unconfigured secret: %v", err)
	}
	if k.secret != "" {
		t.Errorf("configured secrets: the keeper was given %q (no trust on first use then)", k.secret)
	}
	if _, err := s.Verify(asanaReq(http.Header{"X-Hook-Signature": {hmHex(sha256.New, "old", asanaBody)}}, asanaBody)); err != nil {
		t.Errorf("rotation (first secret): %v", err)
	}
	if _, err := New("asana", Config{}); err == nil {
		t.Error("no secret and no keeper accepted")
	}
	if _, err := New("sentry", Config{Keeper: k}); err == nil {
		t.Error("a provider without handshake secrets accepted no secret")
	}
}

// FuzzAsanaHeaders: arbitrary handshake and signature values never panic,
// never verify, and never replace a kept secret.
func FuzzAsanaHeaders(f *testing.F) {
	f.Add(asanaHookSecret, "00")
	f.Add("", "zz")
	f.Fuzz(func(t *testing.T, secret, sig string) {
		k := &memKeeper{secret: "kept-secret"}
		s, err := New("asana", Config{Keeper: k})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Verify(asanaReq(http.Header{"X-Hook-Secret": {secret}, "X-Hook-Signature": {sig}}, asanaBody))
		if err == nil && res.Handshake == nil {
			t.Fatalf("verified an unsigned event")
		}
		if err != nil && ReasonOf(err) == "" {
			t.Fatalf("error %v is not a VerifyError", err)
		}
		if k.secret != "kept-secret" {
			t.Fatalf("kept secret replaced by %q", k.secret)
		}
	})
}

// TestPlaidAsanaRegistered: both are in the registry, with the methods and
// flags the receive path reads, and a testdata SOURCE.md.
func TestPlaidAsanaRegistered(t *testing.T) {
	for _, name := range []string{"plaid", "asana"} {
		info, ok := Lookup(name)
		if !ok || info.Name != name || info.Summary == "" || info.New == nil || len(info.AllowedMethods()) != 1 {
			t.Errorf("%s: registry entry %+v", name, info)
		}
		if info.HandshakeSecret != (name == "asana") {
			t.Errorf("%s: HandshakeSecret %v", name, info.HandshakeSecret)
		}
		if src, err := os.ReadFile(filepath.Join("..", "testdata", "providers", name, "SOURCE.md")); err != nil || len(src) == 0 {
			t.Errorf("%s: no testdata SOURCE.md: %v", name, err)
		}
	}
}
