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
	if q.MaxCount != hookwatch.DefaultQuarantineMaxCount || q.MaxAge.D() != 7*24*time.Hour || q.MaxBody != hookwatch.DefaultQuarantineMaxBody {
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
