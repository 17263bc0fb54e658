package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/monitor"
)

// DedupeJanitor forgets expired dedupe keys on a schedule, so a store's
// dedupe table (PostgreSQL's) holds about one dedupe horizon of keys instead
// of growing forever; SQLite keeps each key in its event's row and has
// nothing for it to do. Among instances sharing a store, only the leader
// runs it.
type DedupeJanitor struct {
	Store  hookwatch.EventStore
	Leader hookwatch.Leader
	// Every is the interval between runs; default 10 minutes.
	Every time.Duration
	// Batch is how many keys one delete removes, so the store's writer is
	// never held long; default 1000.
	Batch  int
	Now    func() time.Time
	Logger *slog.Logger
	// Context carries values to the runs, such as the monitor whose cron
	// check-ins report them (monitor.NewContext).
	Context context.Context

	stop context.CancelFunc
	done chan struct{}
}

// JanitorLeadership is the Leader name the dedupe janitor runs under.
const JanitorLeadership = "dedupe-retention"

// RunOnce forgets every key expired by now, a batch at a time, and returns
// how many it forgot.
func (j *DedupeJanitor) RunOnce(ctx context.Context) (int, error) {
	batch := j.Batch
	if batch <= 0 {
		batch = 1000
	}
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	before, total := now(), 0
	for {
		n, err := j.Store.PruneDedupe(ctx, before, batch)
		total += n
		if err != nil {
			return total, fmt.Errorf("ingest: prune dedupe keys: %w", err)
		}
		if n < batch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// Start runs the janitor in the background until Close: it waits to lead,
// then runs at once and every Every while it leads.
func (j *DedupeJanitor) Start() {
	base := j.Context
	if base == nil {
		base = context.Background()
	}
	if j.Every <= 0 {
		j.Every = 10 * time.Minute
	}
	if j.Logger == nil {
		j.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(base))
	j.stop, j.done = cancel, make(chan struct{})
	go func() {
		defer close(j.done)
		for ctx.Err() == nil {
			lead, release, err := j.Leader.Lead(ctx, JanitorLeadership)
			if err != nil {
				return // ctx is done
			}
			j.lead(lead)
			release()
		}
	}()
}

// lead runs the schedule until the leadership is lost or Close.
func (j *DedupeJanitor) lead(ctx context.Context) {
	t := time.NewTicker(j.Every)
	defer t.Stop()
	for {
		err := monitor.CheckIn(ctx, "hookwatch-dedupe-retention", monitor.Every(j.Every), func(ctx context.Context) error {
			n, err := j.RunOnce(ctx)
			if n > 0 {
				j.Logger.Info("dedupe keys past their horizon forgotten", "count", n)
			}
			return err
		})
		if err != nil && ctx.Err() == nil {
			j.Logger.Error("dedupe retention failed; retrying at the next run", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close stops the schedule and waits for a run in progress.
func (j *DedupeJanitor) Close() {
	if j.stop == nil {
		return
	}
	j.stop()
	<-j.done
}
