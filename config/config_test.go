package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestExampleConfigWorksWithoutEnvironment(t *testing.T) {
	cfg, err := config.Load("../hookwatch.yaml", env(nil))
	if err != nil {
		t.Fatalf("the committed example config must load with no environment: %v", err)
	}
	if len(cfg.Sources) == 0 || cfg.Store != "sqlite:./data/hookwatch.db" {
		t.Errorf("example: %d sources, store %q", len(cfg.Sources), cfg.Store)
	}
}

func TestDefaultsAndEnv(t *testing.T) {
	cfg, err := config.Parse([]byte(`
sources:
  - name: stripe
    provider: stripe
    secrets: ["${STRIPE_SECRET}", "${OLD:-whsec_old}"]
    tolerance: 10m
    max_body: 2MiB
    dedupe_horizon: 3d
  - name: gh
    provider: github
    secrets: [plain]
`), env(map[string]string{"STRIPE_SECRET": "whsec_from_env"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":8080" || cfg.AdminListen != "127.0.0.1:8081" || cfg.Store != config.DefaultStore {
		t.Errorf("defaults: %q %q %q", cfg.Listen, cfg.AdminListen, cfg.Store)
	}
	s := cfg.Sources[0]
	if s.Secrets[0] != "whsec_from_env" || s.Secrets[1] != "whsec_old" {
		t.Errorf("secrets = %v", s.Secrets)
	}
	if s.Tolerance.D() != 10*time.Minute || s.MaxBody != 2<<20 || s.DedupeHorizon.D() != 72*time.Hour {
		t.Errorf("source settings: %v %v %v", s.Tolerance, s.MaxBody, s.DedupeHorizon)
	}
	if g := cfg.Sources[1]; g.MaxBody != config.DefaultMaxBody || g.DedupeHorizon.D() != 7*24*time.Hour || g.Dedupe != config.DedupeID || g.DedupesBody() {
		t.Errorf("source defaults: %v %v %q", g.MaxBody, g.DedupeHorizon, g.Dedupe)
	}
}

// Every mistake is reported with its line and what to fix, all at once.
func TestValidationNamesLineAndField(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "listen: \":8080\"\nlisten_port: 9\n", []string{"line 2", `unknown key "listen_port"`}},
		{"unknown nested key", "sources:\n  - name: a\n    provider: github\n    secret: x\n", []string{"line 4", `"secret"`, "in sources[0]", "secrets"}},
		{"unknown provider", "sources:\n  - name: a\n    provider: strype\n    secrets: [x]\n", []string{"line 3", "sources[0].provider", `"strype"`, "stripe"}},
		{"missing secret", "sources:\n  - name: a\n    provider: github\n", []string{"line 2", "sources[0].secrets", "at least one secret"}},
		{"unset env", "sources:\n  - name: a\n    provider: github\n    secrets: [\"${GH_SECRET}\"]\n", []string{"line 4", "GH_SECRET is not set"}},
		{"bad duration", "sources:\n  - name: a\n    provider: stripe\n    secrets: [x]\n    tolerance: 5 minutes\n", []string{"line 5", "bad duration", "5m"}},
		{"bad size", "sources:\n  - name: a\n    provider: stripe\n    secrets: [x]\n    max_body: lots\n", []string{"line 5", "bad size"}},
		{"duplicate name", "sources:\n  - name: a\n    provider: github\n    secrets: [x]\n  - name: a\n    provider: github\n    secrets: [y]\n", []string{"line 5", "used by two sources"}},
		{"bad name", "sources:\n  - name: Bad Name\n    provider: github\n    secrets: [x]\n", []string{"line 2", "lowercase"}},
		{"bad store", "store: mysql://x\n", []string{"line 1", "store", "sqlite:PATH"}},
		{"same listeners", "listen: \"127.0.0.1:9\"\nadmin_listen: \"127.0.0.1:9\"\n", []string{"line 2", "must differ"}},
		{"hmac option", "sources:\n  - name: a\n    provider: hmac\n    secrets: [x]\n    options: {header: X-Sig, colour: red}\n", []string{"line 2", "colour"}},
		{"yaml syntax", "sources: [\n", []string{"config:"}},
		{"writers", "ingest:\n  writers: -1\n", []string{"line 2", "ingest.writers", "0..64"}},
		{"dedupe", "sources:\n  - name: a\n    provider: github\n    secrets: [x]\n    dedupe: payload\n", []string{"line 5", "sources[0].dedupe", `"payload"`, "id", "body"}},
		{"keep a credential", "destinations:\n  - name: app\n    url: http://127.0.0.1:3000/\n    keep_headers: [Stripe-Signature, x-gitlab-token]\n", []string{"line 4", "destinations[0].keep_headers", "x-gitlab-token", "never stores"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.yaml), env(nil))
			if err == nil {
				t.Fatalf("no error for:\n%s", tc.yaml)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSeveralProblemsReportedTogether(t *testing.T) {
	_, err := config.Parse([]byte("sources:\n  - name: a\n    provider: nope\n    secrets: [x]\n  - name: b\n    provider: github\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "line 5") {
		t.Fatalf("want both problems (lines 3 and 5), got %v", err)
	}
}

func TestRedactedHidesEverySecret(t *testing.T) {
	cfg, err := config.Parse([]byte(`
admin_token: tok-SECRET-1
store: postgres://hw:pw-SECRET-2@db/hookwatch
sources:
  - name: a
    provider: stripe
    secrets: [whsec_SECRET-3, whsec_SECRET-4]
  - name: b
    provider: hmac
    secrets: [SECRET-5]
    options: {header: X-Sig}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "SECRET") {
		t.Fatalf("redacted config still shows a secret:\n%s", out)
	}
	if !strings.Contains(string(out), "postgres://[redacted]@db/hookwatch") || !strings.Contains(string(out), "X-Sig") {
		t.Errorf("redaction removed too much:\n%s", out)
	}
	// The live config is untouched.
	if cfg.Sources[0].Secrets[0] != "whsec_SECRET-3" || cfg.AdminToken != "tok-SECRET-1" {
		t.Errorf("Redacted changed the config itself")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope.yaml"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("got %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "7d": 168 * time.Hour, "1d12h": 36 * time.Hour, "5m": 5 * time.Minute} {
		if got, err := config.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "5 minutes", "xd"} {
		if _, err := config.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

// One run reports every kind of problem, each with its line, in line
// order: an unknown key, a bad duration, a bad size, a value of the wrong
// type and a validation problem. Before, each run stopped at the first
// kind (the unknown key), then at the next (the duration).
func TestEveryProblemInOneRun(t *testing.T) {
	_, err := config.Parse([]byte(`ingest:
  writers: two
sources:
  - name: stripe
    provider: stripe
    secrets: [whsec_x]
    tolerence: 5m
    dedupe_horizon: 10 seconds
    max_body: lots
  - name: gh
    provider: githab
    secrets: whsec_not_shown_anywhere
`), env(nil))
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		"line 2: ingest.writers: got text, want a whole number",
		`line 7: unknown key "tolerence" in sources[0]`,
		`line 8: sources[0].dedupe_horizon: bad duration "10 seconds"`,
		`line 9: sources[0].max_body: bad size "lots"`,
		`line 11: sources[1].provider: unknown provider "githab"`,
		"line 12: sources[1].secrets: got text, want a list",
	}
	msg := err.Error()
	if !strings.Contains(msg, "6 problems") {
		t.Errorf("want 6 problems counted in:\n%s", msg)
	}
	last := -1
	for _, w := range want {
		i := strings.Index(msg, w)
		if i < 0 {
			t.Errorf("missing %q in:\n%s", w, msg)
			continue
		}
		if i < last {
			t.Errorf("%q is out of line order in:\n%s", w, msg)
		}
		last = i
	}
	if strings.Contains(msg, "whsec_not") {
		t.Errorf("a value of the wrong type is quoted (it may be a secret):\n%s", msg)
	}
	// The secrets line has a decode problem: validation's "at least one
	// secret is required" about the same line would only repeat it.
	if strings.Contains(msg, "at least one secret") {
		t.Errorf("validation repeats a decode problem:\n%s", msg)
	}
}

// A single problem is one line, for serve's start-up message.
func TestOneProblemIsOneLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hw.yaml")
	if err := os.WriteFile(path, []byte("sources:\n  - name: a\n    provider: stripe\n    secrets: [x]\n    tolerence: 5m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(path, env(nil))
	if err == nil {
		t.Fatal("no error")
	}
	if want := "config " + path + `: line 5: unknown key "tolerence" in sources[0]`; !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("got %q, want one line starting %q", err, want)
	}
}

// The defaults that lower packages apply when a field is zero are filled
// in (from the root package, which the engine applies too), so config show
// prints what runs.
func TestEffectiveDefaults(t *testing.T) {
	cfg, err := config.Parse([]byte(`
sources:
  - name: a
    provider: github
    secrets: [x]
destinations:
  - name: app
    url: http://127.0.0.1:3000/hook
    retry: {initial: 2h, classes: {validation_error: {max_attempts: 5}}}
routes:
  - {source: a, destinations: [app]}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Destinations[0]
	if d.Retry.MaxAge.D() != hookwatch.DefaultRetryMaxAge || d.Retry.Initial.D() != 2*time.Hour {
		t.Errorf("retry max_age %v initial %v", d.Retry.MaxAge, d.Retry.Initial)
	}
	// The engine raises max_backoff to initial when it is below: so does config.
	if d.Retry.MaxBackoff.D() != 2*time.Hour {
		t.Errorf("max_backoff %v, want the engine's effective 2h", d.Retry.MaxBackoff)
	}
	if d.Circuit.Failures != hookwatch.DefaultCircuitFailures || d.Circuit.Cooldown.D() != hookwatch.DefaultCircuitCooldown {
		t.Errorf("circuit %+v", d.Circuit)
	}
	if c := d.Retry.Classes["validation_error"]; c.MaxAttempts != 5 || c.Retry == nil || !*c.Retry {
		t.Errorf("configured class: %+v", c)
	}
	if c := d.Retry.Classes["permission_error"]; c.MaxAttempts != hookwatch.DefaultClassPolicies()[hookwatch.ClassPermission].MaxAttempts {
		t.Errorf("default class: %+v", c)
	}
	if _, ok := d.Retry.Classes["gone"]; ok {
		t.Error("gone has no retry setting, yet it is listed")
	}
	// That the engine runs what config shows is checked where the config
	// is translated for it (cmd/hookwatch/wire_test.go).

	if w := cfg.IngestWriters(); w != config.DefaultWritersSQLite {
		t.Errorf("sqlite writers %d", w)
	}
	cfg.Store = "postgres://db/hw"
	if w := cfg.IngestWriters(); w != config.DefaultWritersPostgres {
		t.Errorf("postgres writers %d", w)
	}
	cfg.Ingest.Writers = 5
	if w := cfg.IngestWriters(); w != 5 {
		t.Errorf("configured writers %d", w)
	}
	cfg.Ingest.Writers = 0
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"writers: 3", "max_age: 3d", "failures: 10", "cooldown: 30s", "quarantine: true"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("config show lacks %q:\n%s", w, out)
		}
	}
	for _, n := range []string{"writers: 0", "max_age: 0s", "failures: 0"} {
		if strings.Contains(string(out), n) {
			t.Errorf("config show prints %q instead of the default:\n%s", n, out)
		}
	}
}

// Filling defaults must not hide a negative value from validation.
func TestNegativeRetryStillReported(t *testing.T) {
	_, err := config.Parse([]byte("destinations:\n  - name: app\n    url: http://h/x\n    retry:\n      max_age: -1h\n    circuit:\n      failures: -1\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "retry.max_age: must not be negative") || !strings.Contains(err.Error(), "circuit.failures: must not be negative") {
		t.Fatalf("got %v", err)
	}
}
