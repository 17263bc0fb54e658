package alert

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

// clock is a test clock moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// recorder is a Notifier that keeps what it was sent.
type recorder struct {
	mu   sync.Mutex
	msgs []Message
	fail int // fail this many calls first
}

func (r *recorder) Notify(_ context.Context, m Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("HTTP 503")
	}
	r.msgs = append(r.msgs, m)
	return nil
}

func (r *recorder) take() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.msgs
	r.msgs = nil
	return m
}

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func openStore(t *testing.T) hookwatch.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// traffic delivers one event of source to dest: received at recv, one
// attempt at at with class (ClassNone: success) and outcome.
func traffic(t *testing.T, s hookwatch.Store, dest string, recv, at time.Time, class hookwatch.ErrorClass, o hookwatch.Outcome) {
	t.Helper()
	ctx := context.Background()
	e := storetest.NewEvent("stripe", "", recv)
	e.Destinations = []string{dest}
	if _, err := s.InsertEvents(ctx, []*hookwatch.Event{e}); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: dest, Owner: "w", Now: at, Lease: time.Minute, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.EventID != e.ID {
			s.ReleaseDeliveries(ctx, "w", []string{d.ID})
			continue
		}
		f := hookwatch.Finish{Owner: "w", Outcome: o, NextAttemptAt: at.Add(time.Hour),
			Attempt: hookwatch.Attempt{DeliveryID: d.ID, Owner: "w", At: at, Class: class, StatusCode: 500}}
		if _, err := s.FinishDeliveries(ctx, []hookwatch.Finish{f}); err != nil {
			t.Fatal(err)
		}
	}
}

func newEvaluator(s hookwatch.Store, c *clock, n Notifier, rules ...Rule) *Evaluator {
	return New(Options{Store: s, Rules: applyDefaults(rules), Channels: map[string]Notifier{"ops": n}, Clock: c,
		Interval: 30 * time.Second, Owner: "a", BaseURL: "https://hookwatch.example.com",
		Sleep: func(context.Context, time.Duration) error { return nil }})
}

// applyDefaults fills the cooldown default of config loading.
func applyDefaults(rules []Rule) []Rule {
	out := append([]Rule(nil), rules...)
	for i := range out {
		if out[i].Cooldown == 0 {
			out[i].Cooldown = 30 * time.Minute
		}
	}
	return out
}

