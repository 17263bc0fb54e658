package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// deleteAll runs DeleteFinished with c a batch at a time until a call
// examines nothing, as the retention job does, and adds up what went.
func deleteAll(t *testing.T, s hookwatch.Store, c hookwatch.RetentionCutoff) hookwatch.RetentionResult {
	t.Helper()
	var total hookwatch.RetentionResult
	for i := 0; ; i++ {
		res, err := s.DeleteFinished(context.Background(), c)
		if err != nil {
			t.Fatalf("DeleteFinished: %v", err)
		}
		total.Events += res.Events
		total.Deliveries += res.Deliveries
		total.Attempts += res.Attempts
		total.Bytes += res.Bytes
		if res.Last == "" {
			return total
		}
		if res.Last <= c.After {
			t.Fatalf("DeleteFinished did not move on: Last %q after %q", res.Last, c.After)
		}
		if i > 1000 {
			t.Fatal("DeleteFinished never finished its pass")
		}
		c.After = res.Last
	}
}

func exists(t *testing.T, s hookwatch.Store, id string) bool {
	t.Helper()
	_, err := s.GetEvent(context.Background(), id)
	switch hookwatch.ErrorCode(err) {
	case "":
		return true
	case hookwatch.ENOTFOUND:
		return false
	}
	t.Fatalf("GetEvent(%s): %v", id, err)
	return false
}

