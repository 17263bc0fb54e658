package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// config show prints what runs: the effective defaults, not zeros, and
// every URL redacted the one way (userinfo and query values hidden, query
// keys kept), so it can be pasted into a ticket.
func TestConfigShowEffectiveAndRedacted(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hw.yaml")
	os.WriteFile(path, []byte(`store: "postgres://hw:pg-s3cret@db.internal:5432/hookwatch?sslmode=require"
sources:
  - name: stripe
    provider: stripe
    secrets: [whsec_source_s3cret]
destinations:
  - name: app
    url: "https://app.example.com/hooks?apikey=dest-s3cret&team=42"
routes:
  - {source: stripe, destinations: [app]}
`), 0o600)
	out, stderr, err := run(t, nil, "config", "show", "--config", path)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, w := range []string{
		"store: postgres://[redacted]@db.internal:5432/hookwatch?sslmode=[redacted]",
		"url: https://app.example.com/hooks?apikey=[redacted]&team=[redacted]",
		// Defaults that used to print as zeros.
		"writers: 3", // PostgreSQL's default
		"max_age: 3d",
		"failures: 10",
		"initial: 5s",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("config show lacks %q:\n%s", w, out)
		}
	}
	for _, n := range []string{"s3cret", "writers: 0", "max_age: 0s", "failures: 0"} {
		if strings.Contains(out, n) {
			t.Errorf("config show prints %q:\n%s", n, out)
		}
	}
}

// config check lists every problem of the file in one run, each with its
// line: it used to stop at the first kind (an unknown key), and after that
// was fixed, at the next (a bad duration).
func TestConfigCheckEveryProblem(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hw.yaml")
	os.WriteFile(path, []byte(`sources:
  - name: stripe
    provider: stripe
    secrets: [whsec_x]
    tolerence: 5m
destinations:
  - name: app
    url: http://127.0.0.1:3000/hooks
    timeout: 10 seconds
routes:
  - {source: stripe, destinations: [ap]}
`), 0o600)
	_, _, err := run(t, nil, "config", "check", "--config", path)
	if err == nil || exitCode(err) != 2 {
		t.Fatalf("got %v, want exit 2", err)
	}
	for _, w := range []string{
		"3 problems",
		`line 5: unknown key "tolerence" in sources[0]`,
		`line 9: destinations[0].timeout: bad duration "10 seconds"`,
		`line 11: routes[0].destinations[0]: no destination named "ap"`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}
