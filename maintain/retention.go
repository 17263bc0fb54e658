package maintain

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/hookwatch/hookwatch"
)

// RetentionSlug is the retention job's cron monitor slug.
const RetentionSlug = "hookwatch-retention"

// Policy is how long finished events are kept (docs/configuration.md#retention).
type Policy struct {
	// Events is how long an event whose every delivery succeeded (or that
	// has none: filtered) is kept; DeadLetters, one with a dead delivery.
	Events, DeadLetters time.Duration
}

// cutoff is the policy's cutoffs at now.
func (p Policy) cutoff(now time.Time) hookwatch.RetentionCutoff {
	return hookwatch.RetentionCutoff{Finished: now.Add(-p.Events), Dead: now.Add(-p.DeadLetters), Now: now}
}

// Retention removes finished events past their policy, and the oldest
// finished ones while the store is over its budget: Run is the periodic
// job. Deletes go a batch at a time (each a short transaction, so the
// receive path's commits pass between two), then the freed space is given
// back to the file system where the store can (SQLite's incremental
// vacuum).
//
// Dedupe keys are not removed with their events: a key lives until its
// own horizon (dedupe_horizon) has passed, whatever the retention, and
// the dedupe janitor forgets it then. When retention is shorter than the
// horizon, dedupe wins: a provider that retries after the event was
// removed is still answered duplicate, not stored and delivered a second
// time. Delivering once matters more than the few bytes a key takes.
type Retention struct {
	Store hookwatch.RetentionStore
	// Default applies to every source not in Sources.
	Default Policy
	Sources map[string]Policy
	// MaxStoreSize is the budget of the store's used bytes (0: none).
	MaxStoreSize int64
	// Batch is how many events one delete examines
	// (hookwatch.DefaultRetentionBatch when 0).
	Batch  int
	Logger *slog.Logger
}

// RetentionReport is what one pass removed.
type RetentionReport struct {
	Events     int `json:"events"`
	Deliveries int `json:"deliveries"`
	Attempts   int `json:"attempts"`
	// Bytes is the removed events' bodies and headers.
	Bytes int64 `json:"bytes"`
	// OverBudget is by how much the store was over max_store_size before
	// the pass (0: under it, or no budget).
	OverBudget int64 `json:"over_budget_bytes"`
	// Reclaimed is how much the database file shrank (SQLite).
	Reclaimed int64 `json:"reclaimed_bytes"`
}

func (r *RetentionReport) add(res hookwatch.RetentionResult) {
	r.Events += res.Events
	r.Deliveries += res.Deliveries
	r.Attempts += res.Attempts
	r.Bytes += res.Bytes
}

// Job is the retention as a job of the runner, every every.
func (r *Retention) Job(every time.Duration) Job {
	return Job{Job: hookwatch.Job{Slug: RetentionSlug, Every: every}, Run: func(ctx context.Context, now time.Time) error {
		_, err := r.RunOnce(ctx, now)
		return err
	}}
}

// RunOnce makes one pass at now: every source's policy, then the budget,
// then the space reclaim. It returns what it removed, also when it stops
// on an error.
func (r *Retention) RunOnce(ctx context.Context, now time.Time) (RetentionReport, error) {
	var rep RetentionReport
	logger := r.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	own := make([]string, 0, len(r.Sources))
	for name := range r.Sources {
		own = append(own, name)
	}
	slices.Sort(own)
	for _, name := range own {
		c := r.Sources[name].cutoff(now)
		c.Sources = []string{name}
		if err := r.pass(ctx, c, &rep, -1); err != nil {
			return rep, err
		}
	}
	c := r.Default.cutoff(now)
	c.Except = own
	if err := r.pass(ctx, c, &rep, -1); err != nil {
		return rep, err
	}
	if r.MaxStoreSize > 0 {
		size, err := r.Store.StoreSize(ctx)
		if err != nil {
			return rep, fmt.Errorf("retention: store size: %w", err)
		}
		if size.Used > r.MaxStoreSize {
			rep.OverBudget = size.Used - r.MaxStoreSize
			// Every finished event may go, oldest first, until about the
			// excess is freed.
			if err := r.pass(ctx, hookwatch.RetentionCutoff{Finished: now, Dead: now, Now: now}, &rep, rep.OverBudget); err != nil {
				return rep, err
			}
			logger.Warn("retention: the store is over max_store_size; the oldest finished events were removed",
				"used_bytes", size.Used, "max_store_size", r.MaxStoreSize, "removed_bytes", rep.Bytes)
		}
	}
	if rc, ok := r.Store.(hookwatch.SpaceReclaimer); ok && rep.Events > 0 {
		n, err := rc.ReclaimSpace(ctx)
		if err != nil {
			return rep, fmt.Errorf("retention: reclaim space: %w", err)
		}
		rep.Reclaimed = n
	}
	if rep.Events > 0 {
		logger.Info("retention: finished events removed", "events", rep.Events, "deliveries", rep.Deliveries,
			"attempts", rep.Attempts, "bytes", rep.Bytes, "reclaimed_bytes", rep.Reclaimed)
	}
	return rep, nil
}

// pass deletes c's events a batch at a time until none is left, or, with
// enough >= 0, until that many bytes are freed.
func (r *Retention) pass(ctx context.Context, c hookwatch.RetentionCutoff, rep *RetentionReport, enough int64) error {
	c.Limit = r.Batch
	var freed int64
	for {
		res, err := r.Store.DeleteFinished(ctx, c)
		rep.add(res)
		freed += res.Bytes
		if err != nil {
			return fmt.Errorf("retention: delete finished events: %w", err)
		}
		if res.Last == "" || (enough >= 0 && freed >= enough) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		c.After = res.Last
	}
}
