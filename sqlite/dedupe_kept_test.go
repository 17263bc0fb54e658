package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/storetest"
)

// The keys of events removed before their horizon go to dedupe_kept: only
// live ones, the later expiry when two removed events held one key, and
// PruneDedupe forgets them once expired, a batch at a time.
func TestDedupeKeptForRemovedEvents(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	s.now = func() time.Time { return now }
	insert := func(e *hookwatch.Event) hookwatch.InsertResult {
		t.Helper()
		res, err := s.InsertEvents(ctx, []*hookwatch.Event{e})
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	kept := func() map[string]string {
		t.Helper()
		rows, err := s.r.QueryContext(ctx, `SELECT dedupe_id, event_id FROM dedupe_kept`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string]string{}
		for rows.Next() {
			var k, id string
			if err := rows.Scan(&k, &id); err != nil {
				t.Fatal(err)
			}
			m[k] = id
		}
		return m
	}

	short := storetest.NewEvent("stripe", "evt_short", now.Add(-10*time.Minute))
	short.DedupeUntil = now.Add(time.Hour)
	long := storetest.NewEvent("stripe", "evt_long", now.Add(-10*time.Minute)) // 7 days
	expired := storetest.NewEvent("stripe", "evt_expired", now.Add(-2*time.Hour))
	expired.DedupeUntil = now.Add(-time.Hour)
	for _, e := range []*hookwatch.Event{short, long, expired} {
		insert(e)
	}
	res, err := s.DeleteFinished(ctx, hookwatch.RetentionCutoff{Finished: now, Dead: now, Now: now})
	if err != nil || res.Events != 3 {
		t.Fatalf("DeleteFinished = %+v, %v; want 3 events", res, err)
	}
	if k := kept(); len(k) != 2 || k["evt_short"] != short.ID || k["evt_long"] != long.ID {
		t.Fatalf("kept keys = %v; want evt_short and evt_long (evt_expired had expired)", k)
	}
	if r := insert(storetest.NewEvent("stripe", "evt_short", now.Add(30*time.Minute))); !r.Duplicate || r.ID != short.ID {
		t.Errorf("retry of a removed event within its horizon = %+v; want a duplicate of %s", r, short.ID)
	}
	if r := insert(storetest.NewEvent("shop", "evt_short", now.Add(30*time.Minute))); r.Duplicate {
		t.Errorf("the same provider ID from another source was answered duplicate")
	}
	if r := insert(storetest.NewEvent("stripe", "evt_expired", now)); r.Duplicate {
		t.Errorf("an expired key of a removed event still dedupes")
	}

	// After its horizon the key is free; the new holder is purged in turn
	// while live: its later expiry replaces the kept one.
	later := now.Add(2 * time.Hour)
	again := storetest.NewEvent("stripe", "evt_short", later)
	if r := insert(again); r.Duplicate {
		t.Fatalf("a key past its horizon still dedupes: %+v", r)
	}
	s.now = func() time.Time { return later.Add(time.Minute) }
	if _, err := s.PurgeEvents(ctx, hookwatch.PurgeRequest{Source: "stripe", Before: later.Add(time.Second), Actor: "test", Now: later.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if k := kept(); k["evt_short"] != again.ID {
		t.Fatalf("kept evt_short = %s; want the purged later holder %s", k["evt_short"], again.ID)
	}
	if r := insert(storetest.NewEvent("stripe", "evt_short", later.Add(time.Hour))); !r.Duplicate || r.ID != again.ID {
		t.Errorf("retry of the purged later holder = %+v; want a duplicate of %s", r, again.ID)
	}

	// Pruning at +8 days forgets every kept key (evt_long, evt_short and
	// the stored retry of evt_expired, purged with it), at most limit at a
	// time.
	prune := later.Add(8 * 24 * time.Hour)
	n, err := s.PruneDedupe(ctx, prune, 1)
	if err != nil || n != 1 {
		t.Fatalf("PruneDedupe(limit 1) = %d, %v; want 1", n, err)
	}
	total := n
	for n == 1 {
		if n, err = s.PruneDedupe(ctx, prune, 1); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if k := kept(); len(k) != 0 || total != 3 {
		t.Errorf("after pruning: kept %v, forgot %d; want all 3 forgotten", k, total)
	}
}
