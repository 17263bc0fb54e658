package ingest_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

// expiredKeys is a store holding n expired dedupe keys in a table of
// their own, as PostgreSQL does (SQLite keeps keys in the event rows and
// has nothing to prune: storetest covers both stores' PruneDedupe).
type expiredKeys struct {
	hookwatch.EventStore
	mu sync.Mutex
	n  int
}

func (s *expiredKeys) PruneDedupe(_ context.Context, _ time.Time, limit int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(limit, s.n)
	s.n -= n
	return n, nil
}

func (s *expiredKeys) left() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func TestDedupeJanitor(t *testing.T) {
	ctx := context.Background()
	store := &expiredKeys{n: 25}
	// Batches smaller than the work: RunOnce loops until done.
	j := &ingest.DedupeJanitor{Store: store, Batch: 10}
	if n, err := j.RunOnce(ctx, time.Now()); err != nil || n != 25 {
		t.Fatalf("RunOnce = %d, %v; want 25 expired keys forgotten", n, err)
	}
	if n := store.left(); n != 0 {
		t.Errorf("%d expired keys left", n)
	}
}

// On SQLite a key expires in its event row: past its horizon it no longer
// dedupes, though nothing pruned it, and a live key still does.
func TestSQLiteKeysExpireInPlace(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	old := storetest.NewEvent("stripe", "evt_old", now.Add(-8*24*time.Hour)) // default horizon: expired a day ago
	live := storetest.NewEvent("stripe", "evt_live", now.Add(-time.Hour))
	if _, err := store.InsertEvents(ctx, []*hookwatch.Event{old, live}); err != nil {
		t.Fatal(err)
	}
	res, err := store.InsertEvents(ctx, []*hookwatch.Event{storetest.NewEvent("stripe", "evt_old", now), storetest.NewEvent("stripe", "evt_live", now)})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Duplicate {
		t.Errorf("a key past its horizon still dedupes: %+v", res[0])
	}
	if !res[1].Duplicate || res[1].ID != live.ID {
		t.Errorf("a live key was forgotten: %+v", res[1])
	}
	if got, _ := store.ListEvents(ctx, hookwatch.EventFilter{ProviderEventID: "evt_old"}); len(got) != 2 {
		t.Errorf("events with provider ID evt_old: %d, want both (the expired and the new)", len(got))
	}
}
