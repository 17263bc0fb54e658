// Package maintain runs Hookwatch's periodic jobs (event retention, dedupe
// key expiry, quarantine bounds, failure pruning, alert evaluation) on one
// instance at a time: the Runner waits for the store's leadership
// (hookwatch.Leader: a PostgreSQL advisory lock, always granted on SQLite),
// then runs every job on its own interval while it leads, each run
// reported through a hookwatch.CheckIn (the cron monitor) and given the
// time from one injected clock. When the leadership is lost (the lock's
// connection failed) the jobs stop and the runner waits to lead again; an
// instance that does not lead runs none of them.
//
// This is the one way periodic jobs are coordinated. A job must be
// idempotent: a lost leader may overlap its successor for up to a poll
// interval (see hookwatch.Leader). A job whose effect is not idempotent
// (sending a notification) keeps a fence of its own in the store (the alert
// evaluator's lease, see alert.Evaluator.TickAt).
package maintain

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Leadership is the Leader name the runner's jobs run under.
const Leadership = "maintenance"

// Job is one periodic job.
type Job struct {
	// Job is the cron monitor's slug and the interval between runs.
	hookwatch.Job
	// CheckInEvery is the least time between two runs reported to the
	// cron monitor (default Every): a job that runs every few seconds
	// checks in once a minute (cron monitors count in minutes); the runs
	// between are run all the same.
	CheckInEvery time.Duration
	// Run runs the job once at now. Its error is logged and reported to
	// the check-in; the job runs again at its next interval.
	Run func(ctx context.Context, now time.Time) error
}

// Runner runs Jobs under Leader; Start starts it, Close stops it.
type Runner struct {
	// Leader elects the instance that runs the jobs. Required.
	Leader hookwatch.Leader
	// CheckIn reports each run (nil: none are reported).
	CheckIn hookwatch.CheckIn
	// Now is the clock every run is given (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	Jobs   []Job

	stop context.CancelFunc
	done chan struct{}
	mu   sync.Mutex // guards checkedIn
	// checkedIn is when each job was last reported to the cron monitor.
	checkedIn map[string]time.Time
}

// Start runs the jobs in the background until Close: it waits to lead,
// then runs every job at once and every Every while it leads.
func (r *Runner) Start() {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		for ctx.Err() == nil {
			lead, release, err := r.Leader.Lead(ctx, Leadership)
			if err != nil {
				return // ctx is done
			}
			r.Logger.Debug("maintenance: leading; periodic jobs run on this instance")
			var wg sync.WaitGroup
			for _, j := range r.Jobs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r.schedule(lead, j)
				}()
			}
			wg.Wait()
			release()
			if ctx.Err() == nil {
				r.Logger.Warn("maintenance: leadership lost; periodic jobs wait to lead again")
			}
		}
	}()
}

// schedule runs j at once, then every j.Every until ctx is done.
func (r *Runner) schedule(ctx context.Context, j Job) {
	every := j.Every
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := r.run(ctx, j); err != nil && ctx.Err() == nil {
			r.Logger.Error("maintenance: job failed; it runs again at its next interval", "job", j.Slug, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Run runs the job named slug once now, through the check-in, whether or
// not this instance leads (for a command an operator runs, and tests). It
// returns ENOTFOUND for an unknown slug.
func (r *Runner) Run(ctx context.Context, slug string) error {
	for _, j := range r.Jobs {
		if j.Slug == slug {
			return r.run(ctx, j)
		}
	}
	return hookwatch.Errorf(hookwatch.ENOTFOUND, "no periodic job named %q", slug)
}

func (r *Runner) run(ctx context.Context, j Job) error {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	run := func(ctx context.Context) error {
		err := j.Run(ctx, now())
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return nil // stopped: not a failure of the job
		}
		return err
	}
	if !r.dueCheckIn(j, now()) {
		return run(ctx)
	}
	job := j.Job
	if j.CheckInEvery > 0 {
		job.Every = j.CheckInEvery // what the monitor expects
	}
	return r.CheckIn.Run(ctx, job, run)
}

// dueCheckIn reports whether this run of j is reported to the cron
// monitor, and if so notes it.
func (r *Runner) dueCheckIn(j Job, now time.Time) bool {
	every := j.CheckInEvery
	if every <= 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.checkedIn == nil {
		r.checkedIn = map[string]time.Time{}
	}
	if last, ok := r.checkedIn[j.Slug]; ok && now.Sub(last) < every {
		return false
	}
	r.checkedIn[j.Slug] = now
	return true
}

// Close stops the jobs, waits for runs in progress and gives the
// leadership up.
func (r *Runner) Close() {
	if r.stop == nil {
		return
	}
	r.stop()
	<-r.done
}
