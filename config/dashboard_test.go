package config_test

import (
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch/config"
)

// A short admin_token is refused when other hosts can reach the admin
// listener (the error names the line and how to make a good one), and only
// warned about on loopback.
func TestAdminTokenLength(t *testing.T) {
	long := strings.Repeat("f", config.MinAdminToken)
	for _, tc := range []struct {
		listen, token string
		fails, warns  bool
	}{
		{"0.0.0.0:8081", "sh0rt", true, false},
		{":8081", "short-token-31-characters-long!", true, false},
		{"192.0.2.10:8081", "sh0rt", true, false},
		{"[::]:8081", "sh0rt", true, false},
		{"admin.internal:8081", "sh0rt", true, false},
		{"0.0.0.0:8081", long, false, false},
		{"0.0.0.0:8081", "", false, false}, // no token: the API is disabled
		{"127.0.0.1:8081", "sh0rt", false, true},
		{"[::1]:8081", "sh0rt", false, true},
		{"localhost:8081", "sh0rt", false, true},
		{"127.0.0.1:8081", long, false, false},
	} {
		yaml := "admin_listen: \"" + tc.listen + "\"\nadmin_token: \"${TOKEN}\"\n"
		cfg, err := config.Parse([]byte(yaml), env(map[string]string{"TOKEN": tc.token}))
		if tc.fails {
			if err == nil {
				t.Errorf("%s with a %d-character token: accepted, want an error", tc.listen, len(tc.token))
				continue
			}
			for _, want := range []string{"line 2: admin_token", "at least 32", "openssl rand -hex 32"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %q lacks %q", tc.listen, err, want)
				}
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Errorf("the error shows the token: %q", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s with a %d-character token: %v", tc.listen, len(tc.token), err)
			continue
		}
		if w := cfg.Warnings(); (len(w) > 0) != tc.warns || tc.warns && !strings.Contains(w[0], "openssl rand -hex 32") {
			t.Errorf("%s with a %d-character token: warnings %q, want some: %v", tc.listen, len(tc.token), w, tc.warns)
		}
	}
}

// dashboard.base_url defaults to alerts.base_url, and is checked.
func TestDashboardBaseURL(t *testing.T) {
	cfg, err := config.Parse([]byte("alerts:\n  base_url: https://hookwatch.example\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dashboard.BaseURL != "https://hookwatch.example" || cfg.Dashboard.TrustForwardedProto {
		t.Errorf("dashboard = %+v, want base_url from alerts, trust_forwarded_proto off", cfg.Dashboard)
	}
	cfg, err = config.Parse([]byte("alerts:\n  base_url: https://alerts.example\ndashboard:\n  base_url: https://dash.example\n  trust_forwarded_proto: true\n"), env(nil))
	if err != nil || cfg.Dashboard.BaseURL != "https://dash.example" || !cfg.Dashboard.TrustForwardedProto {
		t.Errorf("dashboard = %+v, %v", cfg.Dashboard, err)
	}
	_, err = config.Parse([]byte("dashboard:\n  base_url: hookwatch.example\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "line 2: dashboard.base_url") {
		t.Errorf("base_url without scheme: %v, want an error on line 2", err)
	}
}
