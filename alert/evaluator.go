package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/monitor"
)

// LeaseName is the store lease that elects the evaluator.
const LeaseName = "alert-evaluator"

// Options configure an Evaluator.
type Options struct {
	Store hookwatch.Store
	Rules []Rule
	// Channels are the notifiers by channel name.
	Channels map[string]Notifier
	// Clock drives windows, `for`, cooldowns, the lease and grouping.
	Clock hookwatch.Clock
	// Interval is how often rules are evaluated; default 30s.
	Interval time.Duration
	// GroupWindow: each channel gets at most one message per window.
	GroupWindow time.Duration
	// Owner names this instance for the evaluator lease.
	Owner string
	// BaseURL prefixes links to issues in notifications.
	BaseURL string
	Logger  *slog.Logger
	// Retries is how many times a failed send is tried again; default 2.
	Retries int
	// Sleep waits between retries; tests make it instant.
	Sleep func(ctx context.Context, d time.Duration) error
	// Retention bounds the failures table; the evaluator holding the
	// lease applies it, so instances sharing a store do not all prune.
	Retention Retention
	// Context carries values to the schedule, such as the monitor whose
	// cron check-ins report it (monitor.NewContext); its cancellation is
	// not used (Close stops the schedule).
	Context context.Context
}

// checkInEvery is how often the schedule reports a cron check-in (Sentry's
// monitors count in minutes; the evaluation itself runs every Interval).
const checkInEvery = time.Minute

// Retention bounds the failures recorded behind issues
// (hookwatch.IssueStore.PruneFailures): those older than MaxAge go, then
// all but the MaxCount most recent. Zero bounds are not applied.
type Retention struct {
	MaxAge   time.Duration
	MaxCount int
	// Every is the least time between two prunes; default 10m.
	Every time.Duration
}

// Evaluator evaluates alert rules and sends notifications. Instances
// sharing a store each run one; the store lease makes only one of them
// evaluate and send at a time.
type Evaluator struct {
	opts Options
	mu   sync.Mutex // one Tick at a time
	stop context.CancelFunc
	done chan struct{}
	// prunedAt is when this instance last applied the retention (under mu).
	prunedAt time.Time
}

