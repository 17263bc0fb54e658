package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/config"
)

func TestRetention(t *testing.T) {
	day := 24 * time.Hour
	cfg, err := config.Parse([]byte(`
sources:
  - {name: stripe, provider: stripe, secrets: [x]}
  - name: gh
    provider: github
    secrets: [y]
    retention: {events: 1s}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Retention
	if r.Events.D() != 30*day || r.DeadLetters.D() != 90*day || r.MaxStoreSize != 0 || r.Every.D() != 10*time.Minute {
		t.Errorf("retention defaults: %+v", r)
	}
	if ev, dead := cfg.SourceRetention("stripe"); ev != 30*day || dead != 90*day {
		t.Errorf("stripe's retention %v %v; want the top-level one", ev, dead)
	}
	if ev, dead := cfg.SourceRetention("gh"); ev != time.Second || dead != 90*day {
		t.Errorf("gh's retention %v %v; want its own events and the top-level dead_letters", ev, dead)
	}

	cfg, err = config.Parse([]byte("retention: {events: 120d, max_store_size: 20GiB, every: 1s}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Retention.DeadLetters.D() != 120*day || cfg.Retention.MaxStoreSize != 20<<30 {
		t.Errorf("dead_letters follows a longer events: %+v", cfg.Retention)
	}

	for _, tc := range []struct{ yaml, want string }{
		{"retention:\n  events: 500ms\n", "line 2: retention.events: 500ms is too short (at least 1s)"},
		{"retention:\n  events: 10d\n  dead_letters: 5d\n", "line 3: retention.dead_letters: 5d is shorter than retention.events (10d)"},
		{"retention:\n  every: -1m\n", "retention.every"},
		{"sources:\n  - name: a\n    provider: github\n    secrets: [x]\n    retention: {events: 100d}\n", "sources[0].retention.dead_letters: 90d is shorter than the source's events retention (100d)"},
		{"sources:\n  - name: a\n    provider: github\n    secrets: [x]\n    retention: {keep: 1d}\n", `"keep"`},
		{"alerts:\n  rules:\n    - {name: d, kind: disk_free, per: destination}\n", "a disk_free rule is about the store as a whole"},
		{"alerts:\n  rules:\n    - {name: s, kind: store_size, threshold: 2}\n", "without size, a fraction between 0 and 1"},
	} {
		_, err := config.Parse([]byte(tc.yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want %q", tc.yaml, err, tc.want)
		}
	}
}
