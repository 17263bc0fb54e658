package alert

import (
	"context"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// TestEvaluatorPrunesFailures: PruneFailures applies the failures'
// retention (the maintenance runner calls it on the leader).
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
	if n, err := ev.PruneFailures(ctx, t0); err != nil || n != 3 {
		t.Fatalf("PruneFailures = %d, %v; want 3 deleted", n, err)
	}
	if n := left(); n != 3 {
		t.Fatalf("after the first prune %d failures remain, want 3", n)
	}
	// A tick evaluates; it prunes nothing (the runner schedules pruning).
	record(t0.Add(time.Minute), t0.Add(2*time.Minute))
	if err := ev.TickAt(ctx, t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := left(); n != 5 {
		t.Fatalf("a tick pruned: %d failures remain, want 5", n)
	}
	if n, err := ev.PruneFailures(ctx, t0.Add(10*time.Minute)); err != nil || n != 2 {
		t.Fatalf("PruneFailures = %d, %v; want 2 deleted", n, err)
	}
	if n := left(); n != 3 {
		t.Fatalf("after the second prune: %d failures remain, want 3", n)
	}
	// The issue keeps its figures.
	is, err := s.ListIssues(ctx, hookwatch.IssueFilter{})
	if err != nil || len(is) != 1 || is[0].Count != 8 {
		t.Errorf("issues after pruning: %+v %v", is, err)
	}
	// No bounds: nothing goes.
	none := New(Options{Store: s, Clock: clk})
	if n, err := none.PruneFailures(ctx, t0.Add(24*time.Hour)); err != nil || n != 0 {
		t.Errorf("PruneFailures without bounds = %d, %v", n, err)
	}
}
