package config

import (
	"fmt"
	"net"
	"net/url"
)

// Dashboard says how browsers reach the dashboard on the admin listener.
type Dashboard struct {
	// BaseURL is the address browsers use for the dashboard: the admin
	// listener, or a proxy in front of it. With https, cookies are Secure;
	// its origin is accepted on form POSTs even when a proxy rewrites Host.
	// Defaults to alerts.base_url (the same address: notifications link
	// to it).
	BaseURL string `yaml:"base_url"`
	// TrustForwardedProto believes a request's X-Forwarded-Proto: https
	// and sets Secure cookies on it. Only for a proxy that always sets the
	// header itself: otherwise any client can send it. Off by default.
	TrustForwardedProto bool `yaml:"trust_forwarded_proto"`
}

// MinAdminToken is the shortest admin_token accepted when admin_listen is
// reachable from other hosts: 32 hex characters are 128 random bits.
const MinAdminToken = 32

func (c *Config) setDashboardDefaults() {
	if c.Dashboard.BaseURL == "" {
		c.Dashboard.BaseURL = c.Alerts.BaseURL
	}
}

// validateAdmin checks the admin listener's exposure: a short admin_token
// is refused on a listener other hosts can reach, and dashboard.base_url
// must be an http(s) URL.
func (c *Config) validateAdmin(bad func(path, format string, args ...any)) {
	if n := len(c.AdminToken); n > 0 && n < MinAdminToken && !loopback(c.AdminListen) {
		bad("admin_token", "too short (%d characters) for admin_listen %q, which other hosts can reach: use at least %d random characters, "+
			"for example the output of `openssl rand -hex 32`", n, c.AdminListen, MinAdminToken)
	}
	// A value defaulted from alerts.base_url is reported there.
	if b := c.Dashboard.BaseURL; b != "" && b != c.Alerts.BaseURL {
		if u, err := url.Parse(b); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("dashboard.base_url", "%q is not an http(s) URL (for example https://hookwatch.example.com)", b)
		}
	}
}

// Warnings lists settings that are accepted but unwise, for serve to log
// at start.
func (c *Config) Warnings() []string {
	var w []string
	if n := len(c.AdminToken); n > 0 && n < MinAdminToken {
		w = append(w, fmt.Sprintf("admin_token is short (%d characters): accepted because admin_listen %q is loopback, but use at least %d random "+
			"characters (openssl rand -hex 32) before the admin listener is reachable from elsewhere", n, c.AdminListen, MinAdminToken))
	}
	return w
}

// loopback reports whether addr (host:port) listens only on the loopback
// interface: "localhost" or a loopback IP. An empty host ("":8081) or
// 0.0.0.0 listens on every interface; other host names are assumed
// reachable, since what they resolve to can change.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
