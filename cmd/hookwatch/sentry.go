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

func runSentrySetup(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "sentry setup", `Creates or updates, by name, Hookwatch's alert rules in a Sentry project through
Sentry's public API:
  - an issue alert: webhook errors (events tagged service:webhooks) seen more
    than 10 times in an hour;
  - metric alerts on the ingest (POST /in/{source}) and the delivery
    (queue.process) transactions: failure rate above 5 % and p95 duration
    above 5 s, over an hour.
A second run changes nothing; a rule edited in Sentry is put back. Alerts go
where --notify says (repeat it): email:ADDRESS (a member of the organization)
or slack:#CHANNEL (through the organization's Slack integration).

The auth token comes from SENTRY_AUTH_TOKEN (Settings > Auth Tokens), with the
scopes alerts:write, plus member:read for email targets and org:read for Slack.
--url or SENTRY_URL points at a self-hosted Sentry (as sentry-cli reads them).
--dry-run reads what exists (GET requests only) and prints the requests it
would send, sending none.

Example:
  SENTRY_AUTH_TOKEN=sntrys_... hookwatch sentry setup --org acme --project webhooks \
    --notify email:oncall@acme.example --notify slack:#webhooks`)
	org := fs.String("org", "", "the organization's slug (required)")
	project := fs.String("project", "", "the project's slug (required)")
	base := fs.String("url", "", "Sentry's URL (default SENTRY_URL, else https://sentry.io)")
	dry := fs.Bool("dry-run", false, "print the requests that would be sent; send none (reads still happen)")
	asJSON := fs.Bool("json", false, "print the steps as JSON")
	var notify stringList
	fs.Var(&notify, "notify", "where alerts go: email:ADDRESS or slack:#CHANNEL (repeat for several)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *org == "" || *project == "" {
		return hookwatch.Errorf(hookwatch.EINVALID, "sentry setup: --org and --project are required (the slugs in your Sentry URLs)")
	}
	token, _ := env.Getenv("SENTRY_AUTH_TOKEN")
	if token == "" {
		return hookwatch.Errorf(hookwatch.EINVALID, "sentry setup: set SENTRY_AUTH_TOKEN to a Sentry auth token with the alerts:write scope (Settings > Auth Tokens)")
	}
	if *base == "" {
		*base, _ = env.Getenv("SENTRY_URL")
	}
	steps, err := monitor.Setup(ctx, monitor.SetupOptions{URL: *base, Token: token, Org: *org, Project: *project,
		Notify: notify, DryRun: *dry})
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if steps == nil {
			steps = []monitor.SetupStep{}
		}
		if e := enc.Encode(steps); e != nil && err == nil {
			err = e
		}
	} else {
		for _, s := range steps {
			verb := map[string]string{"create": "created", "update": "updated", "unchanged": "unchanged"}[s.Action]
			if *dry && s.Action != "unchanged" {
				verb = "would " + s.Action
			}
			fmt.Fprintf(env.Stdout, "%-14s %s: %s\n", verb, s.Kind, s.Name)
			if *dry && s.Method != "" {
				fmt.Fprintf(env.Stdout, "  %s %s\n  %s\n", s.Method, s.URL, s.Body)
			}
		}
	}
	if err != nil {
		return hookwatch.Errorf(hookwatch.EUNAVAILABLE, "%v", err)
	}
	return nil
}
