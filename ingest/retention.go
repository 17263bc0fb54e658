package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
)

// DedupeJanitor forgets expired dedupe keys, so a store's dedupe table
// (PostgreSQL's) holds about one dedupe horizon of keys instead of growing
// forever; SQLite keeps each key in its event's row and has nothing for it
// to do. It is a periodic job: the maintenance runner (maintain.Runner)
// runs RunOnce on the instance that leads, every 10 minutes
// (DedupeJanitorEvery).
type DedupeJanitor struct {
	Store hookwatch.EventStore
	// Batch is how many keys one delete removes, so the store's writer is
	// never held long; default 1000.
	Batch int
}

// DedupeJanitorEvery is the janitor's interval.
const DedupeJanitorEvery = 10 * time.Minute

// DedupeJanitorSlug is the janitor's cron monitor slug.
const DedupeJanitorSlug = "hookwatch-dedupe-retention"

// RunOnce forgets every key expired by now, a batch at a time, and returns
// how many it forgot.
func (j *DedupeJanitor) RunOnce(ctx context.Context, now time.Time) (int, error) {
	batch := j.Batch
	if batch <= 0 {
		batch = 1000
	}
	total := 0
	for {
		n, err := j.Store.PruneDedupe(ctx, now, batch)
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
