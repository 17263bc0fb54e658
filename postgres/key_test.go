package postgres_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/postgres"
	"github.com/jackc/pgx/v5"
)

// A database written by a version that kept credential headers as received
// (before migration 0008): opening it redacts them in place, even in a row
// whose other headers hold a \u0000 (which the JSON functions refuse), and
// leaves the rest as it was. The key made then survives reopening, and
// ImportInstallationKey replaces it.
func TestMigrationRedactsStoredCredentials(t *testing.T) {
	ctx := context.Background()
	url := testURL(t)
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	headers := `{"Authorization":["Bearer old-credential-7f3a"],"X-Gitlab-Token":["glpat-old-91c2"],"Cookie":["a=1","b=\"2\\\\\""],` +
		`"Content-Type":["application/json"],"X-Nul":["a\u0000b"],"X-Note":["says \"Authorization\":[\"kept\"]"]}`
	for _, q := range []string{
		`DROP TABLE installation_key`,
		`DELETE FROM schema_migrations WHERE version = 8`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO events (id, source, provider, headers, body, received_at) VALUES ('evt_old', 'gitlab', 'gitlab', $1, '\x7b7d', now())`, headers); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	s, err = postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.GetEvent(ctx, "evt_old")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Authorization", "X-Gitlab-Token", "Cookie"} {
		if got := e.Headers.Values(h); len(got) != 1 || got[0] != hookwatch.Redacted {
			t.Errorf("%s after the migration = %q, want [%s]", h, got, hookwatch.Redacted)
		}
	}
	if e.Headers.Get("Content-Type") != "application/json" || e.Headers.Get("X-Nul") != "a\x00b" || e.Headers.Get("X-Note") != `says "Authorization":["kept"]` {
		t.Errorf("other headers changed: %q", e.Headers)
	}
	key, err := s.InstallationKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if again, err := s.InstallationKey(ctx); err != nil || !bytes.Equal(again, key) {
		t.Errorf("installation key after reopening = %x, %v; want %x", again, err, key)
	}
	other := hookwatch.NewInstallationKey()
	if replaced, err := s.ImportInstallationKey(ctx, other); err != nil || !replaced {
		t.Fatalf("ImportInstallationKey(another key) = %v, %v; want replaced", replaced, err)
	}
	if got, err := s.InstallationKey(ctx); err != nil || !bytes.Equal(got, other) {
		t.Errorf("after the import: %x, %v; want %x", got, err, other)
	}
	if replaced, err := s.ImportInstallationKey(ctx, other); err != nil || replaced {
		t.Errorf("ImportInstallationKey(the same key) = %v, %v; want not replaced", replaced, err)
	}
	if _, err := s.ImportInstallationKey(ctx, []byte("short")); hookwatch.ErrorCode(err) != hookwatch.EINVALID {
		t.Errorf("ImportInstallationKey(5 bytes): %v, want EINVALID", err)
	}
}
