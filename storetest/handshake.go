package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// testHandshakeSecrets: a handshake secret is kept once per source (the
// first keeper wins, concurrent ones agree), read back, and removed only by
// a reset, after which the next one is kept.
func testHandshakeSecrets(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	at := time.Now().UTC().Truncate(time.Millisecond)
	if _, err := s.HandshakeSecret(ctx, "asana"); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
		t.Fatalf("HandshakeSecret before any: %v, want ENOTFOUND", err)
	}
	if err := s.ResetHandshakeSecret(ctx, "asana"); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
		t.Fatalf("ResetHandshakeSecret before any: %v, want ENOTFOUND", err)
	}
	if kept, err := s.KeepHandshakeSecret(ctx, "asana", "first-secret", at); err != nil || !kept {
		t.Fatalf("KeepHandshakeSecret = %v, %v; want kept", kept, err)
	}
	if kept, err := s.KeepHandshakeSecret(ctx, "asana", "second-secret", at.Add(time.Minute)); err != nil || kept {
		t.Fatalf("KeepHandshakeSecret over a kept one = %v, %v; want not kept", kept, err)
	}
	got, err := s.HandshakeSecret(ctx, "asana")
	if err != nil || got.Secret != "first-secret" || got.Source != "asana" || !got.CreatedAt.Equal(at) {
		t.Fatalf("HandshakeSecret = %+v, %v; want first-secret kept at %s", got, err, at)
	}
	if _, err := s.HandshakeSecret(ctx, "asana-2"); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
		t.Fatalf("another source: %v, want ENOTFOUND", err)
	}

	// Concurrent handshakes of a new source: exactly one is kept.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sec := fmt.Sprintf("racer-%d", i)
			kept, err := s.KeepHandshakeSecret(ctx, "race", sec, at)
			if err != nil {
				t.Errorf("KeepHandshakeSecret %s: %v", sec, err)
			}
			if kept {
				mu.Lock()
				winners = append(winners, sec)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if got, err := s.HandshakeSecret(ctx, "race"); len(winners) != 1 || err != nil || got.Secret != winners[0] {
		t.Fatalf("concurrent keeps: winners %v, kept %+v, %v; want one winner, kept", winners, got, err)
	}

	if err := s.ResetHandshakeSecret(ctx, "asana"); err != nil {
		t.Fatalf("ResetHandshakeSecret: %v", err)
	}
	if _, err := s.HandshakeSecret(ctx, "asana"); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
		t.Fatalf("after reset: %v, want ENOTFOUND", err)
	}
	if kept, err := s.KeepHandshakeSecret(ctx, "asana", "after-reset", at); err != nil || !kept {
		t.Fatalf("keep after reset = %v, %v", kept, err)
	}
	if got, _ := s.HandshakeSecret(ctx, "asana"); got.Secret != "after-reset" {
		t.Fatalf("after reset and keep: %q", got.Secret)
	}
	if got, _ := s.HandshakeSecret(ctx, "race"); got.Secret != winners[0] {
		t.Fatalf("resetting asana changed race's secret: %q", got.Secret)
	}
}

// testHandshakeSealed: a handshake secret is sealed at rest, with or
// without encryption.keys: bound to its row (copied to another source it
// does not open); under a key the store was not given the store does not
// open, naming the key; once read under rotated keys it is sealed under
// the new first key, and the old one can go.
func testHandshakeSealed(t *testing.T, loc Encrypted) {
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	s := mustOpen(t, loc, nil)
	if _, err := s.KeepHandshakeSecret(ctx, "plainstore", "secret-without-keys", at); err != nil {
		t.Fatal(err)
	}
	if got, err := s.HandshakeSecret(ctx, "plainstore"); err != nil || got.Secret != "secret-without-keys" {
		t.Fatalf("without encryption.keys: %+v, %v", got, err)
	}
	if err := loc.Exec(`INSERT INTO handshake_secrets (source, key_id, secret, created_at) SELECT 'moved', key_id, secret, created_at FROM handshake_secrets WHERE source = 'plainstore'`); err != nil {
		t.Fatal(err)
	}
	if got, err := s.HandshakeSecret(ctx, "moved"); hookwatch.ErrorCode(err) != hookwatch.EINTERNAL {
		t.Fatalf("a secret copied to another source: %+v, %v; want EINTERNAL (it is sealed and bound to its row, not plaintext)", got, err)
	}
	s.Close()

	k := NewKey(t)
	c := NewCipher(t, k)
	s = mustOpen(t, loc, c)
	if _, err := s.KeepHandshakeSecret(ctx, "sealed", "secret-with-keys", at); err != nil {
		t.Fatal(err)
	}
	if got, err := s.HandshakeSecret(ctx, "sealed"); err != nil || got.Secret != "secret-with-keys" {
		t.Fatalf("under encryption.keys: %+v, %v", got, err)
	}
	if got, err := s.HandshakeSecret(ctx, "plainstore"); err != nil || got.Secret != "secret-without-keys" {
		t.Fatalf("kept before encryption.keys: %+v, %v", got, err)
	}
	s.Close()
	if s, err := loc.Open(nil); err == nil {
		s.Close()
		t.Fatal("opened without the key that seals a handshake secret")
	} else if !strings.Contains(err.Error(), c.KeyID()) {
		t.Fatalf("open without the key: %v; want it to name key ID %s", err, c.KeyID())
	}

	// After a rotation, reading a secret seals it under the new first key,
	// so the old key can be removed.
	k2 := NewKey(t)
	s = mustOpen(t, loc, NewCipher(t, k2, k))
	for src, want := range map[string]string{"plainstore": "secret-without-keys", "sealed": "secret-with-keys"} {
		if got, err := s.HandshakeSecret(ctx, src); err != nil || got.Secret != want {
			t.Fatalf("%s with the rotated keys: %+v, %v", src, got, err)
		}
	}
	s.Close()
	s = mustOpen(t, loc, NewCipher(t, k2))
	defer s.Close()
	for src, want := range map[string]string{"plainstore": "secret-without-keys", "sealed": "secret-with-keys"} {
		if got, err := s.HandshakeSecret(ctx, src); err != nil || got.Secret != want {
			t.Fatalf("%s with the old key removed: %+v, %v", src, got, err)
		}
	}
}
