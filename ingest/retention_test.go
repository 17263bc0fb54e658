package ingest_test

import (
	"context"
	"database/sql"
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
	j := &ingest.DedupeJanitor{Store: store, Batch: 10, Now: func() time.Time { return now }}
	if n, err := j.RunOnce(ctx); err != nil || n != 25 {
		t.Fatalf("RunOnce = %d, %v; want 25 expired keys forgotten", n, err)
	}
	if n, _ := store.PruneDedupe(ctx, now, 100); n != 0 {
		t.Errorf("%d expired keys left", n)
	}
	if res, _ := store.InsertEvents(ctx, []*hookwatch.Event{storetest.NewEvent("stripe", "evt_live", now)}); !res[0].Duplicate {
		t.Errorf("a live key was forgotten")
	}

	// Scheduled: two janitors share one leadership; the leader runs at once.
	// The table's size is what an operator sees (sqlite3 hw.db).
	var late []*hookwatch.Event
	for i := 0; i < 3; i++ {
		late = append(late, storetest.NewEvent("stripe", fmt.Sprintf("evt_late_%d", i), now.Add(-8*24*time.Hour)))
	}
	store.InsertEvents(ctx, late)
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys := func() int {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM dedupe`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := keys(); n != 4 {
		t.Fatalf("%d dedupe keys before the janitor, want 4", n)
	}
	leader := &hookwatch.LocalLeader{}
	a := &ingest.DedupeJanitor{Store: store, Leader: leader, Every: time.Hour}
	b := &ingest.DedupeJanitor{Store: store, Leader: leader, Every: time.Hour}
	a.Start()
	b.Start()
	deadline := time.Now().Add(5 * time.Second)
	for keys() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the scheduled janitor did not run: %d keys", keys())
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.Close()
	b.Close()
}
