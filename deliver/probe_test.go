package deliver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
)

// cliEngine is what `hookwatch destinations probe` builds in its own
// process: an engine over the same store that is never started.
func (e *env) cliEngine(dests ...deliver.Destination) *deliver.Engine {
	e.t.Helper()
	eng, err := deliver.New(deliver.Options{Store: e.store, Destinations: dests, Owner: "cli", Clock: e.clock,
		Rand: func() float64 { return 1 - 1e-9 }})
	if err != nil {
		e.t.Fatal(err)
	}
	return eng
}

// waitCircuit waits until the stored circuit of app is want.
func (e *env) waitCircuit(want hookwatch.CircuitState) hookwatch.DestinationState {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		states, err := e.store.DestinationStates(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if st := states["app"]; st.Circuit == want {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("circuit never %s: %+v", want, states["app"])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestProbeFromAnotherProcessClosesTheCircuit: the app came back while the
// circuit is open with its next probe ten minutes away. A probe from
// another engine over the same store (the CLI's) sends one delivery, closes
// the circuit in the store, and the running engine takes it from there:
// the backlog is delivered without the clock reaching the probe time.
func TestProbeFromAnotherProcessClosesTheCircuit(t *testing.T) {
	t.Parallel()
	s, srv := newSink(t)
	s.set(status(http.StatusInternalServerError))
	dest := deliver.Destination{Name: "app", URL: srv.URL, MaxInFlight: 1, CircuitFailures: 2, CircuitCooldown: 10 * time.Minute,
		Retry: deliver.Policy{Initial: time.Second, MaxBackoff: time.Second}}
	e := setup(t, dest)
	e.ingest(2, "app")
	open := e.waitCircuit(hookwatch.CircuitOpen)
	if want := e.clock.Now().Add(10 * time.Minute); !open.ProbeAt.Equal(want) {
		t.Fatalf("probe at %v, want %v", open.ProbeAt, want)
	}
	// Events arriving while the circuit is open wait, and say why.
	held := e.ingest(3, "app")
	ds, err := e.store.ListDeliveries(context.Background(), hookwatch.DeliveryFilter{EventIDs: []string{held[0].ID}})
	if err != nil || len(ds) != 1 {
		t.Fatal(ds, err)
	}
	w := deliver.DeliveryWaiting(ds[0], open, true, e.clock.Now())
	if w.Reason != deliver.WaitCircuitOpen || !w.Until.Equal(open.ProbeAt) ||
		w.Text(func(t time.Time) string { return t.Format(time.RFC3339) }) != "circuit open until "+open.ProbeAt.Format(time.RFC3339) {
		t.Errorf("waiting = %+v %q, want circuit open until the probe time", w, w.Text(func(t time.Time) string { return t.Format(time.RFC3339) }))
	}

	// A probe while the app is still down says so and changes nothing.
	cli := e.cliEngine(dest)
	res, err := cli.Probe(context.Background(), "app")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Sent || res.Status != 500 || res.Class != hookwatch.ClassServer || res.AppUp() || res.Circuit != hookwatch.CircuitOpen || !res.ProbeAt.Equal(open.ProbeAt) {
		t.Fatalf("probe while down = %+v; want sent, 500, circuit still open until %v", res, open.ProbeAt)
	}
	before := s.count()

	s.set(nil)
	res, err = cli.Probe(context.Background(), "app")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Sent || res.Status != 200 || !res.AppUp() || res.Outcome != hookwatch.OutcomeSucceeded || res.Circuit != hookwatch.CircuitClosed {
		t.Fatalf("probe once back = %+v; want sent, 200, succeeded, circuit closed", res)
	}
	if got := s.count(); got != before+1 {
		t.Fatalf("the probe sent %d requests, want 1", got-before)
	}
	if st := e.waitCircuit(hookwatch.CircuitClosed); !st.ProbeAt.IsZero() {
		t.Errorf("closed circuit still has a probe time: %+v", st)
	}
	// The running engine delivers the rest: the ones that never failed at
	// once, the ones that failed at their retry time (a second away, far
	// from the ten-minute probe).
	e.clock.Advance(time.Second)
	e.engine.Wake()
	e.wait("the backlog delivered", all(func(d *hookwatch.Delivery) bool { return d.Status == hookwatch.DeliverySucceeded }))
	_, circuits, _ := e.obs.snapshot()
	if want := []string{"app:closed->open", "app:open->closed"}; fmt.Sprint(circuits) != fmt.Sprint(want) {
		t.Errorf("the running engine's circuit changes = %v, want %v", circuits, want)
	}
}

// TestProbeInTheEngineWakesItsWorkers: the dashboard's probe runs in the
// server's own engine; a success closes its circuit and the backlog goes.
func TestProbeInTheEngineWakesItsWorkers(t *testing.T) {
	t.Parallel()
	s, srv := newSink(t)
	s.set(status(http.StatusBadGateway))
	e := setup(t, deliver.Destination{Name: "app", URL: srv.URL, MaxInFlight: 1, CircuitFailures: 1, CircuitCooldown: 10 * time.Minute})
	e.ingest(1, "app")
	e.waitCircuit(hookwatch.CircuitOpen)
	e.ingest(4, "app")
	s.set(nil)
	res, err := e.engine.Probe(context.Background(), "app")
	if err != nil || !res.AppUp() || res.Circuit != hookwatch.CircuitClosed {
		t.Fatalf("probe = %+v, %v; want the app up and the circuit closed", res, err)
	}
	// The failed one is due again within its backoff (5s at most).
	e.clock.Advance(5 * time.Second)
	e.engine.Wake()
	e.wait("the backlog delivered", all(func(d *hookwatch.Delivery) bool { return d.Status == hookwatch.DeliverySucceeded }))
}

func TestProbeRefusals(t *testing.T) {
	t.Parallel()
	s, srv := newSink(t)
	// No running engine for app: only the probing one, so that what it
	// finds due is not taken by a dispatcher first.
	e := setup(t)
	dest := deliver.Destination{Name: "app", URL: srv.URL}
	eng := e.cliEngine(dest)
	ctx := context.Background()
	if _, err := eng.Probe(ctx, "nope"); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
		t.Errorf("probe of an unknown destination: %v, want not_found", err)
	}
	// Nothing due: nothing sent, and said so.
	res, err := eng.Probe(ctx, "app")
	if err != nil || res.Sent || res.Pending != 0 || res.Circuit != hookwatch.CircuitClosed {
		t.Errorf("probe with nothing due = %+v, %v; want nothing sent", res, err)
	}
	if err := deliver.SetPaused(ctx, e.store, []deliver.Destination{dest}, "app", true, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	_, err = eng.Probe(ctx, "app")
	if hookwatch.ErrorCode(err) != hookwatch.ECONFLICT || !strings.Contains(err.Error(), "destinations resume app") {
		t.Errorf("probe of a paused destination: %v, want a conflict naming resume", err)
	}
	// Resume resumes and probes: the waiting delivery is sent at once.
	e.ingest(2, "app")
	res, err = eng.Resume(ctx, "app")
	if err != nil || !res.Sent || res.Status != 200 || res.Outcome != hookwatch.OutcomeSucceeded || s.count() != 1 {
		t.Fatalf("resume = %+v, %v (%d requests); want one delivery sent at once", res, err, s.count())
	}
	// One is left, due in the future: nothing due now.
	ds, _ := e.store.ListDeliveries(ctx, hookwatch.DeliveryFilter{Status: hookwatch.DeliveryPending})
	if len(ds) != 1 {
		t.Fatalf("%d pending, want 1", len(ds))
	}
	e.clock.Advance(-time.Minute)
	res, err = eng.Probe(ctx, "app")
	e.clock.Advance(time.Minute)
	if err != nil || res.Sent || res.Pending != 1 {
		t.Errorf("probe with one pending but not due = %+v, %v; want nothing sent, 1 pending", res, err)
	}
}

// TestRetryAfterIsStoredAndAProbeClearsIt: a 429 with Retry-After holds
// the whole destination; the wait is in the store (so the CLI can say
// why), and a successful probe ends it for the running engine too.
func TestRetryAfterIsStoredAndAProbeClearsIt(t *testing.T) {
	t.Parallel()
	s, srv := newSink(t)
	s.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	dest := deliver.Destination{Name: "app", URL: srv.URL, MaxInFlight: 1}
	e := setup(t, dest)
	t0 := e.clock.Now()
	e.ingest(1, "app")
	var st hookwatch.DestinationState
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		states, _ := e.store.DestinationStates(context.Background())
		if st = states["app"]; !st.NotBefore.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Retry-After wait was never stored")
		}
	}
	if want := t0.Add(time.Hour); !st.NotBefore.Equal(want) {
		t.Fatalf("stored wait until %v, want %v", st.NotBefore, want)
	}
	// A delivery that never got a 429 waits for the destination all the same.
	held := e.ingest(2, "app")
	ds, _ := e.store.ListDeliveries(context.Background(), hookwatch.DeliveryFilter{EventIDs: []string{held[0].ID}})
	if w := deliver.DeliveryWaiting(ds[0], st, true, e.clock.Now()); w.Reason != deliver.WaitRateLimited || !w.Until.Equal(st.NotBefore) {
		t.Errorf("waiting = %+v, want rate limited until %v", w, st.NotBefore)
	}
	s.set(nil)
	res, err := e.cliEngine(dest).Probe(context.Background(), "app")
	if err != nil || !res.AppUp() {
		t.Fatalf("probe = %+v, %v", res, err)
	}
	states, _ := e.store.DestinationStates(context.Background())
	if !states["app"].NotBefore.IsZero() {
		t.Errorf("the wait is still stored after a successful probe: %+v", states["app"])
	}
	// The running engine sends the other one without the clock moving an
	// hour (the 429'd delivery itself is due at its own Retry-After).
	e.wait("the other delivery sent", func(ds []*hookwatch.Delivery) bool {
		n := 0
		for _, d := range ds {
			if d.Status == hookwatch.DeliverySucceeded {
				n++
			}
		}
		return n == 2
	})
}

func TestDeliveryWaiting(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	at := func(t time.Time) string { return t.Format("15:04:05") }
	pending := func(next time.Time, attempts int) *hookwatch.Delivery {
		return &hookwatch.Delivery{ID: "dlv_1", Destination: "app", Status: hookwatch.DeliveryPending, NextAttemptAt: next, Attempts: attempts}
	}
	closed := hookwatch.DestinationState{Name: "app", Circuit: hookwatch.CircuitClosed}
	openUntil := func(t time.Time) hookwatch.DestinationState {
		return hookwatch.DestinationState{Name: "app", Circuit: hookwatch.CircuitOpen, ProbeAt: t}
	}
	leased := pending(now.Add(-time.Minute), 1)
	leased.LeaseOwner, leased.LeaseUntil = "ins_1", now.Add(30*time.Second)
	paused := closed
	paused.Paused = true
	disabled := openUntil(now.Add(time.Minute))
	disabled.DisabledAt, disabled.DisabledReason = now.Add(-time.Hour), "answered 410 Gone at 11:00"
	limited := closed
	limited.NotBefore = now.Add(2 * time.Minute)
	for _, tc := range []struct {
		name       string
		d          *hookwatch.Delivery
		st         hookwatch.DestinationState
		configured bool
		reason     string
		text, note string
	}{
		{"due", pending(now.Add(-80*time.Second), 0), closed, true, deliver.WaitDue, "due since 11:58:40", "waiting for a free worker"},
		{"retry later", pending(now.Add(time.Minute), 2), closed, true, deliver.WaitScheduled, "retry at 12:01:00", ""},
		{"replay spread", pending(now.Add(time.Minute), 0), closed, true, deliver.WaitScheduled, "scheduled at 12:01:00", ""},
		{"in flight", leased, closed, true, deliver.WaitInFlight, "in flight (lease until 12:00:30)", ""},
		{"circuit open", pending(now.Add(-time.Minute), 3), openUntil(now.Add(80 * time.Second)), true, deliver.WaitCircuitOpen,
			"circuit open until 12:01:20", "the next probe; `hookwatch destinations probe app` tries now"},
		{"own retry after the probe", pending(now.Add(5*time.Minute), 3), openUntil(now.Add(80 * time.Second)), true, deliver.WaitScheduled, "retry at 12:05:00", ""},
		{"probe due", pending(now.Add(-time.Minute), 3), openUntil(now.Add(-time.Second)), true, deliver.WaitProbing, "circuit open: probing",
			"one probe is due or in flight; the rest waits for its outcome"},
		{"half-open", pending(now.Add(-time.Minute), 3), hookwatch.DestinationState{Name: "app", Circuit: hookwatch.CircuitHalfOpen}, true, deliver.WaitProbing, "circuit open: probing", ""},
		{"rate limited", pending(now.Add(-time.Minute), 0), limited, true, deliver.WaitRateLimited, "rate limited until 12:02:00", "the app answered with Retry-After"},
		{"paused", pending(now.Add(-time.Minute), 0), paused, true, deliver.WaitPaused, "paused", "waits for `hookwatch destinations resume app`"},
		{"disabled beats the circuit", pending(now.Add(-time.Minute), 0), disabled, true, deliver.WaitDisabled, "disabled",
			"answered 410 Gone at 11:00; waits for `hookwatch destinations resume app`"},
		{"not configured", pending(now.Add(-time.Minute), 0), closed, false, deliver.WaitNotConfigured, "not configured", "waits until destination app is in the config again"},
	} {
		w := deliver.DeliveryWaiting(tc.d, tc.st, tc.configured, now)
		if w.Reason != tc.reason || w.Text(at) != tc.text || (tc.note != "" && w.Note() != tc.note) {
			t.Errorf("%s: %s %q %q; want %s %q %q", tc.name, w.Reason, w.Text(at), w.Note(), tc.reason, tc.text, tc.note)
		}
		// Never a time in the past without a reason: what is not due says
		// until when, and only a due delivery points back in time.
		if !w.Until.IsZero() && !w.Until.After(now) {
			t.Errorf("%s: waits until %v, in the past", tc.name, w.Until)
		}
	}
	done := &hookwatch.Delivery{Status: hookwatch.DeliverySucceeded}
	if w := deliver.DeliveryWaiting(done, closed, true, now); w.Reason != "" {
		t.Errorf("a succeeded delivery waits: %+v", w)
	}
	if w := deliver.DestinationWaiting(openUntil(now.Add(time.Minute)), true, 0, now); w.Reason != deliver.WaitCircuitOpen {
		t.Errorf("destination with an open circuit and nothing pending: %+v", w)
	}
	if w := deliver.DestinationWaiting(closed, true, 3, now); w.Reason != deliver.WaitSending || w.Note() != "3 pending: nothing holds them back" {
		t.Errorf("destination sending: %+v %q", w, w.Note())
	}
	if w := deliver.DestinationWaiting(closed, true, 0, now); w.Reason != deliver.WaitNothing {
		t.Errorf("idle destination: %+v", w)
	}
}
