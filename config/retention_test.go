package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
)

func TestFailureRetentionConfig(t *testing.T) {
	cfg, err := config.Parse([]byte("sources:\n  - {name: a, provider: github, secrets: [x]}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Alerts.Retention
	if r.MaxAge.D() != hookwatch.DefaultFailureMaxAge || r.MaxCount != hookwatch.DefaultFailureMaxCount || r.Every.D() != 10*time.Minute {
		t.Errorf("defaults: %+v", r)
	}

	cfg, err = config.Parse([]byte("alerts:\n  retention: {max_age: 2d, max_count: 5000, every: 1m}\n"), env(nil))
	if r := cfg.Alerts.Retention; err != nil || r.MaxAge.D() != 48*time.Hour || r.MaxCount != 5000 || r.Every.D() != time.Minute {
		t.Errorf("set: %+v, %v", r, err)
	}

	for _, tc := range []struct{ yaml, want string }{
		// The default rules' SLO reads its long window plus its objective.
		{"alerts:\n  retention:\n    max_age: 30m\n", "line 3: alerts.retention.max_age: must be at least 1h1m, the longest window read (alerts.rules[8] (delivery-slo))"},
		{"alerts:\n  retention:\n    max_age: 30m\n  rules:\n    - {name: f, kind: failures, threshold: 1, window: 5m}\n",
			"line 3: alerts.retention.max_age: must be at least 1h, the longest window read (the health report's 1h window)"},
		{"alerts:\n  retention:\n    max_age: 12h\n  rules:\n    - {name: daily, kind: failures, threshold: 100, window: 1d}\n",
			"alerts.retention.max_age: must be at least 24h, the longest window read (alerts.rules[0] (daily))"},
		{"alerts:\n  retention:\n    max_count: -1\n", "line 3: alerts.retention.max_count: must be positive"},
		{"alerts:\n  retention:\n    every: 10ms\n", "line 3: alerts.retention.every: must be at least 1s"},
	} {
		if _, err := config.Parse([]byte(tc.yaml), env(nil)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v\nwant %q", tc.yaml, err, tc.want)
		}
	}
}
