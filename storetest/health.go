package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

func testHealth(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("TrafficAndBacklog", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		// Four events to app at base, base+1s...; one test event.
		events := routed("stripe", 4, base, "app")
		testEvent := NewEvent("stripe", "", base.Add(5*time.Second))
		testEvent.Test, testEvent.Destinations = true, []string{"app"}
		insert(t, s, append(events, testEvent)...)
		ds := claim(t, s, "app", "w", base.Add(10*time.Second), 10)
		if len(ds) != 5 {
			t.Fatalf("claimed %d, want 5", len(ds))
		}
		byEvent := map[string]*hookwatch.Delivery{}
		for _, d := range ds {
			byEvent[d.EventID] = d
		}
		at := base.Add(10 * time.Second)
		ok := func(d *hookwatch.Delivery, when time.Time) hookwatch.Finish {
			a := attemptOf(d, "w", when, hookwatch.ClassNone, 200)
			a.Latency = 0
			return hookwatch.Finish{Owner: "w", Attempt: a, Outcome: hookwatch.OutcomeSucceeded}
		}
		fail := func(d *hookwatch.Delivery, o hookwatch.Outcome) hookwatch.Finish {
			a := attemptOf(d, "w", at, hookwatch.ClassServer, 500)
			a.Latency = 0
			return hookwatch.Finish{Owner: "w", Attempt: a, Outcome: o, NextAttemptAt: at.Add(time.Hour)}
		}
		// events[0] delivered 10s after receipt, events[1] 89s after
		// (completed at base+90s), events[2] failed and waits, events[3]
		// dead; the test event delivered.
		finish(t, s, ok(byEvent[events[0].ID], base.Add(10*time.Second)), fail(byEvent[events[2].ID], hookwatch.OutcomeRetry),
			fail(byEvent[events[3].ID], hookwatch.OutcomeDead), ok(byEvent[testEvent.ID], at))
		finish(t, s, ok(byEvent[events[1].ID], base.Add(90*time.Second)))

		tr, err := s.Traffic(ctx, hookwatch.TrafficQuery{Since: base.Add(-time.Minute), Until: base.Add(5 * time.Minute), Within: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		var src, pair *hookwatch.Traffic
		for i := range tr {
			switch {
			case tr[i].Source == "stripe" && tr[i].Destination == "":
				src = &tr[i]
			case tr[i].Source == "stripe" && tr[i].Destination == "app":
				pair = &tr[i]
			default:
				t.Errorf("unexpected row %+v", tr[i])
			}
		}
		if src == nil || pair == nil {
			t.Fatalf("Traffic = %+v, want a source row and a (stripe, app) row", tr)
		}
		if src.Accepted != 4 {
			t.Errorf("accepted = %d, want 4 (test events left out)", src.Accepted)
		}
		if pair.Delivered != 2 || pair.DeadLetters != 1 || pair.Failed[hookwatch.ClassServer] != 2 || len(pair.Failed) != 1 {
			t.Errorf("delivered %d, dead %d, failed %v; want 2, 1, server_error:2", pair.Delivered, pair.DeadLetters, pair.Failed)
		}
		if pair.LatencySum != 99*time.Second {
			t.Errorf("latency sum = %v, want 99s", pair.LatencySum)
		}
		if len(pair.Latency) != len(hookwatch.LatencyBuckets)+1 {
			t.Fatalf("latency buckets = %v", pair.Latency)
		}
		want := make([]int, len(hookwatch.LatencyBuckets)+1)
		for i, b := range hookwatch.LatencyBuckets {
			if want[i] == 0 && b >= 10*time.Second && (i == 0 || hookwatch.LatencyBuckets[i-1] < 10*time.Second) {
				want[i]++
			}
			if b >= 89*time.Second && hookwatch.LatencyBuckets[i-1] < 89*time.Second {
				want[i]++
			}
		}
		for i := range want {
			if want[i] != pair.Latency[i] {
				t.Errorf("latency buckets = %v, want %v", pair.Latency, want)
				break
			}
		}
		// SLO (within 1m): all four production events were received in
		// [base-2m, base+4m); only events[0] was delivered within a minute.
		if pair.SLOTotal != 4 || pair.SLOGood != 1 {
			t.Errorf("SLO total/good = %d/%d, want 4/1", pair.SLOTotal, pair.SLOGood)
		}
		// With test events: they come in rows of their own, never mixed in.
		tr, _ = s.Traffic(ctx, hookwatch.TrafficQuery{Since: base.Add(-time.Minute), Until: base.Add(5 * time.Minute), Test: true})
		var prodAccepted, testAccepted, testDelivered, prodDelivered int
		for _, r := range tr {
			switch {
			case r.Destination == "" && r.Test:
				testAccepted += r.Accepted
			case r.Destination == "":
				prodAccepted += r.Accepted
			case r.Test:
				testDelivered += r.Delivered
				if len(r.Failed) != 0 || r.DeadLetters != 0 {
					t.Errorf("test row %+v: the test event neither failed nor died", r)
				}
			default:
				prodDelivered += r.Delivered
			}
		}
		if prodAccepted != 4 || testAccepted != 1 || prodDelivered != 2 || testDelivered != 1 {
			t.Errorf("with test: accepted %d + test %d, delivered %d + test %d; want 4 + 1, 2 + 1 (%+v)",
				prodAccepted, testAccepted, prodDelivered, testDelivered, tr)
		}
		tr, _ = s.Traffic(ctx, hookwatch.TrafficQuery{Since: base.Add(time.Hour), Until: base.Add(2 * time.Hour)})
		if len(tr) != 0 {
			t.Errorf("Traffic of an empty window = %+v", tr)
		}

		bl, err := s.Backlogs(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(bl) != 1 || bl[0].Pending != 1 || bl[0].Destination != "app" || bl[0].Source != "stripe" || !bl[0].Oldest.Equal(byEvent[events[2].ID].QueuedAt) {
			t.Errorf("Backlogs = %+v, want one pending for (stripe, app) queued at %v", bl, byEvent[events[2].ID].QueuedAt)
		}
		// A pending test delivery is counted apart when test events are
		// asked for, and not at all otherwise.
		pendingTest := NewEvent("stripe", "", base.Add(20*time.Second))
		pendingTest.Test, pendingTest.Destinations = true, []string{"app"}
		insert(t, s, pendingTest)
		if bl, _ = s.Backlogs(ctx, false); len(bl) != 1 || bl[0].Pending != 1 || bl[0].Test {
			t.Errorf("Backlogs without test = %+v, want the one production delivery", bl)
		}
		bl, err = s.Backlogs(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		prod, test := 0, 0
		for _, b := range bl {
			if b.Test {
				test += b.Pending
			} else {
				prod += b.Pending
			}
		}
		if prod != 1 || test != 1 || len(bl) != 2 {
			t.Errorf("Backlogs with test = %+v, want one production row and one test row of one each", bl)
		}
	})
}
