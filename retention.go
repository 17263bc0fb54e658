package hookwatch

import (
	"context"
	"time"
)

// Retention defaults (docs/configuration.md#retention).
const (
	// DefaultRetentionEvents is how long an event whose every delivery is
	// finished (delivered, or none at all: filtered) is kept.
	DefaultRetentionEvents = 30 * 24 * time.Hour
	// DefaultRetentionDeadLetters is how long an event with a dead
	// delivery is kept, for replay.
	DefaultRetentionDeadLetters = 90 * 24 * time.Hour
	// DefaultRetentionEvery is the retention job's interval.
	DefaultRetentionEvery = 10 * time.Minute
	// DefaultRetentionBatch is how many events one delete examines: on
	// SQLite, a batch of 100 delivered 1 KB events holds the single writer
	// (and so the receive path's group commits) for 3 to 12 ms on a 2-core
	// machine, the low figure when it is otherwise idle
	// (go test -run - -bench DeleteFinished ./maintain/).
	DefaultRetentionBatch = 100
)

// RetentionCutoff selects the events one DeleteFinished call removes:
// those whose every delivery is finished (succeeded or dead; an event with
// no delivery, filtered by the routes, is finished), received before the
// cutoff that applies to them and with no delivery completed since it.
// An event with a pending delivery, leased (in flight) or not, is never
// selected.
type RetentionCutoff struct {
	// Sources, when set, limits the call to these sources; Except leaves
	// these out (the sources with a retention of their own).
	Sources []string
	Except  []string
	// Finished is the cutoff of events with no dead delivery, Dead of
	// events with at least one. A zero cutoff selects nothing of its kind.
	Finished time.Time
	Dead     time.Time
	// After resumes a pass: only events whose ID sorts after it. Event IDs
	// sort by receive time (NewID), so a pass goes oldest first.
	After string
	// Limit is the batch size (DefaultRetentionBatch when 0).
	Limit int
	// Now is the time of the pass (the store's clock when zero): a removed
	// event's dedupe key still live at Now outlives it.
	Now time.Time
}

// RetentionResult is what one DeleteFinished call removed.
type RetentionResult struct {
	Events, Deliveries, Attempts int
	// Bytes is the size of the removed events' bodies and headers: what a
	// budget (max_store_size) counts as freed.
	Bytes int64
	// Last is the ID of the last event examined (the next call's After);
	// empty when none was.
	Last string
}

// StoreSize is how much room the store takes.
type StoreSize struct {
	// Bytes is the store's size on disk: SQLite's database file and WAL;
	// PostgreSQL's tables of the store with their indexes and TOAST.
	Bytes int64 `json:"bytes"`
	// Used is what its live rows take: Bytes minus the free pages SQLite
	// keeps for reuse; on PostgreSQL, an estimate from the planner's
	// statistics (refreshed by autovacuum), since space freed by deletes
	// stays with PostgreSQL for reuse and the files do not shrink.
	Used int64 `json:"used_bytes"`
}

// FinishedEvent is the oldest finished event: how far back retention
// reaches.
type FinishedEvent struct {
	ID         string    `json:"id"`
	Source     string    `json:"source"`
	ReceivedAt time.Time `json:"received_at"`
	// Size is its body and headers' size in bytes.
	Size int64 `json:"size"`
}

// RetentionStore removes old events and says how much room the store
// takes. Dedupe keys are not removed with their events: a key is kept
// until its own horizon has passed (PruneDedupe), so a provider's retry is
// still answered duplicate after a shorter retention removed the event.
type RetentionStore interface {
	// DeleteFinished removes at most c.Limit events selected by c, oldest
	// first, with their deliveries and attempts, in one transaction, and
	// says what it removed. Dedupe keys, issues and their failure samples
	// stay. Errors: EUNAVAILABLE when the store cannot write now.
	DeleteFinished(ctx context.Context, c RetentionCutoff) (RetentionResult, error)

	// StoreSize returns the store's size. Errors: EUNAVAILABLE when the
	// store cannot be read now.
	StoreSize(ctx context.Context) (StoreSize, error)

	// OldestFinished returns the oldest event whose every delivery is
	// finished, or nil when there is none. Errors: EUNAVAILABLE when the
	// store cannot be read now.
	OldestFinished(ctx context.Context) (*FinishedEvent, error)
}

// SpaceReclaimer is a store that gives freed space back to the file
// system after deletes (SQLite's incremental vacuum). The retention job
// calls it after each pass; PostgreSQL reuses freed space itself
// (autovacuum) and does not implement it.
type SpaceReclaimer interface {
	// ReclaimSpace returns the free pages to the file system, a few at a
	// time so that it never holds the writer long, and returns how many
	// bytes the file shrank by. Errors: EUNAVAILABLE.
	ReclaimSpace(ctx context.Context) (int64, error)
}

// FirstID returns the smallest ID NewID(prefix, t) can return: every ID
// made before t sorts below it.
func FirstID(prefix string, t time.Time) string {
	var out [26]byte
	ms := uint64(t.UnixMilli())
	// The first 10 digits carry the 48 bits of milliseconds; the rest is 0.
	for i := 9; i >= 0; i-- {
		out[i] = crockford[ms&31]
		ms >>= 5
	}
	for i := 10; i < 26; i++ {
		out[i] = '0'
	}
	return prefix + "_" + string(out[:])
}

// RetentionCandidate is what a store reads of an event to decide, with
// RetentionCutoff.Removes, whether retention removes it.
type RetentionCandidate struct {
	ID         string
	ReceivedAt time.Time
	// Done is when its last delivery completed (zero: none did).
	Done time.Time
	// Pending is set when a delivery is pending (leased or not); Dead
	// when one is dead.
	Pending, Dead bool
	Size          int64
}

// Removes reports whether c removes the event e: no delivery pending,
// and received and finished before the cutoff of its kind (Dead for an
// event with a dead delivery, else Finished). Both stores decide with it.
func (c RetentionCutoff) Removes(e RetentionCandidate) bool {
	if e.Pending {
		return false
	}
	cut := c.Finished
	if e.Dead {
		cut = c.Dead
	}
	return !cut.IsZero() && e.ReceivedAt.Before(cut) && e.Done.Before(cut)
}

// Bound is the ID every event c may remove sorts below: FirstID of the
// later cutoff (event IDs carry their receive time).
func (c RetentionCutoff) Bound() string {
	cut := c.Finished
	if c.Dead.After(cut) {
		cut = c.Dead
	}
	if cut.IsZero() {
		return "evt_" // below every event ID: nothing is selected
	}
	return FirstID("evt", cut)
}
