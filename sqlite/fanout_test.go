package sqlite

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/storetest"
)

// rawDeliveries counts the delivery rows in the file, read past the store's
// settle: what the fan-out has created so far.
func rawDeliveries(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM deliveries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func routed(n int, at time.Time, dests ...string) []*hookwatch.Event {
	out := make([]*hookwatch.Event, n)
	for i := range out {
		out[i] = storetest.NewEvent("stripe", fmt.Sprintf("evt_fan_%d_%d", at.UnixNano(), i), at)
		out[i].Destinations = dests
	}
	return out
}

// The group commit stores the events only; the delivery rows come with the
// first read of deliveries (or claim) after it, one per destination.
func TestDeliveriesCreatedAfterTheCommit(t *testing.T) {
	ctx := context.Background()
	s, err := open(ctx, filepath.Join(t.TempDir(), "hw.db"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	events := routed(10, time.Now(), "app", "audit")
	if _, err := s.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	if n := rawDeliveries(t, s); n != 0 {
		t.Fatalf("%d delivery rows written by the group commit, want 0 (created by the fan-out)", n)
	}
	ds, err := s.ListDeliveries(ctx, hookwatch.DeliveryFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 20 {
		t.Fatalf("ListDeliveries after InsertEvents: %d deliveries, want 20", len(ds))
	}
	claimed, err := s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "audit", Owner: "w", Now: time.Now().Add(time.Second), Lease: time.Minute, Limit: 100})
	if err != nil || len(claimed) != 10 {
		t.Fatalf("claim audit: %d, %v; want 10", len(claimed), err)
	}
	// A claim fans out by itself (another process may have stored them).
	more := routed(5, time.Now(), "app")
	if _, err := s.InsertEvents(ctx, more); err != nil {
		t.Fatal(err)
	}
	claimed, err = s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "w", Now: time.Now().Add(time.Second), Lease: time.Minute, Limit: 100})
	if err != nil || len(claimed) != 15 {
		t.Fatalf("claim app: %d, %v; want 15 (10 fanned out before, 5 by the claim)", len(claimed), err)
	}
	if n := rawDeliveries(t, s); n != 25 {
		t.Fatalf("%d delivery rows, want 25", n)
	}
}

// A store left by a crash with events owed their deliveries creates them
// when it opens, once: the cursor moves in the rows' own transaction.
func TestFanOutRecoveredAtOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "hw.db")
	s, err := open(ctx, path, time.Hour) // no checkpoint: the file and WAL hold still
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := routed(40, time.Now(), "app")
	if _, err := s.InsertEvents(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.settle(ctx); err != nil { // these 40 are fanned out
		t.Fatal(err)
	}
	owed := routed(30, time.Now(), "app", "audit")
	if _, err := s.InsertEvents(ctx, owed); err != nil {
		t.Fatal(err)
	}
	// The crash image: the files as they are now, with the store still
	// open (acknowledged: InsertEvents returned after the fsync).
	crash := filepath.Join(t.TempDir(), "hw.db")
	for _, suffix := range []string{"", "-wal"} {
		copyFile(t, path+suffix, crash+suffix)
	}
	for round := 0; round < 2; round++ {
		c, err := Open(ctx, crash)
		if err != nil {
			t.Fatal(err)
		}
		per := map[string]int{}
		rows, err := c.r.Query(`SELECT event_id, destination FROM deliveries`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, dest string
			if err := rows.Scan(&id, &dest); err != nil {
				t.Fatal(err)
			}
			per[id+" "+dest]++
		}
		rows.Close()
		if len(per) != 40+60 {
			t.Errorf("round %d: %d (event, destination) pairs with deliveries, want 100", round, len(per))
		}
		for _, e := range append(first, owed...) {
			for _, d := range e.Destinations {
				if per[e.ID+" "+d] != 1 {
					t.Errorf("round %d: event %s to %s: %d deliveries, want 1", round, e.ID, d, per[e.ID+" "+d])
				}
			}
		}
		c.Close()
	}
}

// When the newest events are removed, SQLite would give the next event a
// rowid at or below the cursor, and the fan-out would skip it: the commit
// gives rowids above the cursor.
func TestFanOutAfterNewestEventsRemoved(t *testing.T) {
	ctx := context.Background()
	s, err := open(ctx, filepath.Join(t.TempDir(), "hw.db"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	events := routed(3, time.Now(), "app")
	if _, err := s.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	if err := s.settle(ctx); err != nil {
		t.Fatal(err)
	}
	// Remove the two newest with their deliveries, as a purge does.
	for _, e := range events[1:] {
		if _, err := s.w.Exec(`DELETE FROM deliveries WHERE event_id = ?`, e.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.w.Exec(`DELETE FROM events WHERE id = ?`, e.ID); err != nil {
			t.Fatal(err)
		}
	}
	next := routed(1, time.Now(), "app")
	if _, err := s.InsertEvents(ctx, next); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ListDeliveries(ctx, hookwatch.DeliveryFilter{EventIDs: []string{next[0].ID}})
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries of the event stored after the newest were removed: %d, %v; want 1", len(ds), err)
	}
}

// Retention never takes an event owed its deliveries for one routed nowhere.
func TestRetentionKeepsOwedEvents(t *testing.T) {
	ctx := context.Background()
	s, err := open(ctx, filepath.Join(t.TempDir(), "hw.db"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old := time.Now().Add(-48 * time.Hour)
	owed := routed(5, old, "app")
	nowhere := routed(5, old.Add(time.Millisecond))
	if _, err := s.InsertEvents(ctx, append(owed, nowhere...)); err != nil {
		t.Fatal(err)
	}
	res, err := s.DeleteFinished(ctx, hookwatch.RetentionCutoff{Finished: time.Now(), Dead: time.Now(), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 5 {
		t.Fatalf("DeleteFinished removed %d events, want the 5 routed nowhere", res.Events)
	}
	ds, err := s.ListDeliveries(ctx, hookwatch.DeliveryFilter{Destination: "app"})
	if err != nil || len(ds) != 5 {
		t.Fatalf("pending deliveries after retention: %d, %v; want 5", len(ds), err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