func testRetention(t *testing.T, open Opener) {
	ctx := context.Background()
	// The clock is the cutoffs: "now" is whatever a test says it is.
	t.Run("FinishedGoPendingStayDeadLettersLiveLonger", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		at := func(d time.Duration) time.Time { return base.Add(d) }
		// Received in this order (IDs sort by receive time).
		pending := NewEvent("stripe", "p_pending", at(0)) // never claimed
		pending.Destinations = []string{"slow"}
		inflight := NewEvent("stripe", "p_inflight", at(time.Second)) // claimed, not finished
		inflight.Destinations = []string{"busy"}
		delivered := NewEvent("stripe", "p_delivered", at(2*time.Second))
		delivered.Destinations = []string{"app"}
		dead := NewEvent("stripe", "p_dead", at(3*time.Second))
		dead.Destinations = []string{"app"}
		filtered := NewEvent("stripe", "p_filtered", at(4*time.Second)) // routed nowhere
		filtered.DedupeUntil = at(30 * 24 * time.Hour)
		replayed := NewEvent("stripe", "p_replayed", at(5*time.Second)) // dead, replayed, delivered on day 9
		replayed.Destinations = []string{"app"}
		other := NewEvent("github", "p_github", at(6*time.Second)) // another source
		other.Destinations = []string{"app"}
		recent := NewEvent("stripe", "p_recent", at(8*24*time.Hour))
		recent.Destinations = []string{"app"}
		insert(t, s, pending, inflight, delivered, dead, filtered, replayed, other, recent)

		claim(t, s, "busy", "w1", at(time.Hour), 10)
		for _, d := range claim(t, s, "app", "w1", at(time.Hour), 10) {
			o := hookwatch.OutcomeSucceeded
			if d.EventID == dead.ID || d.EventID == replayed.ID {
				o = hookwatch.OutcomeDead
			}
			finish(t, s, hookwatch.Finish{Owner: "w1", Outcome: o, Attempt: attemptOf(d, "w1", at(time.Hour), "", 200)})
		}
		// The replayed one went dead, was replayed on day 9 and delivered.
		if _, err := s.ReplayDeliveries(ctx, hookwatch.ReplayRequest{Filter: hookwatch.DeliveryFilter{EventIDs: []string{replayed.ID}},
			Actor: "test", Now: at(9 * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for _, d := range claim(t, s, "app", "w1", at(9*24*time.Hour), 10) {
			finish(t, s, hookwatch.Finish{Owner: "w1", Outcome: hookwatch.OutcomeSucceeded, Attempt: attemptOf(d, "w1", at(9*24*time.Hour), "", 200)})
		}
		ds, err := s.ListDeliveries(ctx, hookwatch.DeliveryFilter{EventIDs: []string{delivered.ID}})
		if err != nil || len(ds) != 1 {
			t.Fatalf("deliveries of the delivered event: %d, %v", len(ds), err)
		}

		oldest, err := s.OldestFinished(ctx)
		if err != nil || oldest == nil || oldest.ID != delivered.ID || !oldest.ReceivedAt.Equal(delivered.ReceivedAt) || oldest.Source != "stripe" ||
			oldest.Size < int64(len(delivered.Body)) {
			t.Fatalf("OldestFinished = %+v, %v; want the delivered event (the pending and in-flight ones are older but not finished)", oldest, err)
		}

		// Day 10, events kept 7 days, dead letters 30: the finished ones
		// of stripe go, one batch at a time; github has its own policy.
		now := at(10 * 24 * time.Hour)
		c := hookwatch.RetentionCutoff{Except: []string{"github"}, Finished: now.Add(-7 * 24 * time.Hour), Dead: now.Add(-30 * 24 * time.Hour), Limit: 1, Now: now}
		res := deleteAll(t, s, c)
		if res.Events != 2 || res.Deliveries != 1 || res.Attempts != 1 {
			t.Errorf("removed %+v; want 2 events (delivered, filtered), 1 delivery, 1 attempt", res)
		}
		if res.Bytes < int64(len(delivered.Body)+len(filtered.Body)) {
			t.Errorf("removed bytes %d, want at least the two bodies", res.Bytes)
		}
		for _, e := range []struct {
			e    *hookwatch.Event
			want bool
			why  string
		}{
			{pending, true, "a pending delivery"}, {inflight, true, "a delivery in flight"}, {delivered, false, "finished 10 days ago"},
			{dead, true, "a dead letter, kept 30 days"}, {filtered, false, "no delivery, received 10 days ago"},
			{replayed, true, "delivered again a day ago"}, {other, true, "another source's policy"}, {recent, true, "received 2 days ago"},
		} {
			if got := exists(t, s, e.e.ID); got != e.want {
				t.Errorf("%s (%s): there = %v, want %v", e.e.ProviderEventID, e.why, got, e.want)
			}
		}
		if _, _, err := s.GetDelivery(ctx, ds[0].ID); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("the removed event's delivery: %v, want not found", err)
		}
		// Dedupe wins over retention: the removed event's key lives until
		// its horizon.
		if r := insert(t, s, NewEvent("stripe", "p_filtered", now)); !r[0].Duplicate {
			t.Errorf("a retry within the dedupe horizon of a removed event was stored again: %+v", r[0])
		}
		// github's own policy: one day.
		res = deleteAll(t, s, hookwatch.RetentionCutoff{Sources: []string{"github"}, Finished: now.Add(-24 * time.Hour), Dead: now.Add(-24 * time.Hour), Now: now})
		if res.Events != 1 || exists(t, s, other.ID) || !exists(t, s, dead.ID) {
			t.Errorf("github's policy removed %+v", res)
		}

		// Day 40: the dead letter's 30 days are over; pending ones stay.
		now = at(40 * 24 * time.Hour)
		res = deleteAll(t, s, hookwatch.RetentionCutoff{Finished: now.Add(-7 * 24 * time.Hour), Dead: now.Add(-30 * 24 * time.Hour), Now: now})
		if exists(t, s, dead.ID) || exists(t, s, replayed.ID) || exists(t, s, recent.ID) || res.Events != 3 {
			t.Errorf("day 40 removed %+v; want the dead letter, the replayed and the recent one", res)
		}
		if !exists(t, s, pending.ID) || !exists(t, s, inflight.ID) {
			t.Errorf("an event with a pending delivery was removed")
		}
		if oldest, err := s.OldestFinished(ctx); err != nil || oldest != nil {
			t.Errorf("OldestFinished with only pending events = %+v, %v; want none", oldest, err)
		}
		// Everything is finished up to now: still, pending stays.
		if res := deleteAll(t, s, hookwatch.RetentionCutoff{Finished: now, Dead: now, Now: now}); res.Events != 0 {
			t.Errorf("removed %+v with only pending events left", res)
		}
		// A zero cutoff removes nothing.
		if res := deleteAll(t, s, hookwatch.RetentionCutoff{}); res.Events != 0 {
			t.Errorf("a zero cutoff removed %+v", res)
		}
	})

	t.Run("StoreSize", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, routed("stripe", 20, base, "app")...)
		size, err := s.StoreSize(ctx)
		if err != nil || size.Bytes <= 0 || size.Used <= 0 || size.Used > size.Bytes {
			t.Fatalf("StoreSize = %+v, %v; want positive sizes, used at most the size", size, err)
		}
	})
}
