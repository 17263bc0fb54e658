package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

func createUser(t *testing.T, s hookwatch.Store, name string) {
	t.Helper()
	if err := s.CreateUser(context.Background(), &hookwatch.User{Name: name, PasswordHash: []byte("$2a$10$hash"), CreatedAt: base}); err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := hookwatch.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func testUsers(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("Users", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		createUser(t, s, "bob")
		createUser(t, s, "alice")
		wantCode(t, "duplicate user", s.CreateUser(ctx, &hookwatch.User{Name: "bob", PasswordHash: []byte("x"), CreatedAt: base}), hookwatch.ECONFLICT)
		wantCode(t, "empty name", s.CreateUser(ctx, &hookwatch.User{PasswordHash: []byte("x")}), hookwatch.EINVALID)
		u, err := s.GetUser(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "alice" || string(u.PasswordHash) != "$2a$10$hash" || !u.CreatedAt.Equal(base) {
			t.Fatalf("GetUser = %+v", u)
		}
		_, err = s.GetUser(ctx, "carol")
		wantCode(t, "unknown user", err, hookwatch.ENOTFOUND)
		us, err := s.ListUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(us) != 2 || us[0].Name != "alice" || us[1].Name != "bob" {
			t.Fatalf("ListUsers = %v, want alice, bob", us)
		}
		wantCode(t, "delete unknown", s.DeleteUser(ctx, "carol"), hookwatch.ENOTFOUND)
	})

	t.Run("Sessions", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		createUser(t, s, "alice")
		se := &hookwatch.Session{ID: hookwatch.HashToken("a"), User: "alice", CSRF: "csrf1", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "session of unknown user",
			s.CreateSession(ctx, &hookwatch.Session{ID: hookwatch.HashToken("b"), User: "carol", CSRF: "x", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}),
			hookwatch.ENOTFOUND)
		got, err := s.GetSession(ctx, se.ID, base.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got.User != "alice" || got.CSRF != "csrf1" || !got.ExpiresAt.Equal(se.ExpiresAt) || !got.CreatedAt.Equal(base) {
			t.Fatalf("GetSession = %+v, want %+v", got, se)
		}
		_, err = s.GetSession(ctx, se.ID, base.Add(time.Hour))
		wantCode(t, "expired session", err, hookwatch.ENOTFOUND)

		other := &hookwatch.Session{ID: hookwatch.HashToken("c"), User: "alice", CSRF: "csrf2", CreatedAt: base, ExpiresAt: base.Add(2 * time.Hour)}
		if err := s.CreateSession(ctx, other); err != nil {
			t.Fatal(err)
		}
		n, err := s.DeleteExpiredSessions(ctx, base.Add(90*time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
		}
		if err := s.DeleteSession(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctx, other.ID); err != nil {
			t.Fatalf("deleting a deleted session: %v", err)
		}
		_, err = s.GetSession(ctx, other.ID, base)
		wantCode(t, "deleted session", err, hookwatch.ENOTFOUND)
	})

	t.Run("APITokens", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		createUser(t, s, "alice")
		tok := &hookwatch.APIToken{ID: hookwatch.NewID("tok", base), User: "alice", Name: "ci", Hash: hookwatch.HashToken("hwt_1"), CreatedAt: base}
		if err := s.CreateAPIToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		exp := &hookwatch.APIToken{ID: hookwatch.NewID("tok", base.Add(time.Second)), User: "alice", Name: "temp", Hash: hookwatch.HashToken("hwt_2"),
			CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
		if err := s.CreateAPIToken(ctx, exp); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "token of unknown user",
			s.CreateAPIToken(ctx, &hookwatch.APIToken{ID: "tok_x", User: "carol", Hash: "h", CreatedAt: base}), hookwatch.ENOTFOUND)
		wantCode(t, "same hash",
			s.CreateAPIToken(ctx, &hookwatch.APIToken{ID: "tok_y", User: "alice", Hash: tok.Hash, CreatedAt: base}), hookwatch.ECONFLICT)

		got, err := s.GetAPIToken(ctx, tok.Hash, base.Add(1000*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != tok.ID || got.User != "alice" || got.Name != "ci" || !got.ExpiresAt.IsZero() {
			t.Fatalf("GetAPIToken = %+v", got)
		}
		if _, err := s.GetAPIToken(ctx, exp.Hash, base.Add(time.Minute)); err != nil {
			t.Fatalf("live token with expiry: %v", err)
		}
		_, err = s.GetAPIToken(ctx, exp.Hash, base.Add(time.Hour))
		wantCode(t, "expired token", err, hookwatch.ENOTFOUND)
		_, err = s.GetAPIToken(ctx, hookwatch.HashToken("wrong"), base)
		wantCode(t, "unknown token", err, hookwatch.ENOTFOUND)

		ts, err := s.ListAPITokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != 2 || ts[0].ID != tok.ID || ts[1].ID != exp.ID || !ts[1].ExpiresAt.Equal(exp.ExpiresAt) {
			t.Fatalf("ListAPITokens = %v", ts)
		}
		if err := s.DeleteAPIToken(ctx, exp.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "delete deleted token", s.DeleteAPIToken(ctx, exp.ID), hookwatch.ENOTFOUND)

		// Deleting the user takes its sessions and tokens with it.
		se := &hookwatch.Session{ID: hookwatch.HashToken("s"), User: "alice", CSRF: "x", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetAPIToken(ctx, tok.Hash, base)
		wantCode(t, "token of deleted user", err, hookwatch.ENOTFOUND)
		_, err = s.GetSession(ctx, se.ID, base)
		wantCode(t, "session of deleted user", err, hookwatch.ENOTFOUND)
		createUser(t, s, "alice")
		if ts, _ := s.ListAPITokens(ctx); len(ts) != 0 {
			t.Fatalf("a new alice inherits tokens: %v", ts)
		}
	})
}
