package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
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

// sentryTest is what POST /api/webhook-sentry-test[?force=true] calls:
// the monitor's test event; nil when Sentry is off.
func sentryTest(m *monitor.Monitor) func(ctx context.Context, force bool) (any, error) {
	if !m.Enabled() {
		return nil
	}
	return func(ctx context.Context, force bool) (any, error) {
		res, err := m.SendTest(ctx, force, 5*time.Second)
		if err == nil && !res.Delivered && !res.Dropped {
			// Not accepted by Sentry: an error, which says what failed.
			return nil, hookwatch.Errorf(hookwatch.EUNAVAILABLE, "sentry test: %s", res.Message)
		}
		return res, err
	}
}

func runSentryTest(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "sentry test", `Sends a clearly marked test error to Sentry through the real pipeline (the
before-send filter, scrubbing, the transport) and prints its event ID and
trace ID. It reports delivered only when Sentry answered 2xx for that
envelope; otherwise it says what failed (connection refused, 401/403: a bad
DSN key, 429: rate limited with its Retry-After, 413, 5xx) and exits 1. In
the production environment the filter drops test events: --force sends it
anyway. The DSN comes from sentry.dsn in the config, or SENTRY_DSN.`)
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
		if err := enc.Encode(res); err != nil {
			return err
		}
		if !res.Delivered && !res.Dropped {
			return hookwatch.Errorf(hookwatch.EUNAVAILABLE, "sentry test: not delivered (%s)", res.Reason)
		}
		return nil
	}
	if res.Dropped {
		fmt.Fprintf(env.Stdout, "not sent: %s\ntrace ID:    %s\n", res.Message, res.TraceID)
		return nil
	}
	fmt.Fprintf(env.Stdout, "event ID:    %s\ntrace ID:    %s\nenvironment: %s\n%s\n", res.EventID, res.TraceID, res.Environment, res.Message)
	if !res.Delivered {
		return hookwatch.Errorf(hookwatch.EUNAVAILABLE, "sentry test: not delivered (%s)", res.Reason)
	}
	return nil
}
