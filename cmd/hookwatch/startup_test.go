package main

import (
	"bytes"
	"database/sql"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeStartupFailures starts the real binary in each way it cannot
// start and checks what the operator sees: a non-zero exit, and one line
// that names the cause and what to fix. serve used to hang forever with a
// port in use, printing nothing and ignoring SIGTERM. The goal is an exit
// within two seconds of starting; the 20 s deadline below only guards
// against a hang (a timing assertion would be flaky on a busy machine).
func TestServeStartupFailures(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() }) // the parallel subtests run after this function returns
	busy := taken.Addr().String()
	closedPort := freeAddr(t) // nothing listens there

	for _, tc := range []struct {
		name string
		// setup writes what the case needs into dir and returns the
		// config's listen, admin_listen and store.
		setup func(t *testing.T, dir string) (public, admin, store string)
		// edit, if set, changes the config file's text.
		edit func(cfg string) string
		env  []string
		code int
		want []string
		// not are strings that must not be printed (secrets).
		not []string
	}{
		{name: "listen port in use",
			setup: func(t *testing.T, dir string) (string, string, string) {
				return busy, "127.0.0.1:0", "sqlite:" + filepath.Join(dir, "hw.db")
			},
			code: 1, want: []string{"listen " + busy + ": address already in use", "set listen to a free port"}},
		{name: "admin port in use",
			setup: func(t *testing.T, dir string) (string, string, string) {
				return "127.0.0.1:0", busy, "sqlite:" + filepath.Join(dir, "hw.db")
			},
			code: 1, want: []string{"admin_listen " + busy + ": address already in use", "set admin_listen"}},
		{name: "data directory cannot be created",
			setup: func(t *testing.T, dir string) (string, string, string) {
				// A file where the directory should be: fails for root too.
				os.WriteFile(filepath.Join(dir, "data"), []byte("x"), 0o600)
				return "127.0.0.1:0", "127.0.0.1:0", "sqlite:" + filepath.Join(dir, "data", "db", "hw.db")
			},
			code: 1, want: []string{"cannot create the data directory", "not a directory", "set store (or HOOKWATCH_STORE) to a path in a writable directory"}},
		{name: "bad store URL in the config",
			setup: func(t *testing.T, dir string) (string, string, string) {
				return "127.0.0.1:0", "127.0.0.1:0", "mysql://hw:s3cret-pw@db/hw"
			},
			code: 2, want: []string{"line 3: store:", "is not sqlite:PATH or postgres://"}, not: []string{"s3cret-pw"}},
		{name: "bad HOOKWATCH_STORE",
			setup: func(t *testing.T, dir string) (string, string, string) {
				return "127.0.0.1:0", "127.0.0.1:0", "sqlite:" + filepath.Join(dir, "hw.db")
			},
			env:  []string{"HOOKWATCH_STORE=mysql://hw:s3cret-pw@db/hw"},
			code: 2, want: []string{"HOOKWATCH_STORE:", "is not sqlite:PATH or postgres://"}, not: []string{"s3cret-pw", "line "}},
		{name: "postgres unreachable",
			setup: func(t *testing.T, dir string) (string, string, string) {
				return "127.0.0.1:0", "127.0.0.1:0", "postgres://hw:s3cret-pw@" + closedPort + "/hw?sslmode=disable"
			},
			code: 1, want: []string{"store postgres://[redacted]@" + closedPort + "/hw?sslmode=[redacted]", "cannot connect", "connection refused", "is PostgreSQL running"},
			not: []string{"s3cret-pw"}},
		{name: "store file is not a database",
			setup: func(t *testing.T, dir string) (string, string, string) {
				p := filepath.Join(dir, "hw.db")
				os.WriteFile(p, bytes.Repeat([]byte("not a sqlite database "), 100), 0o600)
				return "127.0.0.1:0", "127.0.0.1:0", "sqlite:" + p
			},
			code: 1, want: []string{"the schema could not be brought up to date", "not a Hookwatch database"}},
		{name: "migration fails",
			setup: func(t *testing.T, dir string) (string, string, string) {
				// Another program's database: its events table is not ours,
				// so the first migration cannot create it.
				p := filepath.Join(dir, "hw.db")
				db, err := sql.Open("sqlite", p)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if _, err := db.Exec(`CREATE TABLE events (x INTEGER)`); err != nil {
					t.Fatal(err)
				}
				return "127.0.0.1:0", "127.0.0.1:0", "sqlite:" + p
			},
			code: 1, want: []string{"the schema could not be brought up to date", "migration 0001", "events already exists", "point store at a new database"}},
		{name: "bad config",
			setup: func(t *testing.T, dir string) (string, string, string) {
				return "127.0.0.1:0", "127.0.0.1:0", "sqlite:" + filepath.Join(dir, "hw.db")
			},
			edit: func(cfg string) string { return strings.Replace(cfg, "log: {level: warn}", "log: {levle: warn}", 1) },
			code: 2, want: []string{`line 4: unknown key "levle" in log`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			public, admin, store := tc.setup(t, dir)
			path := writeConfig(t, dir, public, admin, store)
			if tc.edit != nil {
				data, _ := os.ReadFile(path)
				os.WriteFile(path, []byte(tc.edit(string(data))), 0o600)
			}

			werr, output := serveToExit(t, path, tc.env...)
			var exit *exec.ExitError
			if !errors.As(werr, &exit) || exit.ExitCode() != tc.code {
				t.Errorf("exit: %v, want code %d", werr, tc.code)
			}
			got := strings.TrimRight(output, "\n")
			if strings.Contains(got, "\n") || !strings.HasPrefix(got, "hookwatch: ") {
				t.Errorf("want one line \"hookwatch: ...\", got:\n%s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("printed %q:\n%s", n, got)
				}
			}
		})
	}
}
