package hookwatch

import (
	"context"
	"time"
)

// ErrorReporter receives internal errors: the error tracker (the monitor's
// ReportError when Sentry is on). A nil ErrorReporter reports nothing, so
// packages take one as a value and call Report without checking.
type ErrorReporter func(ctx context.Context, err error)

// Report passes err to the reporter, if there is one.
func (r ErrorReporter) Report(ctx context.Context, err error) {
	if r != nil && err != nil {
		r(ctx, err)
	}
}

// Job names a periodic job for the cron monitor: its slug and how often it
// is expected to run, so a monitor can tell when it stopped.
type Job struct {
	// Slug is the cron monitor's name for the job
	// ("hookwatch-dedupe-retention").
	Slug string
	// Every is the job's interval.
	Every time.Duration
}

// CheckIn runs one run of a periodic job, reporting its start and outcome to
// a cron monitor (the monitor's CheckIn when Sentry is on). fn's error is
// returned unchanged. A nil CheckIn just runs fn.
type CheckIn func(ctx context.Context, job Job, fn func(ctx context.Context) error) error

// Run runs fn as one run of job through the check-in, if there is one.
func (c CheckIn) Run(ctx context.Context, job Job, fn func(ctx context.Context) error) error {
	if c == nil {
		return fn(ctx)
	}
	return c(ctx, job, fn)
}
