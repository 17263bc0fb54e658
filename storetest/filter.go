package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

func eventFilters(t *testing.T, s hookwatch.Store, id string) string {
	t.Helper()
	fs, err := s.EventFilters(context.Background(), id)
	if err != nil {
		t.Fatalf("EventFilters(%s): %v", id, err)
	}
	out := "["
	for i, f := range fs {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("{%d %v %s}", f.Route, f.Destinations, f.Err)
	}
	return out + "]"
}

// The routes whose filters left an event out are stored with it, in the
// insert's transaction (not for a duplicate, which is not stored), read
// back in route order, and removed with the event by retention and purge.
func testEventFilters(t *testing.T, open Opener) {
	ctx := context.Background()
	t.Run("StoredReadRemoved", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		routed := NewEvent("stripe", "f_routed", base)
		routed.Destinations = []string{"audit"}
		routed.Filtered = []hookwatch.Filtered{
			{Route: 4, Destinations: []string{"ledger"}},
			{Route: 2, Destinations: []string{"finance", "billing"}, Err: "no such key: amount_paid"},
		}
		nowhere := NewEvent("stripe", "f_nowhere", base.Add(time.Second)) // every route filtered: routed nowhere
		nowhere.Filtered = []hookwatch.Filtered{{Route: 1, Destinations: []string{"ci"}}}
		plain := NewEvent("stripe", "f_plain", base.Add(2*time.Second))
		plain.Destinations = []string{"audit"}
		purged := NewEvent("github", "f_purged", base.Add(3*time.Second)) // routed nowhere, purged
		purged.Filtered = []hookwatch.Filtered{{Route: 5, Destinations: []string{"ci"}, Err: "cost limit"}}
		insert(t, s, routed, nowhere, plain, purged)

		if got, want := eventFilters(t, s, routed.ID), "[{2 [finance billing] no such key: amount_paid} {4 [ledger] }]"; got != want {
			t.Errorf("filters of %s = %s, want %s", routed.ID, got, want)
		}
		if got, want := eventFilters(t, s, nowhere.ID), "[{1 [ci] }]"; got != want {
			t.Errorf("filters of %s = %s, want %s", nowhere.ID, got, want)
		}
		if got := eventFilters(t, s, plain.ID); got != "[]" {
			t.Errorf("filters of an event no filter left out = %s, want none", got)
		}
		if got := eventFilters(t, s, "evt_unknown"); got != "[]" {
			t.Errorf("filters of an unknown event = %s, want none", got)
		}

		// A duplicate is not stored, nor are its filters.
		dup := NewEvent("stripe", "f_routed", base.Add(3*time.Second))
		dup.Filtered = []hookwatch.Filtered{{Route: 9, Destinations: []string{"x"}}}
		if res := insert(t, s, dup); !res[0].Duplicate {
			t.Fatalf("result %+v, want a duplicate", res[0])
		}
		if got := eventFilters(t, s, dup.ID); got != "[]" {
			t.Errorf("filters of a duplicate = %s, want none stored", got)
		}

		// Retention removes a finished one (routed nowhere) with its
		// filters, a purge another.
		now := base.Add(30 * 24 * time.Hour)
		c := hookwatch.RetentionCutoff{Except: []string{"github"}, Finished: now.Add(-7 * 24 * time.Hour), Dead: now.Add(-7 * 24 * time.Hour), Limit: 10, Now: now}
		if res := deleteAll(t, s, c); res.Events != 1 {
			t.Fatalf("retention removed %+v, want the one finished event", res)
		}
		if exists(t, s, nowhere.ID) || eventFilters(t, s, nowhere.ID) != "[]" {
			t.Errorf("retention left %s or its filters", nowhere.ID)
		}
		if got := eventFilters(t, s, purged.ID); got != "[{5 [ci] cost limit}]" {
			t.Fatalf("filters of %s before the purge = %s", purged.ID, got)
		}
		if p, err := s.PurgeEvents(ctx, hookwatch.PurgeRequest{Source: "github", Before: now, Actor: "test", Now: now}); err != nil || p.Events != 1 {
			t.Fatalf("purge = %+v, %v; want 1 event", p, err)
		}
		if got := eventFilters(t, s, purged.ID); got != "[]" {
			t.Errorf("filters of a purged event = %s, want none", got)
		}
		if got := eventFilters(t, s, routed.ID); got == "[]" {
			t.Errorf("the filters of an event still stored went")
		}
	})
}
