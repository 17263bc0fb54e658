package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

func testSeries(t *testing.T, open Opener) {
	ctx := context.Background()
	// One store for every subtest: they only read.
	s := open(t)
	// Buckets of a minute from base: four stripe events to app in bucket
	// 0 and one in bucket 2, a github event to crm in bucket 1, a test
	// event (left out everywhere) in bucket 0.
	events := routed("stripe", 4, base, "app")
	events[3].Type = "invoice.failed"
	late := NewEvent("stripe", "", base.Add(150*time.Second))
	late.Destinations = []string{"app"}
	gh := NewEvent("github", "", base.Add(70*time.Second))
	gh.Provider, gh.Type, gh.Destinations = "github", "push", []string{"crm"}
	testEvent := NewEvent("stripe", "", base.Add(5*time.Second))
	testEvent.Test, testEvent.Destinations = true, []string{"app"}
	insert(t, s, append(events, late, gh, testEvent)...)

	ds := claim(t, s, "app", "w", base.Add(10*time.Second), 10)
	byEvent := map[string]*hookwatch.Delivery{}
	for _, d := range ds {
		byEvent[d.EventID] = d
	}
	// The late event's delivery is not due yet: it stays pending.
	if len(byEvent) != 5 {
		t.Fatalf("claimed %d deliveries to app, want 5", len(byEvent))
	}
	ok := func(d *hookwatch.Delivery, when time.Time) hookwatch.Finish {
		return hookwatch.Finish{Owner: "w", Attempt: attemptOf(d, "w", when, hookwatch.ClassNone, 200), Outcome: hookwatch.OutcomeSucceeded}
	}
	fail := func(d *hookwatch.Delivery, when time.Time, o hookwatch.Outcome) hookwatch.Finish {
		return hookwatch.Finish{Owner: "w", Attempt: attemptOf(d, "w", when, hookwatch.ClassServer, 500), Outcome: o, NextAttemptAt: when.Add(time.Hour)}
	}
	// events[0] delivered at 10s (bucket 0), events[1] at 90s (bucket 1),
	// events[2] failed at 20s and waits, events[3] dead at 30s; the test
	// event delivered at 10s.
	finish(t, s, ok(byEvent[events[0].ID], base.Add(10*time.Second)), fail(byEvent[events[2].ID], base.Add(20*time.Second), hookwatch.OutcomeRetry),
		fail(byEvent[events[3].ID], base.Add(30*time.Second), hookwatch.OutcomeDead), ok(byEvent[testEvent.ID], base.Add(10*time.Second)))
	finish(t, s, ok(byEvent[events[1].ID], base.Add(90*time.Second)))
	// Two signature failures on stripe in bucket 1, one on a test request.
	sig := func(at time.Time, test bool) hookwatch.Failure {
		return hookwatch.Failure{Kind: hookwatch.FailureSignature, Source: "stripe", Class: "signature_mismatch", At: at, Test: test, Message: "bad signature"}
	}
	recordFailures(t, s, sig(base.Add(61*time.Second), false), sig(base.Add(62*time.Second), false), sig(base.Add(63*time.Second), true))

	q := hookwatch.SeriesQuery{Since: base, Until: base.Add(5 * time.Minute), Bucket: time.Minute}

	t.Run("Rows", func(t *testing.T) {
		rows, err := s.Series(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got := map[[3]any]hookwatch.SeriesRow{}
		for _, r := range rows {
			got[[3]any{r.Source, r.Destination, r.Bucket}] = r
		}
		check := func(src, dst string, b int, want func(r hookwatch.SeriesRow) bool, what string) {
			t.Helper()
			r, found := got[[3]any{src, dst, b}]
			if !found || !want(r) {
				t.Errorf("row (%s, %q, bucket %d) = %+v (found %v), want %s", src, dst, b, r, found, what)
			}
		}
		check("stripe", "", 0, func(r hookwatch.SeriesRow) bool { return r.Accepted == 4 && r.Rejected == 0 }, "4 accepted (the test event left out)")
		check("stripe", "", 1, func(r hookwatch.SeriesRow) bool { return r.Accepted == 0 && r.Rejected == 2 }, "2 rejected (the test request left out)")
		check("stripe", "", 2, func(r hookwatch.SeriesRow) bool { return r.Accepted == 1 }, "1 accepted")
		check("github", "", 1, func(r hookwatch.SeriesRow) bool { return r.Accepted == 1 }, "1 accepted")
		check("stripe", "app", 0, func(r hookwatch.SeriesRow) bool {
			return r.Delivered == 1 && r.Attempts == 3 && r.Failed == 2 && r.DeadLetters == 1
		}, "1 delivered, 3 attempts, 2 failed, 1 dead letter")
		check("stripe", "app", 1, func(r hookwatch.SeriesRow) bool { return r.Delivered == 1 && r.Attempts == 1 && r.Failed == 0 }, "1 delivered of 1 attempt")
		// Processing time: events[0] took 10s, events[1] 89s, plus the
		// attempt's 1.5ms (completion is the attempt's end); attempts
		// took 1.5ms each.
		r0, r1 := got[[3]any{"stripe", "app", 0}], got[[3]any{"stripe", "app", 1}]
		if want := histOf(10*time.Second + 1500*time.Microsecond); !reflect.DeepEqual(r0.Latency, want) {
			t.Errorf("bucket 0 processing time histogram = %v, want %v", r0.Latency, want)
		}
		if want := histOf(89*time.Second + 1500*time.Microsecond); !reflect.DeepEqual(r1.Latency, want) {
			t.Errorf("bucket 1 processing time histogram = %v, want %v", r1.Latency, want)
		}
		if want := histOf(1500*time.Microsecond, 1500*time.Microsecond, 1500*time.Microsecond); !reflect.DeepEqual(r0.AttemptLatency, want) {
			t.Errorf("bucket 0 attempt latency histogram = %v, want %v", r0.AttemptLatency, want)
		}
		for _, r := range rows {
			if r.Bucket < 0 || r.Bucket >= q.Buckets() {
				t.Errorf("row %+v is outside the %d buckets", r, q.Buckets())
			}
		}
		if len(rows) != 6 {
			t.Errorf("%d rows, want 6: %+v", len(rows), rows)
		}
	})

	t.Run("Filters", func(t *testing.T) {
		fq := q
		fq.Destination = "crm"
		rows, err := s.Series(ctx, fq)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 0 {
			t.Errorf("crm rows = %+v, want none (nothing was attempted to crm; receive rows are left out with a destination)", rows)
		}
		fq = q
		fq.Source = "github"
		rows, err = s.Series(ctx, fq)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Source != "github" || rows[0].Accepted != 1 {
			t.Errorf("github rows = %+v, want one receive row with 1 accepted", rows)
		}
		// A range that starts after the events: nothing, and nothing
		// rounded into bucket 0.
		late := hookwatch.SeriesQuery{Since: base.Add(3 * time.Minute), Until: base.Add(4 * time.Minute), Bucket: time.Minute}
		if rows, err := s.Series(ctx, late); err != nil || len(rows) != 0 {
			t.Errorf("Series after every event = %+v, %v; want none", rows, err)
		}
	})

	t.Run("Backlog", func(t *testing.T) {
		points, err := s.BacklogSeries(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]int{}
		for _, p := range points {
			got[p.Destination] = append(got[p.Destination], p.Pending)
		}
		// app: 4 created in bucket 0, 2 done in it (delivered, dead), 1
		// delivered in bucket 1, 1 more created in bucket 2. crm: 1
		// created in bucket 1, never claimed.
		want := map[string][]int{"app": {2, 1, 2, 2, 2}, "crm": {0, 1, 1, 1, 1}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("backlog at the end of each bucket = %v, want %v", got, want)
		}
		// From the middle: the deliveries pending at the start count.
		mid := q
		mid.Since = base.Add(2 * time.Minute)
		points, err = s.BacklogSeries(ctx, mid)
		if err != nil {
			t.Fatal(err)
		}
		got = map[string][]int{}
		for _, p := range points {
			got[p.Destination] = append(got[p.Destination], p.Pending)
		}
		if want := map[string][]int{"app": {2, 2, 2}, "crm": {1, 1, 1}}; !reflect.DeepEqual(got, want) {
			t.Errorf("backlog from minute 2 = %v, want %v", got, want)
		}
	})

	t.Run("FailingTypes", func(t *testing.T) {
		fs, err := s.FailingTypes(ctx, q, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []hookwatch.TypeFailures{
			{Source: "stripe", Type: "invoice.failed", Destination: "app", Failed: 1, Attempts: 1},
			{Source: "stripe", Type: "invoice.paid", Destination: "app", Failed: 1, Attempts: 3},
		}
		if !reflect.DeepEqual(fs, want) {
			t.Errorf("FailingTypes = %+v, want %+v", fs, want)
		}
		if fs, err := s.FailingTypes(ctx, q, 1); err != nil || len(fs) != 1 {
			t.Errorf("FailingTypes(limit 1) = %+v, %v; want one", fs, err)
		}
	})

	// Last: it changes the store. The dead delivery replayed at 4m30s
	// enters the backlog again then (and its first pass is forgotten: it
	// counts as it is now).
	t.Run("BacklogAfterReplay", func(t *testing.T) {
		if _, err := s.ReplayDeliveries(ctx, hookwatch.ReplayRequest{Filter: hookwatch.DeliveryFilter{EventIDs: []string{events[3].ID}},
			Actor: "test", Now: base.Add(270 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		points, err := s.BacklogSeries(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, p := range points {
			if p.Destination == "app" {
				got = append(got, p.Pending)
			}
		}
		if want := []int{2, 1, 2, 2, 3}; !reflect.DeepEqual(got, want) {
			t.Errorf("app backlog after a replay in bucket 4 = %v, want %v", got, want)
		}
	})

	t.Run("Bounds", func(t *testing.T) {
		for _, bad := range []hookwatch.SeriesQuery{
			{Since: base, Until: base.Add(time.Hour)},
			{Since: base, Until: base.Add(-time.Hour), Bucket: time.Minute},
			{Since: base, Until: base.Add(24 * time.Hour), Bucket: time.Minute},
		} {
			if _, err := s.Series(ctx, bad); hookwatch.ErrorCode(err) != hookwatch.EINVALID {
				t.Errorf("Series(%+v) = %v, want EINVALID", bad, err)
			}
			if _, err := s.BacklogSeries(ctx, bad); hookwatch.ErrorCode(err) != hookwatch.EINVALID {
				t.Errorf("BacklogSeries(%+v) = %v, want EINVALID", bad, err)
			}
		}
	})
}

// histOf returns the LatencyBuckets histogram of ds.
func histOf(ds ...time.Duration) []int {
	h := make([]int, len(hookwatch.LatencyBuckets)+1)
	for _, d := range ds {
		i := 0
		for i < len(hookwatch.LatencyBuckets) && d > hookwatch.LatencyBuckets[i] {
			i++
		}
		h[i]++
	}
	return h
}
