package monitor

import (
	"context"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/hookwatch/hookwatch"
)

// Schedule says when a periodic job is expected to run, so that Sentry's
// cron monitor can tell when it stopped. Set Every or Crontab.
type Schedule struct {
	// Every is the job's interval (at least a minute: Sentry counts in
	// minutes).
	Every time.Duration
	// Crontab is a crontab expression ("*/5 * * * *"), used when Every is 0.
	Crontab string
	// Margin is how late a run may start before it counts as missed
	// (1 minute when zero).
	Margin time.Duration
	// MaxRuntime is how long a run may take before it counts as failed
	// (Sentry's default, 30 minutes, when zero).
	MaxRuntime time.Duration
}

// Every returns the schedule of a job run every d.
func Every(d time.Duration) Schedule { return Schedule{Every: d} }

func (s Schedule) config() *sentry.MonitorConfig {
	c := &sentry.MonitorConfig{
		CheckInMargin:         minutes(s.Margin, 1),
		MaxRuntime:            minutes(s.MaxRuntime, 0),
		FailureIssueThreshold: 1,
		RecoveryThreshold:     1,
		Timezone:              "UTC",
	}
	switch {
	case s.Every >= 24*time.Hour && s.Every%(24*time.Hour) == 0:
		c.Schedule = sentry.IntervalSchedule(int64(s.Every/(24*time.Hour)), sentry.MonitorScheduleUnitDay)
	case s.Every >= time.Hour && s.Every%time.Hour == 0:
		c.Schedule = sentry.IntervalSchedule(int64(s.Every/time.Hour), sentry.MonitorScheduleUnitHour)
	case s.Every > 0:
		c.Schedule = sentry.IntervalSchedule(minutes(s.Every, 1), sentry.MonitorScheduleUnitMinute)
	default:
		c.Schedule = sentry.CrontabSchedule(s.Crontab)
	}
	return c
}

// minutes rounds d up to whole minutes; def when d is zero.
func minutes(d time.Duration, def int64) int64 {
	if d <= 0 {
		return def
	}
	return int64((d + time.Minute - 1) / time.Minute)
}

// CheckIns returns m's check-ins as the hookwatch.CheckIn that periodic
// jobs take: each run of a job is reported to the cron monitor named by
// its slug, on a schedule of Every(job.Every). It is nil (the job just
// runs) when m is disabled.
func (m *Monitor) CheckIns() hookwatch.CheckIn {
	if !m.Enabled() {
		return nil
	}
	return func(ctx context.Context, job hookwatch.Job, fn func(ctx context.Context) error) error {
		return m.CheckIn(ctx, job.Slug, Every(job.Every), fn)
	}
}

// CheckIn runs one run of a periodic job and reports it to Sentry's cron
// monitor slug: in_progress (with the monitor's schedule, so Sentry creates
// or updates it), then ok, or error when fn fails or panics (the panic goes
// on). When m is disabled it just runs fn. fn's error is returned
// unchanged. Packages get it as a hookwatch.CheckIn (CheckIns).
func (m *Monitor) CheckIn(ctx context.Context, slug string, s Schedule, fn func(ctx context.Context) error) error {
	if !m.Enabled() {
		return fn(ctx)
	}
	hub := m.newHub()
	hub.Scope().SetTags(map[string]string{"component": "background_jobs", "monitor.slug": slug})
	ctx = sentry.SetHubOnContext(ctx, hub)
	id := hub.CaptureCheckIn(&sentry.CheckIn{MonitorSlug: slug, Status: sentry.CheckInStatusInProgress}, s.config())
	start := time.Now()
	status := sentry.CheckInStatusError
	defer func() {
		c := &sentry.CheckIn{MonitorSlug: slug, Status: status, Duration: time.Since(start)}
		if id != nil {
			c.ID = *id
		}
		hub.CaptureCheckIn(c, nil)
	}()
	err := fn(ctx)
	if err == nil {
		status = sentry.CheckInStatusOK
	}
	return err
}
