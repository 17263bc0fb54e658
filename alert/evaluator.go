package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hookwatch/hookwatch"
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
	// Flush, if set, writes the failures recorded so far (the Recorder's
	// Flush) before each evaluation, so that an alert firing on failures
	// links the issue they opened rather than none: the recorder writes in
	// the background, and the evaluator reads what the store holds. It is
	// given at most flushWait.
	Flush func(context.Context) error
	// GroupWindow: each channel gets at most one message per window.
	GroupWindow time.Duration
	// Owner names this instance for the evaluator lease.
	Owner string
	// BaseURL is the dashboard's address: notifications link to its issue
	// and alerts pages under it. Empty: no links.
	BaseURL string
	// Destinations are the configured destinations' URLs by name, shown
	// (redacted) in notifications.
	Destinations map[string]string
	Logger       *slog.Logger
	// Retries is how many times a failed send is tried again; default 2.
	Retries int
	// Sleep waits between retries; tests make it instant.
	Sleep func(ctx context.Context, d time.Duration) error
	// Retention bounds the failures table (PruneFailures).
	Retention Retention
	// Storage measures the store's space for the store_size and disk_free
	// rules (nil: they measure nothing); see also MeasureStorage.
	Storage func(ctx context.Context) (Storage, error)
	// Ordering lists the destinations with ordering and their on_dead,
	// for the ordering_blocked rules (none: they measure nothing).
	Ordering map[string]hookwatch.OnDead
}

// EvaluationSlug is the evaluation's cron monitor slug; it checks in once a
// minute (CheckInEvery: cron monitors count in minutes), while it runs
// every Interval.
const EvaluationSlug = "hookwatch-alert-evaluation"

// CheckInEvery is the least time between two check-ins of the evaluation.
const CheckInEvery = time.Minute

// PruneSlug is the failures' retention's cron monitor slug.
const PruneSlug = "hookwatch-failures-retention"

// Retention bounds the failures recorded behind issues
// (hookwatch.IssueStore.PruneFailures): those older than MaxAge go, then
// all but the MaxCount most recent. Zero bounds are not applied.
type Retention struct {
	MaxAge   time.Duration
	MaxCount int
	// Every is the interval of the periodic prune; default 10m.
	Every time.Duration
}

// Evaluator evaluates alert rules and sends notifications. Its two periodic
// jobs, TickAt every Interval and PruneFailures every Retention.Every, run
// under the maintenance runner (maintain.Runner) on the instance that
// leads. The store lease stays inside TickAt as a fence: a lost leader may
// overlap its successor for a moment (hookwatch.Leader), and a
// notification, unlike a delete, is not idempotent.
type Evaluator struct {
	opts Options
	mu   sync.Mutex // one Tick at a time
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

// MeasureStorage sets Options.Storage; call it before the first tick.
func (e *Evaluator) MeasureStorage(fn func(ctx context.Context) (Storage, error)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opts.Storage = fn
}

// Interval is how often TickAt is meant to run.
func (e *Evaluator) Interval() time.Duration { return e.opts.Interval }

// PruneEvery is how often PruneFailures is meant to run.
func (e *Evaluator) PruneEvery() time.Duration { return e.opts.Retention.Every }

// Close gives the lease up, so another instance's evaluator takes over at
// once; call it once the runner stopped running TickAt.
func (e *Evaluator) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.opts.Store.ReleaseLease(ctx, LeaseName, e.opts.Owner)
}

// Tick is TickAt at the evaluator's Clock's now.
func (e *Evaluator) Tick(ctx context.Context) error {
	return e.TickAt(ctx, e.opts.Clock.Now())
}

// TickAt evaluates every rule once at now and sends what is queued, if
// this instance holds the evaluator lease (taken or renewed here for three
// intervals).
// flushWait bounds how long an evaluation waits for Options.Flush.
const flushWait = 5 * time.Second

func (e *Evaluator) TickAt(ctx context.Context, now time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
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
	return err
}

// PruneFailures applies the failures' retention at now (older than MaxAge,
// then all but the MaxCount most recent) and returns how many it deleted.
// The maintenance runner calls it every Retention.Every; a failure is tried
// again at the next run, and alerting goes on meanwhile.
func (e *Evaluator) PruneFailures(ctx context.Context, now time.Time) (int, error) {
	r := e.opts.Retention
	if r.MaxAge <= 0 && r.MaxCount <= 0 {
		return 0, nil
	}
	var before time.Time
	if r.MaxAge > 0 {
		before = now.Add(-r.MaxAge)
	}
	n, err := e.opts.Store.PruneFailures(ctx, before, r.MaxCount)
	if err != nil {
		return n, fmt.Errorf("alert: prune failures: %w", err)
	}
	if n > 0 {
		e.opts.Logger.Info("alert: pruned failures", "deleted", n, "max_age", r.MaxAge, "max_count", r.MaxCount)
	}
	return n, nil
}

