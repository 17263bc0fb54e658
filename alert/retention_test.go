package alert

import (
	"context"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// TestEvaluatorPrunesFailures: the evaluator holding the lease applies the
// failures' retention on its schedule, at most once per Every.
func TestEvaluatorPrunesFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t)
	clk := &clock{t: t0}
	record := func(ats ...time.Time) {
		t.Helper()
		var fs []hookwatch.Failure
		for _, at := range ats {
			fs = append(fs, hookwatch.Failure{Kind: hookwatch.FailureAttempt, Source: "stripe", Destination: "app",
				Class: "server_error", EventID: "evt_1", At: at})
		}
		if _, err := s.RecordFailures(ctx, fs); err != nil {
			t.Fatal(err)
		}
	}
	left := func() int {
		t.Helper()
		counts, err := s.CountFailures(ctx, t0.Add(-24*time.Hour), t0.Add(24*time.Hour), true)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range counts {
			n += c.Count
		}
		return n
	}
	ev := New(Options{Store: s, Clock: clk, Interval: time.Second,
		Retention: Retention{MaxAge: 2 * time.Hour, MaxCount: 3, Every: 10 * time.Minute}})

	// Two too old, four recent: the age bound takes 2, the count bound 1.
	record(t0.Add(-3*time.Hour), t0.Add(-150*time.Minute), t0.Add(-4*time.Minute), t0.Add(-3*time.Minute), t0.Add(-2*time.Minute), t0.Add(-time.Minute))
	if err := ev.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := left(); n != 3 {
		t.Fatalf("after the first tick %d failures remain, want 3", n)
	}
	// More failures: not pruned before Every has passed, then pruned.
	record(t0.Add(time.Minute), t0.Add(2*time.Minute))
	clk.set(t0.Add(5 * time.Minute))
	if err := ev.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := left(); n != 5 {
		t.Fatalf("pruned again within Every: %d failures remain, want 5", n)
	}
	clk.set(t0.Add(10 * time.Minute))
	if err := ev.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := left(); n != 3 {
		t.Fatalf("after Every: %d failures remain, want 3", n)
	}
	// The issue keeps its figures.
	is, err := s.ListIssues(ctx, hookwatch.IssueFilter{})
	if err != nil || len(is) != 1 || is[0].Count != 8 {
		t.Errorf("issues after pruning: %+v %v", is, err)
	}

	// Another instance that does not hold the lease prunes nothing.
	other := New(Options{Store: s, Clock: clk, Interval: time.Second, Owner: "ins_other",
		Retention: Retention{MaxCount: 1, Every: time.Nanosecond}})
	if err := other.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := left(); n != 3 {
		t.Errorf("an instance without the lease pruned: %d failures remain", n)
	}
}
