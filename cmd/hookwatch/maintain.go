package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/alert"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/maintain"
	"github.com/hookwatch/hookwatch/monitor"
	"github.com/hookwatch/hookwatch/quarantine"
	"github.com/hookwatch/hookwatch/readiness"
)

// newMaintenance returns the runner of every periodic job (maintain): event
// retention, dedupe key expiry, quarantine bounds, failure pruning and alert
// evaluation, on the instance that leads the store.
func newMaintenance(cfg *config.Config, store hookwatch.Store, q *quarantine.Writer, ev *alert.Evaluator, mon *monitor.Monitor, logger *slog.Logger) *maintain.Runner {
	janitor := &ingest.DedupeJanitor{Store: store}
	return &maintain.Runner{Leader: sharedLeader(store), CheckIn: mon.CheckIns(), Logger: logger, Jobs: []maintain.Job{
		newRetention(cfg, store, logger).Job(cfg.Retention.Every.D()),
		{Job: hookwatch.Job{Slug: ingest.DedupeJanitorSlug, Every: ingest.DedupeJanitorEvery}, Run: func(ctx context.Context, now time.Time) error {
			n, err := janitor.RunOnce(ctx, now)
			if n > 0 {
				logger.Info("dedupe keys past their horizon forgotten", "count", n)
			}
			return err
		}},
		{Job: hookwatch.Job{Slug: quarantine.PruneSlug, Every: quarantine.PruneEvery}, Run: func(ctx context.Context, now time.Time) error {
			_, err := q.Prune(ctx, now)
			return err
		}},
		{Job: hookwatch.Job{Slug: alert.PruneSlug, Every: ev.PruneEvery()}, Run: func(ctx context.Context, now time.Time) error {
			_, err := ev.PruneFailures(ctx, now)
			return err
		}},
		{Job: hookwatch.Job{Slug: alert.EvaluationSlug, Every: ev.Interval()}, CheckInEvery: alert.CheckInEvery, Run: ev.TickAt},
	}}
}

// newRetention is the config's retention as the runner's job.
func newRetention(cfg *config.Config, store hookwatch.RetentionStore, logger *slog.Logger) *maintain.Retention {
	r := &maintain.Retention{Store: store, Logger: logger, MaxStoreSize: int64(cfg.Retention.MaxStoreSize),
		Default: maintain.Policy{Events: cfg.Retention.Events.D(), DeadLetters: cfg.Retention.DeadLetters.D()}}
	for _, s := range cfg.Sources {
		if s.Retention != nil {
			if r.Sources == nil {
				r.Sources = map[string]maintain.Policy{}
			}
			events, dead := cfg.SourceRetention(s.Name)
			r.Sources[s.Name] = maintain.Policy{Events: events, DeadLetters: dead}
		}
	}
	return r
}

// storageFigures gives the store_size and disk_free alert rules the
// readiness watcher's latest sample and the retention budget.
func storageFigures(cfg *config.Config, w *readiness.Watcher) func(context.Context) (alert.Storage, error) {
	return func(context.Context) (alert.Storage, error) {
		st := w.Status().Storage
		out := alert.Storage{FreeBytes: st.FreeBytes, TotalBytes: st.TotalBytes, Budget: int64(cfg.Retention.MaxStoreSize)}
		if st.Store != nil {
			used := st.Store.Used
			out.UsedBytes = &used
		}
		return out, nil
	}
}
