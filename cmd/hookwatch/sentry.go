package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/monitor"
)

// applySentryEnv fills the Sentry DSN from SENTRY_DSN when the config has
// none: the one place the SDK's usual variable is read.
func applySentryEnv(env *Env, cfg *config.Config) {
	if cfg.Sentry.DSN != "" {
		return
	}
	if v, ok := env.Getenv("SENTRY_DSN"); ok {
		cfg.Sentry.DSN = v
	}
}

// newMonitor builds the Sentry monitor from the config on top of base
// (History...); it is disabled, and costs nothing, without a DSN.
func newMonitor(cfg *config.Config, base monitor.Options) (*monitor.Monitor, error) {
	s := cfg.Sentry
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	o := base
	o.DSN = s.DSN
	o.Environment = s.Environment
	o.Release = s.Release
	o.SampleRate = s.SentrySampleRate()
	o.TracesSampleRate = s.TracesSampleRate
	o.TracesBySource = s.TracesBySource
	o.SendPayload = s.SendPayload
	o.Logs = s.Logs
	o.LogLevel = level
	o.UserPaths = s.Users
	o.Tags = s.Tags
	o.RejectInterval = s.SignatureFailureInterval.D()
	o.Secrets = configSecrets(cfg)
	o.DestinationURLs = map[string]string{}
	for _, d := range cfg.Destinations {
		o.DestinationURLs[d.Name] = d.URL
	}
	m, err := monitor.New(o)
	if err != nil {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "sentry: %v", err)
	}
	return m, nil
}

// configSecrets lists every secret value of the config, for the monitor to
// scrub from whatever it sends.
func configSecrets(cfg *config.Config) []string {
	out := []string{cfg.AdminToken}
	for _, s := range cfg.Sources {
		out = append(out, s.Secrets...)
		for k, v := range s.Options {
			if isSecretOption(k) {
				out = append(out, v)
			}
		}
	}
	for _, d := range cfg.Destinations {
		out = append(out, d.Secret)
		for _, v := range d.Headers {
			out = append(out, v)
		}
		if u, err := url.Parse(d.URL); err == nil {
			if p, ok := u.User.Password(); ok {
				out = append(out, p)
			}
		}
	}
	if u, err := url.Parse(cfg.Store); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	return out
}

func isSecretOption(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"secret", "token", "password", "key"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// sentryReject reports verification failures to Sentry (rate-limited per
// source by the monitor); nil when Sentry is off.
func sentryReject(m *monitor.Monitor) func(context.Context, ingest.Rejection) {
	if !m.Enabled() {
		return nil
	}
	return func(ctx context.Context, r ingest.Rejection) {
		m.Rejected(ctx, r.Source, r.Provider, string(r.Reason), r.Err)
	}
}

// sentryTest is what POST /api/webhook-sentry-test[?force=true] calls:
// the monitor's test event; nil when Sentry is off.
func sentryTest(m *monitor.Monitor) func(ctx context.Context, force bool) (any, error) {
	if !m.Enabled() {
		return nil
	}
	return func(ctx context.Context, force bool) (any, error) {
		return m.SendTest(ctx, force, 5*time.Second)
	}
}

func runSentryTest(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "sentry test", `Sends a clearly marked test error to Sentry through the real pipeline (the
before-send filter, scrubbing, the transport) and prints its event ID and
trace ID. In the production environment the filter drops test events: --force
sends it anyway. The DSN comes from sentry.dsn in the config, or SENTRY_DSN.`)
	path := configFlag(fs, "")
	force := fs.Bool("force", false, "send even in production, where the filter drops test events")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(env, *path)
	if err != nil {
		return err
	}
	m, err := newMonitor(cfg, monitor.Options{})
	if err != nil {
		return err
	}
	if !m.Enabled() {
		return hookwatch.Errorf(hookwatch.EINVALID, "sentry is not configured: set sentry.dsn in %s or SENTRY_DSN", *path)
	}
	defer m.Close()
	res, err := m.SendTest(ctx, *force, 10*time.Second)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	if res.Dropped {
		fmt.Fprintf(env.Stdout, "not sent: %s\ntrace ID:    %s\n", res.Message, res.TraceID)
		return nil
	}
	fmt.Fprintf(env.Stdout, "event ID:    %s\ntrace ID:    %s\nenvironment: %s\n%s\n", res.EventID, res.TraceID, res.Environment, res.Message)
	if !res.Delivered {
		return fmt.Errorf("sentry test: the event was not sent in time")
	}
	return nil
}