func stateKey(rule, subject string) string { return rule + "\x00" + subject }

// evaluate measures every rule and moves alert states, queueing
// notifications in the same transaction as the states that say so.
//
// The order, for each alert whose firing notification is due: inhibition
// (hold), then silences, then the cooldown, then grouping (flush). A held
// notification is recorded in the history as inhibited or silenced, once
// per hold, and sent when nothing holds it back any more if the alert
// still fires. Resolved notifications of alerts whose firing was sent are
// never held back: a page that was sent is always closed.
func (e *Evaluator) evaluate(ctx context.Context, now time.Time) error {
	if e.opts.Flush != nil {
		fctx, cancel := context.WithTimeout(ctx, flushWait)
		if err := e.opts.Flush(fctx); err != nil {
			// Evaluate anyway: a late issue only costs the link.
			e.opts.Logger.Warn("alert: the failures recorded so far were not all written before evaluating", "error", err)
		}
		cancel()
	}
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
		ms := measure(r, in, nil)
		// Subjects not measured this time have cleared (no traffic left).
		for _, s := range stored {
			if s.Rule == r.Name && s.Status != hookwatch.AlertOK {
				if _, ok := ms[s.Subject]; !ok {
					ms[s.Subject] = measurement{summary: "no traffic or backlog left to measure"}
				}
			}
		}
		for _, subject := range sortedKeys(ms) {
			m := ms[subject]
			old, seen := states[stateKey(r.Name, subject)]
			if !seen {
				old = hookwatch.AlertState{Rule: r.Name, Subject: subject, Status: hookwatch.AlertOK}
			}
			h := e.hold(r, subject, old, m, in, now)
			next, kind, record := step(r, old, m, now, h)
			if !seen && kind == hookwatch.NotifyFiring {
				next, kind = e.adopt(ctx, r, next, kind)
			}
			if (kind == hookwatch.NotifyFiring || record) && next.IssueID == "" {
				next.IssueID = e.relatedIssue(ctx, r, subject, in)
			}
			switch {
			case kind != "":
				queue = append(queue, e.notifications(ctx, r, old, next, kind, "", m, in, now)...)
			case record:
				queue = append(queue, e.notifications(ctx, r, old, next, hookwatch.NotifyFiring, h.status, m, in, now)...)
			}
			if next.Status == hookwatch.AlertOK {
				next.IssueID = "" // the next episode picks its own
			}
			if next.Status != old.Status || next.Status != hookwatch.AlertOK || kind != "" || !next.HeldUntil.Equal(old.HeldUntil) {
				changed = append(changed, next)
			}
		}
	}
	if err := e.opts.Store.SaveAlerts(ctx, changed, queue); err != nil {
		return fmt.Errorf("alert: save: %w", err)
	}
	for _, n := range queue {
		if n.Status == hookwatch.NotificationInhibited || n.Status == hookwatch.NotificationSilenced {
			e.opts.Logger.Info("alert: held back", "rule", n.Rule, "subject", n.Subject, "channel", n.Channel, "reason", n.Details.HeldBack)
			continue
		}
		e.opts.Logger.Info("alert: "+string(n.Kind), "rule", n.Rule, "subject", n.Subject, "channel", n.Channel, "summary", n.Summary)
	}
	return nil
}

// hold is why an alert's firing notification is held back now, if it is.
type hold struct {
	// reason is the text kept in the state and the history ("" when not
	// held); status says inhibited or silenced.
	reason string
	status hookwatch.NotificationStatus
	// until is the alert's next HeldUntil: how long an inhibition lasts
	// once its cause is gone.
	until time.Time
}

// heldKey is what distinguishes one hold from another in a state's
// HeldBack: a hold is recorded in the history once, not at every tick.
func heldKey(reason string) string {
	if id, ok := strings.CutPrefix(reason, "silenced: "); ok {
		id, _, _ = strings.Cut(id, " ")
		return "silenced " + id
	}
	if strings.HasPrefix(reason, "inhibited: ") {
		return "inhibited"
	}
	return reason
}

// tail is how long a rule stays inhibited after the outage that inhibited
// it ended: its window still holds the outage's figures until then. Two
// intervals more cover the ticks between the end and its being seen.
func (e *Evaluator) tail(r Rule) time.Duration {
	d := r.Window
	switch r.Kind {
	case hookwatch.AlertSLOBurn:
		d = r.ShortWindow + r.Within
	case hookwatch.AlertBacklogAge, hookwatch.AlertOrderingBlocked:
		d = 0
	}
	return d + 2*e.opts.Interval
}

