package config

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Sentry configures error, performance, log and cron reporting to Sentry
// (docs/sentry.md). Without a DSN nothing is sent.
type Sentry struct {
	// DSN is the project's DSN; the binary falls back to SENTRY_DSN.
	DSN string `yaml:"dsn" secret:"true"`
	// Environment is sent with everything; default "production". Test
	// events are dropped in production.
	Environment string `yaml:"environment"`
	// Release defaults to hookwatch@<version>.
	Release string `yaml:"release"`
	// SampleRate is the share of error events sent; default 1.
	SampleRate *float64 `yaml:"sample_rate"`
	// TracesSampleRate is the share of ingest requests traced, with the
	// deliveries of their events; default 0 (no tracing).
	TracesSampleRate float64 `yaml:"traces_sample_rate"`
	// TracesBySource overrides TracesSampleRate per source name.
	TracesBySource map[string]float64 `yaml:"traces_by_source"`
	// SendPayload attaches event bodies to dead-letter errors; default off.
	SendPayload bool `yaml:"send_payload"`
	// Logs sends log records to Sentry Logs.
	Logs bool `yaml:"logs"`
	// Users maps a source name to the JSON path of the user in its
	// payloads ("data.object.customer" for Stripe).
	Users map[string]string `yaml:"users"`
	// Tags are added to every event and transaction.
	Tags map[string]string `yaml:"tags"`
	// SignatureFailureInterval is the least time between two
	// signature-failure events of one source; default 1m.
	SignatureFailureInterval Duration `yaml:"signature_failure_interval"`
}

var jsonPath = regexp.MustCompile(`^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$`)

func (c *Config) validateSentry(bad func(path, format string, args ...any)) {
	s := c.Sentry
	if s.DSN != "" {
		u, err := url.Parse(s.DSN)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User == nil || u.Host == "" || strings.Trim(u.Path, "/") == "" {
			bad("sentry.dsn", "not a Sentry DSN (https://PUBLIC_KEY@HOST/PROJECT_ID, from the project's Client Keys page)")
		}
	}
	if s.SampleRate != nil && (*s.SampleRate <= 0 || *s.SampleRate > 1) {
		bad("sentry.sample_rate", "%g is out of range (0, 1]; to send nothing, remove the DSN", *s.SampleRate)
	}
	if s.TracesSampleRate < 0 || s.TracesSampleRate > 1 {
		bad("sentry.traces_sample_rate", "%g is out of range 0..1", s.TracesSampleRate)
	}
	for _, name := range sortedKeys(s.TracesBySource) {
		if r := s.TracesBySource[name]; r < 0 || r > 1 {
			bad("sentry.traces_by_source."+name, "%g is out of range 0..1", r)
		}
		if _, ok := c.Source(name); !ok {
			bad("sentry.traces_by_source."+name, "no source named %q", name)
		}
	}
	for _, name := range sortedKeys(s.Users) {
		if _, ok := c.Source(name); !ok {
			bad("sentry.users."+name, "no source named %q", name)
		}
		if !jsonPath.MatchString(s.Users[name]) {
			bad("sentry.users."+name, "%q is not a dotted JSON path (like data.object.customer)", s.Users[name])
		}
	}
	if s.SignatureFailureInterval < 0 {
		bad("sentry.signature_failure_interval", "must not be negative")
	}
	if strings.ContainsAny(s.Environment, "/\n") || len(s.Environment) > 64 {
		bad("sentry.environment", "%q: at most 64 characters, no slash or newline", s.Environment)
	}
}

// SentrySampleRate returns the configured error sample rate (1 by default).
func (s Sentry) SentrySampleRate() float64 {
	if s.SampleRate == nil {
		return 1
	}
	return *s.SampleRate
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
