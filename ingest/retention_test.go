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

func TestDedupeJanitor(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hw.db")
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	var batch []*hookwatch.Event
	for i := 0; i < 25; i++ {
		e := storetest.NewEvent("stripe", fmt.Sprintf("evt_exp_%d", i), now.Add(-8*24*time.Hour))
		batch = append(batch, e) // default horizon: expired a day ago
	}
	live := storetest.NewEvent("stripe", "evt_live", now)
	batch = append(batch, live)
	if _, err := store.InsertEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}

	// Batches smaller than the work: RunOnce loops until done.
	j := &ingest.DedupeJanitor{Store: store, Batch: 10}
	if n, err := j.RunOnce(ctx, now); err != nil || n != 25 {
		t.Fatalf("RunOnce = %d, %v; want 25 expired keys forgotten", n, err)
	}
	if n, _ := store.PruneDedupe(ctx, now, 100); n != 0 {
		t.Errorf("%d expired keys left", n)
	}
	if res, _ := store.InsertEvents(ctx, []*hookwatch.Event{storetest.NewEvent("stripe", "evt_live", now)}); !res[0].Duplicate {
		t.Errorf("a live key was forgotten")
	}
}
