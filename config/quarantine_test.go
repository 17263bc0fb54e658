package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
)

func TestQuarantineConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(`
sources:
  - {name: a, provider: github, secrets: [x]}
  - {name: b, provider: github, secrets: [x], quarantine: false}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	q := cfg.Quarantine
	if q.MaxCount != hookwatch.DefaultQuarantineMaxCount || q.MaxAge.D() != 7*24*time.Hour || q.MaxBody != hookwatch.DefaultQuarantineMaxBody ||
		q.MaxBytes != 256<<20 || q.Rate != 20 || q.Burst != hookwatch.DefaultQuarantineBurst {
		t.Errorf("defaults: %+v", q)
	}
	if !cfg.Sources[0].Quarantined() || cfg.Sources[1].Quarantined() {
		t.Errorf("per-source switch: a=%v b=%v", cfg.Sources[0].Quarantined(), cfg.Sources[1].Quarantined())
	}

	cfg, err = config.Parse([]byte("quarantine: {max_count: 50, max_age: 2d, max_body: 8KiB}\n"), env(nil))
	if err != nil || cfg.Quarantine.MaxCount != 50 || cfg.Quarantine.MaxAge.D() != 48*time.Hour || cfg.Quarantine.MaxBody != 8<<10 {
		t.Errorf("set: %+v, %v", cfg.Quarantine, err)
	}

	_, err = config.Parse([]byte("quarantine:\n  max_count: -1\n  max_age: -1h\n  max_body: 0\n  max_size: 3\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), `unknown key "max_size" in quarantine`) {
		t.Errorf("unknown key: %v", err)
	}
	_, err = config.Parse([]byte("quarantine:\n  max_count: -1\n  max_age: -1h\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "line 2: quarantine.max_count") || !strings.Contains(err.Error(), "line 3: quarantine.max_age") {
		t.Errorf("bad bounds: %v", err)
	}
}

// The byte budget, the kept-body cap that must fit it, and the intake rate.
func TestQuarantineBudgetConfig(t *testing.T) {
	cfg, err := config.Parse([]byte("quarantine: {max_bytes: 32MiB, max_body: 1MiB, rate: 2.5, burst: 10}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if q := cfg.Quarantine; q.MaxBytes != 32<<20 || q.MaxBody != 1<<20 || q.Rate != 2.5 || q.Burst != 10 {
		t.Errorf("set: %+v", q)
	}
	// A budget smaller than the default body cap gets a cap that fits it.
	cfg, err = config.Parse([]byte("quarantine: {max_bytes: 16KiB}\n"), env(nil))
	if err != nil || cfg.Quarantine.MaxBody != 16<<10 {
		t.Errorf("small budget: max_body %d, %v; want 16KiB", cfg.Quarantine.MaxBody, err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"quarantine:\n  max_bytes: 1MiB\n  max_body: 2MiB\n", "line 3: quarantine.max_body: 2MiB is more than quarantine.max_bytes (1MiB)"},
		{"quarantine:\n  rate: -1\n", "line 2: quarantine.rate: -1 must be positive"},
		{"quarantine:\n  max_count: 5\n  burst: -3\n", "line 3: quarantine.burst: -3 must be positive"},
		{"quarantine:\n  max_bytes: lots\n", `line 2: quarantine.max_bytes: bad size "lots"`},
	} {
		_, err := config.Parse([]byte(tc.yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
