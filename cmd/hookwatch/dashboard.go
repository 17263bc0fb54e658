package main

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/server"
	"github.com/hookwatch/hookwatch/web"
)

// withDashboard serves the web dashboard on the admin listener, and lets
// users' API tokens call the admin API.
func withDashboard(o *server.Options, cfg *config.Config, store hookwatch.Store, engine *deliver.Engine, logger *slog.Logger) error {
	rel, err := newReleaser(cfg, store)
	if err != nil {
		return err
	}
	var sources []string
	for _, s := range cfg.Sources {
		sources = append(sources, s.Name)
	}
	var dests []web.Destination
	for _, d := range cfg.DeliverDestinations() {
		dests = append(dests, web.Destination{Name: d.Name, URL: displayURL(d.URL)})
	}
	h, err := web.New(web.Options{Store: store, Sources: sources, Destinations: dests, Control: engine, Releaser: rel, Readiness: o.Readiness, Logger: logger})
	if err != nil {
		return err
	}
	o.Dashboard = h
	o.Tokens = tokenChecker(store)
	return nil
}

// displayURL is a destination URL safe to show: credentials and query
// values (an app's key is often put there) are left out.
func displayURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	u.Fragment = ""
	return u.String()
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
