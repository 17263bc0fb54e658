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
