// Package storetest is the contract every hookwatch.Store must meet: one
// suite that the SQLite and PostgreSQL stores both run, so that nothing above
// the store depends on which one is configured.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Opener returns a fresh, empty store for one test. It registers its own
// cleanup with t.
type Opener func(t *testing.T) hookwatch.Store

// Run runs the whole suite against stores made by open, its groups in
// parallel (each test opens stores of its own).
func Run(t *testing.T, open Opener) {
	t.Run("Events", func(t *testing.T) { t.Parallel(); testEvents(t, open) })
	t.Run("Deliveries", func(t *testing.T) { t.Parallel(); testDeliveries(t, open) })
	t.Run("Ordering", func(t *testing.T) { t.Parallel(); testOrdering(t, open) })
	t.Run("Transformed", func(t *testing.T) { t.Parallel(); testTransformed(t, open) })
	t.Run("Issues", func(t *testing.T) { t.Parallel(); testIssues(t, open) })
	t.Run("Alerts", func(t *testing.T) { t.Parallel(); testAlerts(t, open) })
	t.Run("Health", func(t *testing.T) { t.Parallel(); testHealth(t, open) })
	t.Run("Series", func(t *testing.T) { t.Parallel(); testSeries(t, open) })
	t.Run("Quarantine", func(t *testing.T) { t.Parallel(); testQuarantine(t, open) })
	t.Run("Users", func(t *testing.T) { t.Parallel(); testUsers(t, open) })
	t.Run("InstallationKey", func(t *testing.T) { testInstallationKey(t, open) })
	t.Run("DedupeKey", func(t *testing.T) { testDedupeKey(t, open) })
	t.Run("Retention", func(t *testing.T) { t.Parallel(); testRetention(t, open) })
	t.Run("Purge", func(t *testing.T) { t.Parallel(); testPurge(t, open) })
	t.Run("EventFilters", func(t *testing.T) { t.Parallel(); testEventFilters(t, open) })
	t.Run("HandshakeSecrets", func(t *testing.T) { t.Parallel(); testHandshakeSecrets(t, open) })
}

// base is a fixed time for test events, with microseconds (the stores'
// precision) but no nanoseconds.
var base = time.Date(2026, 11, 28, 12, 0, 0, 123456000, time.UTC)

// NewEvent returns an event of source with the given provider event ID,
// received at at.
func NewEvent(source, providerID string, at time.Time) *hookwatch.Event {
	return &hookwatch.Event{
		ID:              hookwatch.NewID("evt", at),
		Source:          source,
		Provider:        "stripe",
		ProviderEventID: providerID,
		Type:            "invoice.paid",
		Headers:         http.Header{"Content-Type": {"application/json"}, "Stripe-Signature": {"t=1,v1=ab"}},
		Body:            []byte(fmt.Sprintf(`{"id":%q,"type":"invoice.paid"}`, providerID)),
		ReceivedAt:      at,
	}
}

func insert(t *testing.T, s hookwatch.Store, events ...*hookwatch.Event) []hookwatch.InsertResult {
	t.Helper()
	res, err := s.InsertEvents(context.Background(), events)
	if err != nil {
		t.Fatalf("InsertEvents: %v", err)
	}
	if len(res) != len(events) {
		t.Fatalf("InsertEvents returned %d results for %d events", len(res), len(events))
	}
	return res
}

