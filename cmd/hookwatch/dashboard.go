package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/quarantine"
	"github.com/hookwatch/hookwatch/server"
	"github.com/hookwatch/hookwatch/web"
)

// withDashboard serves the web dashboard on the admin listener, and lets
// users' API tokens call the admin API. It also logs what the config
// allows on the admin listener but should not (a short admin_token).
func withDashboard(o *server.Options, cfg *config.Config, store hookwatch.Store, engine *deliver.Engine, rel *quarantine.Releaser, logger *slog.Logger) error {
	for _, w := range cfg.Warnings() {
		logger.Warn(w)
	}
	var sources []string
	for _, s := range cfg.Sources {
		sources = append(sources, s.Name)
	}
	var dests []web.Destination
	for _, d := range cfg.Destinations {
		dests = append(dests, web.Destination{Name: d.Name, URL: hookwatch.RedactURL(d.URL), Settings: destinationSettings(d),
			Ordered: d.Ordering != nil, OnDead: orderingOnDead(d.Ordering)})
	}
	h, err := web.New(web.Options{Store: store, Sources: sources, Destinations: dests, SourceSettings: sourceSettings(cfg),
		Control: engine, Releaser: rel, Readiness: o.Readiness, Logger: logger,
		BaseURL: cfg.Dashboard.BaseURL, TrustForwardedProto: cfg.Dashboard.TrustForwardedProto,
		AlertRules: alertRules(cfg), ErrorReporter: o.ErrorReporter})
	if err != nil {
		return err
	}
	o.Dashboard = h
	o.Tokens = tokenChecker(store)
	return nil
}

// sourceSettings summarise each source's configuration for its dashboard
// page: never a secret's value, only how many there are; option names
// without their values (some are credentials).
func sourceSettings(cfg *config.Config) map[string][]web.Setting {
	out := map[string][]web.Setting{}
	for _, s := range cfg.Sources {
		set := []web.Setting{{Name: "provider", Value: s.Provider}, {Name: "secrets", Value: fmt.Sprintf("%d configured (values not shown)", len(s.Secrets))}}
		if s.Tolerance != 0 {
			set = append(set, web.Setting{Name: "tolerance", Value: config.FormatDuration(s.Tolerance.D())})
		}
		if s.MaxBody != 0 {
			set = append(set, web.Setting{Name: "max_body", Value: fmt.Sprintf("%d bytes", s.MaxBody)})
		}
		if s.Dedupe != "" {
			set = append(set, web.Setting{Name: "dedupe", Value: s.Dedupe})
		}
		if s.DedupeHorizon != 0 {
			set = append(set, web.Setting{Name: "dedupe_horizon", Value: config.FormatDuration(s.DedupeHorizon.D())})
		}
		set = append(set, web.Setting{Name: "quarantine", Value: fmt.Sprint(s.Quarantined())})
		if s.PublicURL != "" {
			set = append(set, web.Setting{Name: "public_url", Value: hookwatch.RedactURL(s.PublicURL)})
		}
		if len(s.Options) > 0 {
			set = append(set, web.Setting{Name: "options", Value: strings.Join(slices.Sorted(maps.Keys(s.Options)), ", ") + " (values not shown)"})
		}
		for _, r := range cfg.Routes {
			if r.Source != s.Name {
				continue
			}
			v := "to " + strings.Join(r.Destinations, ", ")
			if len(r.Types) > 0 {
				v += " (types " + strings.Join(r.Types, ", ") + ")"
			}
			set = append(set, web.Setting{Name: "route", Value: v})
		}
		out[s.Name] = set
	}
	return out
}

// destinationSettings summarise a destination's configuration for its
// dashboard page: header names without their values, whether a signing
// secret is set, never the secret.
func destinationSettings(d config.Destination) []web.Setting {
	set := []web.Setting{{Name: "url", Value: hookwatch.RedactURL(d.URL)}, {Name: "timeout", Value: config.FormatDuration(d.Timeout.D())},
		{Name: "max_in_flight", Value: fmt.Sprint(d.MaxInFlight)}}
	if d.RateLimit > 0 {
		set = append(set, web.Setting{Name: "rate_limit", Value: fmt.Sprintf("%g per second", d.RateLimit)})
	}
	secret := "not set: deliveries are not signed"
	if d.Secret != "" {
		secret = "set (value not shown)"
	}
	set = append(set, web.Setting{Name: "secret", Value: secret})
	if len(d.Headers) > 0 {
		set = append(set, web.Setting{Name: "headers", Value: strings.Join(slices.Sorted(maps.Keys(d.Headers)), ", ") + " (values not shown)"})
	}
	if len(d.KeepHeaders) > 0 {
		set = append(set, web.Setting{Name: "keep_headers", Value: strings.Join(d.KeepHeaders, ", ")})
	}
	r := d.Retry
	set = append(set, web.Setting{Name: "retry", Value: fmt.Sprintf("at most %d attempts over %s, backoff %s to %s", r.MaxAttempts,
		config.FormatDuration(r.MaxAge.D()), config.FormatDuration(r.Initial.D()), config.FormatDuration(r.MaxBackoff.D()))})
	set = append(set, web.Setting{Name: "circuit", Value: fmt.Sprintf("opens after %d failures in a row, first probe after %s",
		d.Circuit.Failures, config.FormatDuration(d.Circuit.Cooldown.D()))})
	if o := d.Ordering; o != nil {
		set = append(set, web.Setting{Name: "ordering", Value: fmt.Sprintf("one at a time per key %s, on_dead %s", o.Key, orderingOnDead(o))})
	}
	return set
}

// tokenChecker accepts the API tokens stored by `hookwatch tokens add`.
func tokenChecker(store hookwatch.UserStore) server.TokenChecker {
	return func(ctx context.Context, token string) (string, bool) {
		t, err := store.GetAPIToken(ctx, hookwatch.HashToken(token), time.Now())
		if err != nil {
			return "", false
		}
		return t.User, true
	}
}
