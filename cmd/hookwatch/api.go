package main

import (
	"context"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/alert"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/monitor"
	"github.com/hookwatch/hookwatch/quarantine"
	"github.com/hookwatch/hookwatch/server"
)

// withAPI gives the admin API what its handlers call (server.Options):
// the engine, the alert evaluator, the quarantine releaser and the
// monitor, as the values package server takes (it imports none of alert,
// quarantine and monitor).
func withAPI(o *server.Options, cfg *config.Config, store hookwatch.Store, engine *deliver.Engine, ev *alert.Evaluator,
	rl *quarantine.Releaser, m *monitor.Monitor) {
	o.Store = store
	o.Engine = engine
	o.ErrorReporter = m.Reporter()
	o.Health = func(ctx context.Context) (any, error) { return alert.Health(ctx, store, time.Now().UTC()) }
	o.AlertRules = apiAlertRules(cfg)
	o.TestChannel = ev.SendTest
	o.Release = release(rl)
	o.SentryTest = sentryTest(m)
}
