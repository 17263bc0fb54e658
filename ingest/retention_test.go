package ingest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

// The janitor forgets expired keys a batch at a time, on a real store:
// on SQLite the keys kept for events removed before their horizon
// (dedupe_kept); live keys stay and still dedupe.
func TestDedupeJanitor(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	var batch []*hookwatch.Event
	for i := range 25 {
		e := storetest.NewEvent("stripe", fmt.Sprintf("evt_short_%d", i), now.Add(-time.Minute))
		e.DedupeUntil = now.Add(time.Hour)
		batch = append(batch, e)
	}
	live := storetest.NewEvent("stripe", "evt_live", now.Add(-time.Minute)) // 7 days
	batch = append(batch, live)
	if _, err := store.InsertEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// Retention removes them all (routed nowhere: finished at once), their
	// keys kept until their horizons.
	if res, err := store.DeleteFinished(ctx, hookwatch.RetentionCutoff{Finished: now, Dead: now, Now: now}); err != nil || res.Events != 26 {
		t.Fatalf("DeleteFinished = %+v, %v; want 26 events removed", res, err)
	}
	// Two hours on: batches smaller than the work, RunOnce loops until done.
	j := &ingest.DedupeJanitor{Store: store, Batch: 10}
	later := now.Add(2 * time.Hour)
	if n, err := j.RunOnce(ctx, later); err != nil || n != 25 {
		t.Fatalf("RunOnce = %d, %v; want 25 expired keys forgotten", n, err)
	}
	if n, err := j.RunOnce(ctx, later); err != nil || n != 0 {
		t.Errorf("a second run forgot %d, %v; want none left", n, err)
	}
	retry := storetest.NewEvent("stripe", "evt_live", later)
	if res, err := store.InsertEvents(ctx, []*hookwatch.Event{retry}); err != nil || !res[0].Duplicate || res[0].ID != live.ID {
		t.Errorf("a retry of the event with a live key: %+v, %v; want a duplicate of %s", res, err, live.ID)
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