// concerned returns the destination a subject is about, or "" for a
// subject that aggregates several (all traffic, a source).
func concerned(subject string) string {
	d, _ := strings.CutPrefix(subject, "destination:")
	if d == subject {
		return ""
	}
	return d
}

// hold decides whether an alert is held back: inhibited by an outage
// already paged (a destination's open circuit, then the outage's tail), or
// silenced. See docs/alerting.md, "One outage, one page".
func (e *Evaluator) hold(r Rule, subject string, st hookwatch.AlertState, m measurement, in *inputs, now time.Time) hold {
	var h hold
	if r.Kind != hookwatch.AlertCircuitOpen && r.Kind != hookwatch.AlertRejected && r.Kind != hookwatch.AlertStoreSize && r.Kind != hookwatch.AlertDiskFree {
		tail := e.tail(r)
		// In the outage's tail: within HeldUntil, or (for a drain longer
		// than that, or ticks late) still held back by it.
		inTail := now.Before(st.HeldUntil)
		wasHeld := inTail || strings.HasPrefix(st.HeldBack, "inhibited: ")
		if dest := concerned(subject); dest != "" {
			switch {
			case in.circuitOpen(dest):
				h = hold{reason: "inhibited: circuit of " + dest + " is open (the circuit-open alert is the page)", until: now.Add(tail)}
			case wasHeld && in.draining(dest):
				h = hold{reason: "inhibited: " + dest + " is delivering the backlog of its outage", until: now.Add(tail)}
			case inTail:
				h = hold{reason: fmt.Sprintf("inhibited: the outage of %s just ended; its figures are in the rule's window until %s",
					dest, st.HeldUntil.UTC().Format("15:04:05 UTC")), until: st.HeldUntil}
			}
		} else {
			var open []string
			skip := map[string]bool{}
			for _, name := range sortedKeys(in.circuits) {
				if in.circuitOpen(name) {
					open, skip[name] = append(open, name), true
				}
			}
			switch {
			case len(open) > 0:
				// Held only if the rest of the scope is fine: a problem
				// beyond the open circuits is a page of its own.
				if rest, ok := measure(r, in, skip)[subject]; !m.holds || !ok || !rest.holds {
					h = hold{reason: "inhibited: the circuit of " + strings.Join(open, ", ") + " is open, and without it the rule does not hold",
						until: now.Add(tail)}
				}
			case wasHeld:
				for _, name := range sortedKeys(in.circuits) {
					if in.draining(name) {
						h = hold{reason: "inhibited: " + name + " is delivering the backlog of its outage", until: now.Add(tail)}
						break
					}
				}
				if h.reason == "" && inTail {
					h = hold{reason: "inhibited: an outage just ended; its figures are in the rule's window until " + st.HeldUntil.UTC().Format("15:04:05 UTC"),
						until: st.HeldUntil}
				}
			}
		}
		if h.reason != "" {
			h.status = hookwatch.NotificationInhibited
			return h
		}
	}
	for _, si := range in.silences {
		if si.Matches(r.Name, subject, now) {
			reason := fmt.Sprintf("silenced: %s by %s until %s", si.ID, si.CreatedBy, si.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"))
			if si.Comment != "" {
				reason += " (" + si.Comment + ")"
			}
			return hold{reason: reason, status: hookwatch.NotificationSilenced, until: h.until}
		}
	}
	return h
}

// step moves one alert's state: ok → pending when the condition holds,
// pending → firing once it has held for the rule's `for`, back to ok when
// it clears. It returns the kind of notification to send, if any: firing
// (once per episode: when it fires, or later once the cooldown since the
// last one is over and nothing holds it back) or resolved (only for an
// alert whose firing was notified); and record, set when a due firing
// notification is held back by a hold not yet recorded.
func step(r Rule, s hookwatch.AlertState, m measurement, now time.Time, h hold) (next hookwatch.AlertState, kind hookwatch.NotificationKind, record bool) {
	s.Value, s.Summary, s.UpdatedAt, s.HeldUntil = m.value, m.summary, now, h.until
	if m.holds {
		if s.Status == hookwatch.AlertOK {
			s.Status, s.Since, s.HeldBack = hookwatch.AlertPending, now, ""
		}
		if s.Status == hookwatch.AlertPending && now.Sub(s.Since) >= r.For {
			s.Status = hookwatch.AlertFiring
		}
		due := s.Status == hookwatch.AlertFiring && s.NotifiedAt.Before(s.Since) &&
			(s.NotifiedAt.IsZero() || now.Sub(s.NotifiedAt) >= r.Cooldown)
		switch {
		case due && h.reason != "":
			record = heldKey(s.HeldBack) != heldKey(h.reason)
			s.HeldBack = h.reason
		case due:
			s.NotifiedAt, s.HeldBack, kind = now, "", hookwatch.NotifyFiring
		case h.reason == "":
			s.HeldBack = ""
		}
		return s, kind, record
	}
	if s.Status == hookwatch.AlertFiring && r.Resolved() && !s.NotifiedAt.Before(s.Since) {
		kind = hookwatch.NotifyResolved
	}
	s.Status, s.Since, s.HeldBack = hookwatch.AlertOK, time.Time{}, ""
	return s, kind, false
}

// adopt is for an alert that fires with no stored state: if the history
// says its last notification was a firing one (the state was lost, or
// came from a store copied without it), it is the same episode, already
// sent: an evaluator that starts never sends again what was sent.
func (e *Evaluator) adopt(ctx context.Context, r Rule, s hookwatch.AlertState, kind hookwatch.NotificationKind) (hookwatch.AlertState, hookwatch.NotificationKind) {
	hist, err := e.opts.Store.ListNotifications(ctx, hookwatch.NotificationFilter{Rule: r.Name, Subject: s.Subject, Limit: 20})
	if err != nil {
		e.opts.Logger.Warn("alert: reading the alert's history failed; notifying", "rule", r.Name, "subject", s.Subject, "error", err)
		return s, kind
	}
	for _, n := range hist {
		if n.Status != hookwatch.NotificationSent && n.Status != hookwatch.NotificationQueued {
			continue
		}
		if n.Kind == hookwatch.NotifyFiring {
			s.Since, s.NotifiedAt, s.IssueID = n.CreatedAt, n.CreatedAt, n.IssueID
			e.opts.Logger.Info("alert: already notified (history), not sending again", "rule", r.Name, "subject", s.Subject, "notified_at", n.CreatedAt)
			return s, ""
		}
		break // resolved: this is a new episode
	}
	return s, kind
}

// notifications builds one notification per channel of the rule, with
// the alert's details. old is the state before this evaluation, next
// after; status is set for a held-back firing (only recorded).
func (e *Evaluator) notifications(ctx context.Context, r Rule, old, next hookwatch.AlertState, kind hookwatch.NotificationKind,
	status hookwatch.NotificationStatus, m measurement, in *inputs, now time.Time) []*hookwatch.Notification {
	channels := r.Channels
	if len(channels) == 0 {
		channels = sortedKeys(e.opts.Channels)
	}
	issue := next.IssueID
	if kind == hookwatch.NotifyResolved {
		issue = old.IssueID
	}
	d := e.details(ctx, r, next.Subject, kind, old, next, issue, m, in, now)
	if status != "" {
		d.HeldBack = next.HeldBack
	}
	var out []*hookwatch.Notification
	for _, ch := range channels {
		dc := *d
		out = append(out, &hookwatch.Notification{ID: hookwatch.NewID("ntf", now), Channel: ch, Rule: r.Name, Subject: next.Subject,
			Kind: kind, Summary: m.summary, Value: m.value, Threshold: m.threshold, IssueID: issue, Details: &dc, Status: status, CreatedAt: now})
	}
	return out
}

// needsOrdering reports whether a rule reads the blocked ordering keys.
func (e *Evaluator) needsOrdering() bool {
	if len(e.opts.Ordering) == 0 {
		return false
	}
	for _, r := range e.opts.Rules {
		if r.Kind == hookwatch.AlertOrderingBlocked {
			return true
		}
	}
	return false
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
	in.backlogs = bl
	if e.needsOrdering() {
		ws, err := e.opts.Store.WaitingHeads(ctx)
		if err != nil {
			return nil, fmt.Errorf("alert: ordering keys: %w", err)
		}
		in.blocked = hookwatch.TallyBlocked(ws, e.opts.Ordering)
	}
	if in.silences, err = e.opts.Store.ListSilences(ctx, now); err != nil {
		return nil, fmt.Errorf("alert: silences: %w", err)
	}
	if e.opts.Storage != nil {
		st, err := e.opts.Storage(ctx)
		if err != nil {
			return nil, fmt.Errorf("alert: store space: %w", err)
		}
		in.storage = &st
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

// message builds what a notifier sends for ns: links go to the
// dashboard's pages (the issue's, else the alerts page of the rule).
func (e *Evaluator) message(ns []*hookwatch.Notification) Message {
	m := Message{}
	base := strings.TrimRight(e.opts.BaseURL, "/")
	for _, n := range ns {
		it := Item{Notification: *n}
		if base != "" {
			if n.IssueID != "" {
				it.IssueURL = base + IssuePath(n.IssueID)
			}
			if n.Kind != hookwatch.NotifyTest {
				it.AlertsURL = base + "/alerts?rule=" + url.QueryEscape(n.Rule)
			}
		}
		m.Items = append(m.Items, it)
	}
	return m
}

// IssuePath is the dashboard page of an issue (web's GET /issues/{id}).
func IssuePath(id string) string { return "/issues/" + url.PathEscape(id) }

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
