package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
)

// fileHolds reports which of the store's files (the database, its WAL and
// shared-memory index) contain secret.
func fileHolds(t *testing.T, path string, secret string) []string {
	t.Helper()
	var in []string
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			in = append(in, filepath.Base(f))
		}
	}
	return in
}

// A store written by a version that kept credential headers as received
// (before migration 0008): opening it redacts them in place, and neither
// the file nor its WAL holds them afterwards; other headers are untouched.
// The installation key made then is the one every later open returns.
func TestMigrationRedactsStoredCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookwatch.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Roll the file back to schema 7 and store what older versions did.
	// A JWT-sized bearer: the rewritten row is much shorter than the old
	// one, whose bytes would stay in the page's free space.
	bearer := "Bearer old-bearer-credential-7f3a." + strings.Repeat("eyJhbGciOiJIUzI1NiJ9", 15)
	const token, cookie = "glpat-old-gitlab-token-91c2", "session=old-cookie-55d0"
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	headers := `{"Authorization":["` + bearer + `"],"X-Gitlab-Token":["` + token + `"],"Cookie":["` + cookie + `","b=\"2\""],` +
		`"Proxy-Authorization":["` + bearer + `"],"Content-Type":["application/json"],"X-Note":["says \"Authorization\":[\"kept\"]"]}`
	for _, q := range []string{
		`DROP TABLE installation_key`,
		`DELETE FROM schema_migrations WHERE version = 8`,
		// Rows around it on its page, so that its old bytes would be left
		// in the page's free space rather than at its edge.
		`INSERT INTO events (id, source, provider, headers, body, received_at) VALUES ('evt_a', 'stripe', 'stripe', '{"Content-Type":["application/json"]}', x'7b7d', 1)`,
		`INSERT INTO events (id, source, provider, headers, body, received_at) VALUES ('evt_old', 'gitlab', 'gitlab', '` + headers + `', x'7b7d', 2)`,
		`INSERT INTO events (id, source, provider, headers, body, received_at) VALUES ('evt_plain', 'stripe', 'stripe', '{"Content-Type":["application/json"]}', x'7b7d', 3)`,
		`PRAGMA wal_checkpoint(TRUNCATE)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	for _, secret := range []string{bearer, token, cookie} {
		if in := fileHolds(t, path, secret); len(in) == 0 {
			t.Fatalf("setup: %q is not in the old file", secret)
		}
	}

	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.GetEvent(ctx, "evt_old")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Authorization", "X-Gitlab-Token", "Cookie", "Proxy-Authorization"} {
		if got := e.Headers.Values(h); len(got) != 1 || got[0] != hookwatch.Redacted {
			t.Errorf("%s after the migration = %q, want [%s]", h, got, hookwatch.Redacted)
		}
	}
	if e.Headers.Get("Content-Type") != "application/json" || e.Headers.Get("X-Note") != `says "Authorization":["kept"]` {
		t.Errorf("other headers changed: %v", e.Headers)
	}
	if plain, err := s.GetEvent(ctx, "evt_plain"); err != nil || plain.Headers.Get("Content-Type") != "application/json" {
		t.Errorf("an event without credentials: %+v, %v", plain, err)
	}
	key, err := s.InstallationKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{bearer, token, cookie} {
		if in := fileHolds(t, path, secret); len(in) > 0 {
			t.Errorf("after the migration, %q is still in %v", secret, in)
		}
	}
	s.Close()

	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	again, err := s.InstallationKey(ctx)
	if err != nil || !bytes.Equal(again, key) {
		t.Errorf("installation key after reopening = %x, %v; want %x", again, err, key)
	}
}