func tick(t *testing.T, e *Evaluator, c *clock, at time.Time) {
	t.Helper()
	c.set(at)
	if err := e.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func d(x time.Duration) time.Duration { return x }

func TestFiringForCooldownResolve(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	c := &clock{}
	n := &recorder{}
	e := newEvaluator(s, c, n, Rule{Name: "failures-5m", Kind: hookwatch.AlertFailures, Per: "destination", Threshold: 2,
		Window: d(5 * time.Minute), For: d(time.Minute), Cooldown: d(30 * time.Minute)})
	for i := range 3 {
		traffic(t, s, "app", t0, t0.Add(time.Duration(i)*time.Second), hookwatch.ClassServer, hookwatch.OutcomeRetry)
	}
	// The condition holds, but not yet for a minute: pending, silent.
	tick(t, e, c, t0.Add(10*time.Second))
	if got := n.take(); len(got) != 0 {
		t.Fatalf("notified while pending: %+v", got)
	}
	states, _ := s.AlertStates(context.Background())
	if len(states) != 1 || states[0].Status != hookwatch.AlertPending || states[0].Subject != "destination:app" {
		t.Fatalf("states = %+v, want pending for destination:app", states)
	}
	tick(t, e, c, t0.Add(70*time.Second))
	got := n.take()
	if len(got) != 1 || len(got[0].Items) != 1 || got[0].Items[0].Kind != hookwatch.NotifyFiring || got[0].Items[0].Value != 3 {
		t.Fatalf("after `for`: %+v, want one firing notification with value 3", got)
	}
	// Still firing: nothing more.
	tick(t, e, c, t0.Add(100*time.Second))
	if got := n.take(); len(got) != 0 {
		t.Fatalf("re-notified while firing: %+v", got)
	}
	// A restart (a new evaluator on the same store) does not re-send.
	e2 := newEvaluator(s, c, n, e.opts.Rules...)
	e2.opts.Owner = "a"
	tick(t, e2, c, t0.Add(130*time.Second))
	if got := n.take(); len(got) != 0 {
		t.Fatalf("re-sent after a restart: %+v", got)
	}
	// The failures leave the window: resolved.
	tick(t, e, c, t0.Add(6*time.Minute))
	got = n.take()
	if len(got) != 1 || got[0].Items[0].Kind != hookwatch.NotifyResolved {
		t.Fatalf("after clearing: %+v, want one resolved notification", got)
	}
	// It fires again within the cooldown: no notification, and so no
	// resolved one either.
	for i := range 3 {
		traffic(t, s, "app", t0.Add(10*time.Minute), t0.Add(10*time.Minute+time.Duration(i)*time.Second), hookwatch.ClassServer, hookwatch.OutcomeRetry)
	}
	tick(t, e, c, t0.Add(10*time.Minute+10*time.Second))
	tick(t, e, c, t0.Add(11*time.Minute+20*time.Second))
	tick(t, e, c, t0.Add(17*time.Minute))
	if got := n.take(); len(got) != 0 {
		t.Fatalf("notified within the cooldown: %+v", got)
	}
	hist, _ := s.ListNotifications(context.Background(), hookwatch.NotificationFilter{})
	if len(hist) != 2 || hist[0].Status != hookwatch.NotificationSent || hist[1].Kind != hookwatch.NotifyFiring {
		t.Errorf("history = %+v", hist)
	}
}

func TestMinimumVolume(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	c := &clock{}
	n := &recorder{}
	e := newEvaluator(s, c, n, Rule{Name: "error-rate", Kind: hookwatch.AlertErrorRate, Per: "destination", Threshold: 0.05,
		Window: d(5 * time.Minute), MinVolume: 10})
	traffic(t, s, "app", t0, t0, hookwatch.ClassNone, hookwatch.OutcomeSucceeded)
	traffic(t, s, "app", t0, t0, hookwatch.ClassServer, hookwatch.OutcomeRetry)
	tick(t, e, c, t0.Add(time.Minute))
	if got := n.take(); len(got) != 0 {
		t.Fatalf("1 failure of 2 fired: %+v", got)
	}
	for range 9 {
		traffic(t, s, "app", t0, t0.Add(time.Second), hookwatch.ClassNone, hookwatch.OutcomeSucceeded)
	}
	tick(t, e, c, t0.Add(2*time.Minute))
	got := n.take()
	if len(got) != 1 || got[0].Items[0].Rule != "error-rate" || got[0].Items[0].Value != round(1.0/11, 4) {
		t.Fatalf("1 failure of 11 (9%%) over a minimum of 10: %+v", got)
	}
}

func TestBurnRate(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	c := &clock{}
	n := &recorder{}
	e := newEvaluator(s, c, n, Rule{Name: "slo", Kind: hookwatch.AlertSLOBurn, Objective: 0.99, Within: d(time.Minute),
		LongWindow: d(time.Hour), ShortWindow: d(5 * time.Minute), BurnRate: 10})
	now := t0.Add(2 * time.Hour)
	// Over the hour 100 deliveries, 20 of them late (20% bad: 20x the 1%
	// budget), all late ones long ago: the short window is fine.
	for i := range 100 {
		recv := now.Add(-61*time.Minute + time.Duration(i)*30*time.Second)
		took := time.Second
		if i < 20 {
			took = 5 * time.Minute
		}
		traffic(t, s, "app", recv, recv.Add(took), hookwatch.ClassNone, hookwatch.OutcomeSucceeded)
	}
	tick(t, e, c, now)
	if got := n.take(); len(got) != 0 {
		t.Fatalf("fired on the long window alone: %+v", got)
	}
	// Now recent deliveries are late too: both windows burn.
	for i := range 5 {
		recv := now.Add(-5*time.Minute + time.Duration(i)*time.Second)
		traffic(t, s, "app", recv, recv.Add(2*time.Minute), hookwatch.ClassNone, hookwatch.OutcomeSucceeded)
	}
	tick(t, e, c, now.Add(time.Second))
	got := n.take()
	if len(got) != 1 || got[0].Items[0].Rule != "slo" || got[0].Items[0].Subject != "all" {
		t.Fatalf("both windows burning: %+v", got)
	}
}

func TestStormGroupedAndRetried(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	c := &clock{}
	n := &recorder{fail: 1}
	e := newEvaluator(s, c, n,
		Rule{Name: "dead-letter", Kind: hookwatch.AlertDeadLetters, Per: "destination", Window: d(5 * time.Minute)},
		Rule{Name: "failures", Kind: hookwatch.AlertFailures, Per: "destination", Threshold: 0, Window: d(5 * time.Minute)})
	e.opts.GroupWindow = time.Minute
	traffic(t, s, "app", t0, t0, hookwatch.ClassValidation, hookwatch.OutcomeDead)
	traffic(t, s, "crm", t0, t0, hookwatch.ClassServer, hookwatch.OutcomeDead)
	tick(t, e, c, t0.Add(time.Second))
	got := n.take()
	if len(got) != 1 || len(got[0].Items) != 4 {
		t.Fatalf("storm: %d messages, want one with 4 alerts: %+v", len(got), got)
	}
	traffic(t, s, "web", t0.Add(10*time.Second), t0.Add(10*time.Second), hookwatch.ClassServer, hookwatch.OutcomeDead)
	tick(t, e, c, t0.Add(30*time.Second))
	if got := n.take(); len(got) != 0 {
		t.Fatalf("a second message within the group window: %+v", got)
	}
	tick(t, e, c, t0.Add(62*time.Second))
	if got := n.take(); len(got) != 1 || len(got[0].Items) != 2 {
		t.Fatalf("after the group window: %+v, want one message with web's 2 alerts", got)
	}
	hist, _ := s.ListNotifications(context.Background(), hookwatch.NotificationFilter{Channel: "ops"})
	if len(hist) != 6 || hist[5].Attempts != 2 {
		t.Errorf("history: %d notifications, first sent after %d attempts; want 6, 2", len(hist), hist[len(hist)-1].Attempts)
	}
}

func TestOneEvaluator(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	c := &clock{}
	n1, n2 := &recorder{}, &recorder{}
	rule := Rule{Name: "dead-letter", Kind: hookwatch.AlertDeadLetters, Per: "destination", Window: d(5 * time.Minute)}
	a, b := newEvaluator(s, c, n1, rule), newEvaluator(s, c, n2, rule)
	b.opts.Owner = "b"
	traffic(t, s, "app", t0, t0, hookwatch.ClassServer, hookwatch.OutcomeDead)
	tick(t, a, c, t0.Add(time.Second))
	tick(t, b, c, t0.Add(2*time.Second))
	if len(n1.take()) != 1 || len(n2.take()) != 0 {
		t.Fatal("want only the lease holder to evaluate and send")
	}
	// a dies: after its lease (3 intervals) b takes over, and knows the
	// alert was sent.
	tick(t, b, c, t0.Add(2*time.Minute))
	if got := n2.take(); len(got) != 0 {
		t.Fatalf("the new evaluator re-sent: %+v", got)
	}
	tick(t, b, c, t0.Add(6*time.Minute))
	if got := n2.take(); len(got) != 1 || got[0].Items[0].Kind != hookwatch.NotifyResolved {
		t.Fatalf("the new evaluator resolves: %+v", got)
	}
}
