package main

import (
	"context"
	"log/slog"
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
		dests = append(dests, web.Destination{Name: d.Name, URL: hookwatch.RedactURL(d.URL),
			Ordered: d.Ordering != nil, OnDead: orderingOnDead(d.Ordering)})
	}
	h, err := web.New(web.Options{Store: store, Sources: sources, Destinations: dests, Control: engine, Releaser: rel, Readiness: o.Readiness, Logger: logger,
		BaseURL: cfg.Dashboard.BaseURL, TrustForwardedProto: cfg.Dashboard.TrustForwardedProto,
		AlertRules: alertRules(cfg), ErrorReporter: o.ErrorReporter})
	if err != nil {
		return err
	}
	o.Dashboard = h
	o.Tokens = tokenChecker(store)
	return nil
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
