package maintain_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/maintain"
)

// checkIns records what a hookwatch.CheckIn is given.
type checkIns struct {
	mu   sync.Mutex
	runs []checkIn
	ch   chan checkIn
}

type checkIn struct {
	runner string
	job    hookwatch.Job
	err    error
}

func (c *checkIns) hook(runner string) hookwatch.CheckIn {
	return func(ctx context.Context, job hookwatch.Job, fn func(ctx context.Context) error) error {
		err := fn(ctx)
		in := checkIn{runner, job, err}
		c.mu.Lock()
		c.runs = append(c.runs, in)
		c.mu.Unlock()
		c.ch <- in
		return err
	}
}

func (c *checkIns) next(t *testing.T) checkIn {
	t.Helper()
	select {
	case in := <-c.ch:
		return in
	case <-time.After(10 * time.Second):
		t.Fatal("no check-in within 10s")
		return checkIn{}
	}
}

// TestRunnerRunsOnlyWhileLeading: two runners share one leadership; only
// the one that leads runs its jobs and checks them in, with the injected
// clock's time, and the other takes over when the first stops.
func TestRunnerRunsOnlyWhileLeading(t *testing.T) {
	leader := &hookwatch.LocalLeader{}
	rec := &checkIns{ch: make(chan checkIn, 100)}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	ran := map[string]int{}
	seen := map[string]time.Time{}
	runner := func(name string) *maintain.Runner {
		return &maintain.Runner{Leader: leader, CheckIn: rec.hook(name), Now: func() time.Time { return now }, Jobs: []maintain.Job{
			{Job: hookwatch.Job{Slug: "job-ok", Every: time.Hour}, Run: func(ctx context.Context, at time.Time) error {
				mu.Lock()
				defer mu.Unlock()
				ran[name]++
				seen[name] = at
				return nil
			}},
			{Job: hookwatch.Job{Slug: "job-fails", Every: time.Hour}, Run: func(context.Context, time.Time) error {
				return errors.New("disk on fire")
			}},
		}}
	}
	a, b := runner("a"), runner("b")
	a.Start()
	// a leads (it started first and LocalLeader is first come): both jobs
	// run at once and check in, the failure reported as such.
	got := map[string]checkIn{}
	for range 2 {
		in := rec.next(t)
		got[in.job.Slug] = in
	}
	if in := got["job-ok"]; in.runner != "a" || in.err != nil || in.job.Every != time.Hour {
		t.Errorf("job-ok check-in = %+v", in)
	}
	if in := got["job-fails"]; in.runner != "a" || in.err == nil || in.err.Error() != "disk on fire" {
		t.Errorf("job-fails check-in = %+v; want its error", in)
	}
	b.Start() // waits: a leads
	// An operator's run goes through the check-in too, leader or not.
	if err := b.Run(context.Background(), "job-ok"); err != nil {
		t.Fatal(err)
	}
	if in := rec.next(t); in.runner != "b" || in.job.Slug != "job-ok" {
		t.Errorf("b.Run check-in = %+v", in)
	}
	if err := b.Run(context.Background(), "nope"); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
		t.Errorf("Run of an unknown job: %v", err)
	}
	mu.Lock()
	if ran["b"] != 1 {
		t.Errorf("b ran %d times while a leads, want 1 (its explicit Run)", ran["b"])
	}
	mu.Unlock()
	// a stops: b leads and runs its jobs at once.
	a.Close()
	for range 2 {
		if in := rec.next(t); in.runner != "b" {
			t.Errorf("after a stopped, check-in from %s", in.runner)
		}
	}
	b.Close()
	mu.Lock()
	defer mu.Unlock()
	if ran["a"] != 1 || ran["b"] != 2 {
		t.Errorf("runs: %v; want a once, b twice", ran)
	}
	if !seen["a"].Equal(now) || !seen["b"].Equal(now) {
		t.Errorf("jobs saw %v, want the injected clock's %v", seen, now)
	}
}

// TestRunnerCheckInEvery: a job that runs more often than its check-in
// interval checks in once per interval of the runner's clock.
func TestRunnerCheckInEvery(t *testing.T) {
	rec := &checkIns{ch: make(chan checkIn, 100)}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	runs := 0
	r := &maintain.Runner{Leader: &hookwatch.LocalLeader{}, CheckIn: rec.hook("r"), Now: func() time.Time { return now },
		Jobs: []maintain.Job{{Job: hookwatch.Job{Slug: "eval", Every: 30 * time.Second}, CheckInEvery: time.Minute,
			Run: func(context.Context, time.Time) error { runs++; return nil }}}}
	ctx := context.Background()
	for _, step := range []time.Duration{0, 30 * time.Second, 30 * time.Second, 30 * time.Second} {
		now = now.Add(step)
		if err := r.Run(ctx, "eval"); err != nil {
			t.Fatal(err)
		}
	}
	if runs != 4 || len(rec.runs) != 2 {
		t.Fatalf("%d runs, %d check-ins; want 4 runs, 2 check-ins", runs, len(rec.runs))
	}
	if rec.runs[0].job.Every != time.Minute {
		t.Errorf("check-in schedule %v, want the check-in interval (1m)", rec.runs[0].job.Every)
	}
}