// New returns an evaluator; Start runs it on its schedule.
func New(opts Options) *Evaluator {
	if opts.Clock == nil {
		opts.Clock = hookwatch.SystemClock{}
	}
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Owner == "" {
		opts.Owner = hookwatch.NewID("ins", time.Now())
	}
	if opts.Retries == 0 {
		opts.Retries = 2
	}
	if opts.Retention.Every <= 0 {
		opts.Retention.Every = 10 * time.Minute
	}
	if opts.Sleep == nil {
		opts.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return &Evaluator{opts: opts}
}

// Start runs Tick every Interval until Close.
func (e *Evaluator) Start() {
	base := e.opts.Context
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(base))
	e.stop, e.done = cancel, make(chan struct{})
	go func() {
		defer close(e.done)
		t := time.NewTicker(e.opts.Interval)
		defer t.Stop()
		var lastCheckIn time.Time
		for {
			var err error
			if time.Since(lastCheckIn) >= checkInEvery {
				// in_progress, then ok or error: Sentry alerts when the
				// evaluation stops running or keeps failing.
				lastCheckIn = time.Now()
				err = monitor.CheckIn(ctx, "hookwatch-alert-evaluation", monitor.Every(checkInEvery), e.Tick)
			} else {
				err = e.Tick(ctx)
			}
			if err != nil && ctx.Err() == nil {
				e.opts.Logger.Error("alert: evaluation failed", "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the schedule and gives the lease up.
func (e *Evaluator) Close() {
	if e.stop == nil {
		return
	}
	e.stop()
	<-e.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.opts.Store.ReleaseLease(ctx, LeaseName, e.opts.Owner)
}

// Tick evaluates every rule once and sends what is queued, if this
// instance holds the evaluator lease (taken or renewed here for three
// intervals), then prunes failures if Retention.Every has passed since the
// last prune.
func (e *Evaluator) Tick(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Clock.Now()
	ok, err := e.opts.Store.AcquireLease(ctx, LeaseName, e.opts.Owner, now, 3*e.opts.Interval)
	if err != nil {
		return fmt.Errorf("alert: lease: %w", err)
	}
	if !ok {
		return nil
	}
	err = e.evaluate(ctx, now)
	if err == nil {
		err = e.flush(ctx, now)
	}
	e.prune(ctx, now)
	return err
}

// prune applies the failures' retention, at most once per Every. A failed
// prune is logged and tried again at the next tick: alerting goes on.
func (e *Evaluator) prune(ctx context.Context, now time.Time) {
	r := e.opts.Retention
	if (r.MaxAge <= 0 && r.MaxCount <= 0) || (!e.prunedAt.IsZero() && now.Sub(e.prunedAt) < r.Every) {
		return
	}
	var before time.Time
	if r.MaxAge > 0 {
		before = now.Add(-r.MaxAge)
	}
	n, err := e.opts.Store.PruneFailures(ctx, before, r.MaxCount)
	if err != nil {
		e.opts.Logger.Error("alert: pruning failures failed", "deleted", n, "error", err)
		return
	}
	e.prunedAt = now
	if n > 0 {
		e.opts.Logger.Info("alert: pruned failures", "deleted", n, "max_age", r.MaxAge, "max_count", r.MaxCount)
	}
}

func stateKey(rule, subject string) string { return rule + "\x00" + subject }

// evaluate measures every rule and moves alert states, queueing
// notifications in the same transaction as the states that say so.
func (e *Evaluator) evaluate(ctx context.Context, now time.Time) error {
	stored, err := e.opts.Store.AlertStates(ctx)
	if err != nil {
		return fmt.Errorf("alert: states: %w", err)
	}
	states := map[string]hookwatch.AlertState{}
	for _, s := range stored {
		states[stateKey(s.Rule, s.Subject)] = s
	}
	in, err := e.inputs(ctx, now)
	if err != nil {
		return err
	}
	var changed []hookwatch.AlertState
	var queue []*hookwatch.Notification
	for _, r := range e.opts.Rules {
		ms := measure(r, in)
		// Subjects not measured this time have cleared (no traffic left).
		for _, s := range stored {
			if s.Rule == r.Name && s.Status != hookwatch.AlertOK {
				if _, ok := ms[s.Subject]; !ok {
					ms[s.Subject] = measurement{summary: "no longer measured"}
				}
			}
		}
		for subject, m := range ms {
			old, seen := states[stateKey(r.Name, subject)]
			if !seen {
				old = hookwatch.AlertState{Rule: r.Name, Subject: subject, Status: hookwatch.AlertOK}
			}
			next, kind := step(r, old, m, now)
			if kind != "" {
				queue = append(queue, e.notifications(ctx, r, subject, kind, m, now)...)
			}
			if next.Status != old.Status || next.Status != hookwatch.AlertOK || kind != "" {
				changed = append(changed, next)
			}
		}
	}
	if err := e.opts.Store.SaveAlerts(ctx, changed, queue); err != nil {
		return fmt.Errorf("alert: save: %w", err)
	}
	for _, n := range queue {
		e.opts.Logger.Info("alert: "+string(n.Kind), "rule", n.Rule, "subject", n.Subject, "channel", n.Channel, "summary", n.Summary)
	}
	return nil
}

// step moves one alert's state: ok → pending when the condition holds,
// pending → firing once it has held for the rule's `for`, back to ok when
// it clears. It returns the kind of notification to send, if any: firing
// (unless within the cooldown of the last one) or resolved (only for an
// alert whose firing was notified).
func step(r Rule, s hookwatch.AlertState, m measurement, now time.Time) (hookwatch.AlertState, hookwatch.NotificationKind) {
	s.Value, s.Summary, s.UpdatedAt = m.value, m.summary, now
	var kind hookwatch.NotificationKind
	if m.holds {
		if s.Status == hookwatch.AlertOK {
			s.Status, s.Since = hookwatch.AlertPending, now
		}
		if s.Status == hookwatch.AlertPending && now.Sub(s.Since) >= r.For.D() {
			s.Status = hookwatch.AlertFiring
			if s.NotifiedAt.IsZero() || now.Sub(s.NotifiedAt) >= r.Cooldown.D() {
				s.NotifiedAt, kind = now, hookwatch.NotifyFiring
			}
		}
		return s, kind
	}
	if s.Status == hookwatch.AlertFiring && r.Resolved() && !s.NotifiedAt.Before(s.Since) {
		kind = hookwatch.NotifyResolved
	}
	s.Status, s.Since = hookwatch.AlertOK, time.Time{}
	return s, kind
}

// notifications builds one notification per channel of the rule.
func (e *Evaluator) notifications(ctx context.Context, r Rule, subject string, kind hookwatch.NotificationKind, m measurement, now time.Time) []*hookwatch.Notification {
	channels := r.Channels
	if len(channels) == 0 {
		channels = sortedKeys(e.opts.Channels)
	}
	issue := e.relatedIssue(ctx, subject)
	var out []*hookwatch.Notification
	for _, ch := range channels {
		out = append(out, &hookwatch.Notification{ID: hookwatch.NewID("ntf", now), Channel: ch, Rule: r.Name, Subject: subject,
			Kind: kind, Summary: m.summary, Value: m.value, Threshold: m.threshold, IssueID: issue, CreatedAt: now})
	}
	return out
}

// relatedIssue returns the most recently seen open production issue of the
// subject's source or destination, for the notification's link.
func (e *Evaluator) relatedIssue(ctx context.Context, subject string) string {
	no := false
	f := hookwatch.IssueFilter{Status: hookwatch.IssueOpen, Test: &no, Limit: 1}
	switch {
	case strings.HasPrefix(subject, "destination:"):
		f.Destination = strings.TrimPrefix(subject, "destination:")
	case strings.HasPrefix(subject, "source:"):
		f.Source = strings.TrimPrefix(subject, "source:")
	}
	is, err := e.opts.Store.ListIssues(ctx, f)
	if err != nil || len(is) == 0 {
		return ""
	}
	return is[0].ID
}

// inputs reads every window the rules need, once each.
func (e *Evaluator) inputs(ctx context.Context, now time.Time) (*inputs, error) {
	in := &inputs{now: now, windows: map[windowKey]*data{}}
	bl, err := e.opts.Store.Backlogs(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("alert: backlogs: %w", err)
	}
	for _, r := range e.opts.Rules {
		for _, w := range windowsOf(r) {
			if in.windows[w] != nil {
				continue
			}
			d, err := load(ctx, e.opts.Store, now, w.window, w.within, bl)
			if err != nil {
				return nil, fmt.Errorf("alert: figures: %w", err)
			}
			in.windows[w] = d
		}
	}
	if in.circuits, err = e.opts.Store.DestinationStates(ctx); err != nil {
		return nil, fmt.Errorf("alert: destination states: %w", err)
	}
	return in, nil
}

// flush sends the queued notifications: per channel, everything queued in
// one message, at most once per GroupWindow (counted from the channel's
// last message in the history, so it holds across restarts and instances).
func (e *Evaluator) flush(ctx context.Context, now time.Time) error {
	queued, err := e.opts.Store.QueuedNotifications(ctx)
	if err != nil {
		return fmt.Errorf("alert: outbox: %w", err)
	}
	byChannel := map[string][]*hookwatch.Notification{}
	for _, n := range queued {
		byChannel[n.Channel] = append(byChannel[n.Channel], n)
	}
	var errs []error
	for _, ch := range sortedKeys(byChannel) {
		ns := byChannel[ch]
		if e.opts.GroupWindow > 0 {
			last, err := e.opts.Store.ListNotifications(ctx, hookwatch.NotificationFilter{Channel: ch, Status: hookwatch.NotificationSent, Limit: 1})
			if err != nil {
				return fmt.Errorf("alert: history: %w", err)
			}
			if len(last) > 0 && now.Sub(last[0].SentAt) < e.opts.GroupWindow {
				continue // grouped into the next message
			}
		}
		if err := e.send(ctx, ch, ns, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// send sends ns to channel as one message, retrying, and records the
// outcome of each in the history.
func (e *Evaluator) send(ctx context.Context, channel string, ns []*hookwatch.Notification, now time.Time) error {
	n, ok := e.opts.Channels[channel]
	var err error
	attempts := 0
	if !ok {
		err = fmt.Errorf("channel %q is no longer configured", channel)
	} else {
		msg := e.message(ns)
		for attempts = 1; ; attempts++ {
			if err = n.Notify(ctx, msg); err == nil || attempts > e.opts.Retries || ctx.Err() != nil {
				break
			}
			if serr := e.opts.Sleep(ctx, time.Duration(attempts)*time.Second); serr != nil {
				break
			}
		}
	}
	for _, x := range ns {
		x.Attempts += attempts
		if err != nil {
			x.Status, x.Error = hookwatch.NotificationFailed, err.Error()
		} else {
			x.Status, x.SentAt = hookwatch.NotificationSent, now
		}
	}
	if rerr := e.opts.Store.RecordNotifications(ctx, ns); rerr != nil {
		return fmt.Errorf("alert: record notifications: %w", rerr)
	}
	if err != nil {
		e.opts.Logger.Error("alert: notification failed", "channel", channel, "alerts", len(ns), "attempts", attempts, "error", err)
		return nil // recorded in the history; the evaluation itself went fine
	}
	return nil
}

// message builds what a notifier sends for ns.
func (e *Evaluator) message(ns []*hookwatch.Notification) Message {
	m := Message{}
	for _, n := range ns {
		it := Item{Notification: *n}
		if n.IssueID != "" && e.opts.BaseURL != "" {
			it.IssueURL = strings.TrimRight(e.opts.BaseURL, "/") + "/api/issues/" + n.IssueID
		}
		m.Items = append(m.Items, it)
	}
	return m
}

// SendTest sends a test notification to channel now, and records it in the
// alert history. It returns ENOTFOUND for an unknown channel.
func (e *Evaluator) SendTest(ctx context.Context, channel string) (*hookwatch.Notification, error) {
	if _, ok := e.opts.Channels[channel]; !ok {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "no alert channel named %q (known: %s)", channel, strings.Join(sortedKeys(e.opts.Channels), ", "))
	}
	now := e.opts.Clock.Now()
	n := &hookwatch.Notification{ID: hookwatch.NewID("ntf", now), Channel: channel, Rule: "test", Subject: "all", Kind: hookwatch.NotifyTest,
		Summary: "Test notification from Hookwatch: this channel works.", CreatedAt: now}
	if err := e.send(ctx, channel, []*hookwatch.Notification{n}, now); err != nil {
		return nil, err
	}
	if n.Status == hookwatch.NotificationFailed {
		return n, hookwatch.Errorf(hookwatch.EUNAVAILABLE, "test notification to %s failed after %d attempts: %s", channel, n.Attempts, n.Error)
	}
	return n, nil
}