func testEvents(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		e := NewEvent("stripe", "evt_1", base)
		e.Body = []byte("{\"a\": 1,\n \"b\":\"\xff\"}  ") // byte-exact, even not UTF-8
		e.Headers.Add("X-Multi", "one")
		e.Headers.Add("X-Multi", "two")
		e.Malformed = true
		e.Test = true
		e.Trace = "00-abc-def-01"
		res := insert(t, s, e)
		if res[0].Duplicate || res[0].ID != e.ID {
			t.Fatalf("result = %+v, want stored as %s", res[0], e.ID)
		}
		got, err := s.GetEvent(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Body, e.Body) {
			t.Errorf("body = %q, want %q", got.Body, e.Body)
		}
		if got.Source != e.Source || got.Provider != e.Provider || got.ProviderEventID != e.ProviderEventID || got.Type != e.Type {
			t.Errorf("got %+v, want %+v", got, e)
		}
		if !got.ReceivedAt.Equal(e.ReceivedAt) {
			t.Errorf("ReceivedAt = %v, want %v", got.ReceivedAt, e.ReceivedAt)
		}
		if !got.Malformed || !got.Test || got.Trace != e.Trace {
			t.Errorf("flags: malformed=%v test=%v trace=%q", got.Malformed, got.Test, got.Trace)
		}
		if v := got.Headers.Values("X-Multi"); len(v) != 2 || v[0] != "one" || v[1] != "two" {
			t.Errorf("X-Multi = %v, want [one two]", v)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, err := s.GetEvent(ctx, "evt_nope")
		if code := hookwatch.ErrorCode(err); code != hookwatch.ENOTFOUND {
			t.Fatalf("GetEvent(missing) code = %q (%v), want %q", code, err, hookwatch.ENOTFOUND)
		}
	})

	t.Run("Dedupe", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		first := NewEvent("stripe", "evt_dup", base)
		insert(t, s, first)

		again := NewEvent("stripe", "evt_dup", base.Add(time.Hour))
		res := insert(t, s, again)
		if !res[0].Duplicate || res[0].ID != first.ID {
			t.Fatalf("second insert = %+v, want duplicate of %s", res[0], first.ID)
		}
		if _, err := s.GetEvent(ctx, again.ID); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("duplicate was stored (err %v)", err)
		}

		// Same provider ID on another source is a different event.
		other := NewEvent("shop", "evt_dup", base.Add(time.Hour))
		if res := insert(t, s, other); res[0].Duplicate {
			t.Errorf("same ID on another source counted as duplicate")
		}

		// No provider ID: never deduplicated.
		a, b := NewEvent("stripe", "", base), NewEvent("stripe", "", base)
		if res := insert(t, s, a, b); res[0].Duplicate || res[1].Duplicate {
			t.Errorf("events without provider ID deduplicated: %+v", res)
		}
	})

	t.Run("DedupeWithinBatch", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		a, b := NewEvent("stripe", "evt_same", base), NewEvent("stripe", "evt_same", base)
		res := insert(t, s, a, b)
		if res[0].Duplicate || !res[1].Duplicate || res[1].ID != a.ID {
			t.Fatalf("results = %+v, want first stored, second duplicate of %s", res, a.ID)
		}
	})

	t.Run("DedupeHorizon", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		first := NewEvent("stripe", "evt_h", base)
		first.DedupeUntil = base.Add(24 * time.Hour)
		insert(t, s, first)

		within := NewEvent("stripe", "evt_h", base.Add(23*time.Hour))
		if res := insert(t, s, within); !res[0].Duplicate {
			t.Errorf("inside horizon: not a duplicate")
		}
		after := NewEvent("stripe", "evt_h", base.Add(25*time.Hour))
		res := insert(t, s, after)
		if res[0].Duplicate || res[0].ID != after.ID {
			t.Fatalf("after horizon: %+v, want stored as new", res[0])
		}
		// The key is now remembered for the new event.
		if res := insert(t, s, NewEvent("stripe", "evt_h", base.Add(26*time.Hour))); !res[0].Duplicate || res[0].ID != after.ID {
			t.Errorf("after re-store: %+v, want duplicate of %s", res[0], after.ID)
		}
	})

	t.Run("DefaultHorizonIsSevenDays", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, NewEvent("stripe", "evt_d", base))
		if res := insert(t, s, NewEvent("stripe", "evt_d", base.Add(6*24*time.Hour))); !res[0].Duplicate {
			t.Errorf("6 days later: not a duplicate (Stripe retries for 3 days)")
		}
		if res := insert(t, s, NewEvent("stripe", "evt_d", base.Add(8*24*time.Hour))); res[0].Duplicate {
			t.Errorf("8 days later: still a duplicate, default horizon is 7 days")
		}
	})

	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var all []*hookwatch.Event
		for i := 0; i < 10; i++ {
			src := "stripe"
			if i%2 == 1 {
				src = "github"
			}
			e := NewEvent(src, fmt.Sprintf("evt_%d", i), base.Add(time.Duration(i)*time.Minute))
			if i%3 == 0 {
				e.Type = "customer.created"
			}
			all = append(all, e)
		}
		insert(t, s, all...)

		got, err := s.ListEvents(ctx, hookwatch.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 10 || got[0].ID != all[9].ID || got[9].ID != all[0].ID {
			t.Fatalf("unfiltered list: %d events, want 10 newest first", len(got))
		}
		check := func(name string, f hookwatch.EventFilter, want ...int) {
			t.Helper()
			got, err := s.ListEvents(ctx, f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var ids []string
			for _, e := range got {
				ids = append(ids, e.ProviderEventID)
			}
			var wantIDs []string
			for _, i := range want {
				wantIDs = append(wantIDs, fmt.Sprintf("evt_%d", i))
			}
			if fmt.Sprint(ids) != fmt.Sprint(wantIDs) {
				t.Errorf("%s: got %v, want %v", name, ids, wantIDs)
			}
		}
		check("source", hookwatch.EventFilter{Source: "github"}, 9, 7, 5, 3, 1)
		check("type", hookwatch.EventFilter{Type: "customer.created"}, 9, 6, 3, 0)
		check("since", hookwatch.EventFilter{Since: base.Add(7 * time.Minute)}, 9, 8, 7)
		check("until", hookwatch.EventFilter{Until: base.Add(2 * time.Minute)}, 1, 0)
		check("provider id", hookwatch.EventFilter{ProviderEventID: "evt_4"}, 4)
		check("limit", hookwatch.EventFilter{Limit: 2}, 9, 8)
		check("cursor", hookwatch.EventFilter{Before: all[8].ID, Limit: 2}, 7, 6)
		// The event stream pages forward: oldest first after the cursor.
		check("after", hookwatch.EventFilter{After: all[6].ID}, 7, 8, 9)
		check("after, limit", hookwatch.EventFilter{After: all[2].ID, Limit: 2}, 3, 4)
		check("after, source", hookwatch.EventFilter{After: all[4].ID, Source: "github"}, 5, 7, 9)
		check("after, before", hookwatch.EventFilter{After: all[2].ID, Before: all[5].ID}, 3, 4)
		check("combined", hookwatch.EventFilter{Source: "stripe", Type: "customer.created"}, 6, 0)
	})

	t.Run("PruneDedupe", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		for i := 0; i < 5; i++ {
			e := NewEvent("stripe", fmt.Sprintf("evt_old_%d", i), base)
			e.DedupeUntil = base.Add(time.Duration(i+1) * time.Hour) // expire at +1h .. +5h
			insert(t, s, e)
		}
		live := NewEvent("stripe", "evt_live", base)
		insert(t, s, live) // default horizon: 7 days

		// A store that keeps keys in a table of their own (PostgreSQL)
		// forgets the three expired ones, at most limit at a time; one
		// that keeps them in the event rows while the events are stored
		// (SQLite) has nothing to forget and returns 0. Either way nothing
		// else changes.
		n, err := s.PruneDedupe(ctx, base.Add(3*time.Hour), 2)
		if err != nil || n > 2 {
			t.Fatalf("PruneDedupe(+3h, limit 2) = %d, %v; want at most 2 (the limit)", n, err)
		}
		for total, rounds := n, 0; n != 0; rounds++ {
			if n, err = s.PruneDedupe(ctx, base.Add(3*time.Hour), 100); err != nil {
				t.Fatalf("PruneDedupe(+3h): %v", err)
			}
			if total += n; total > 3 || rounds > 3 {
				t.Fatalf("PruneDedupe(+3h) forgot %d keys in %d rounds; only 3 had expired", total, rounds)
			}
		}
		// Expired keys no longer dedupe, pruned or not.
		if res := insert(t, s, NewEvent("stripe", "evt_old_0", base.Add(3*time.Hour))); res[0].Duplicate {
			t.Errorf("key expired at +1h still dedupes at +3h")
		}
		// Keys not yet expired at +3h still dedupe, at any time before
		// their own expiry; events are kept.
		if res := insert(t, s, NewEvent("stripe", "evt_old_4", base.Add(4*time.Hour))); !res[0].Duplicate {
			t.Errorf("key expiring at +5h forgotten by a prune at +3h")
		}
		if res := insert(t, s, NewEvent("stripe", "evt_live", base.Add(time.Hour))); !res[0].Duplicate || res[0].ID != live.ID {
			t.Errorf("live key pruned: %+v", res[0])
		}
		if got, err := s.ListEvents(ctx, hookwatch.EventFilter{Source: "stripe"}); err != nil || len(got) != 7 {
			t.Errorf("pruning dedupe keys removed events: %d left, %v", len(got), err)
		}
	})

	t.Run("Ping", func(t *testing.T) {
		t.Parallel()
		if err := open(t).Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})

	t.Run("ProbeWrite", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		// Again and again: the probe rewrites its row, it does not add one.
		for i := 0; i < 3; i++ {
			if err := s.ProbeWrite(ctx); err != nil {
				t.Fatalf("ProbeWrite %d: %v", i, err)
			}
		}
		// It must not leave anything an operator would see.
		if es, err := s.ListEvents(ctx, hookwatch.EventFilter{}); err != nil || len(es) != 0 {
			t.Errorf("after probes: %d events, %v", len(es), err)
		}
	})
}
