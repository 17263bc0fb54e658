package deliver_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/sqlite"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// clock is a hand-moved clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// observer records what the engine reports.
type observer struct {
	hookwatch.NopDeliveryObserver
	mu       sync.Mutex
	dead     []string
	circuits []string
	disabled []string
}

func (o *observer) DeadLettered(_ context.Context, d *hookwatch.Delivery, _ *hookwatch.Attempt) {
	o.mu.Lock()
	o.dead = append(o.dead, d.ID)
	o.mu.Unlock()
}

func (o *observer) CircuitChanged(_ context.Context, dest string, from, to hookwatch.CircuitState) {
	o.mu.Lock()
	o.circuits = append(o.circuits, fmt.Sprintf("%s:%s->%s", dest, from, to))
	o.mu.Unlock()
}

func (o *observer) DestinationDisabled(_ context.Context, dest string, _ *hookwatch.Attempt) {
	o.mu.Lock()
	o.disabled = append(o.disabled, dest)
	o.mu.Unlock()
}

func (o *observer) snapshot() (dead, circuits, disabled []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.dead...), append([]string(nil), o.circuits...), append([]string(nil), o.disabled...)
}

// env is one test's engine, store, clock and observer.
type env struct {
	t      *testing.T
	store  *sqlite.Store
	clock  *clock
	obs    *observer
	engine *deliver.Engine
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// setup starts an engine over a fresh SQLite store with the given
// destinations. The clock starts at a fixed time; jitter is the maximum
// (rand = 0.999...) so retry times are predictable.
func setup(t *testing.T, dests ...deliver.Destination) *env {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: s, clock: &clock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}, obs: &observer{}}
	e.engine, err = deliver.New(deliver.Options{
		Store: s, Destinations: dests, Owner: "test", Clock: e.clock, Observer: e.obs,
		Poll: 20 * time.Millisecond, DrainTimeout: 2 * time.Second,
		Rand: func() float64 { return 1 - 1e-9 },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.engine.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.engine.Close(context.Background())
		s.Close()
	})
	return e
}

var seq atomic.Int64

// newEvent returns a Stripe-like event received at at.
func newEvent(source, providerID string, at time.Time) *hookwatch.Event {
	return &hookwatch.Event{
		ID:              hookwatch.NewID("evt", at),
		Source:          source,
		Provider:        "stripe",
		ProviderEventID: providerID,
		Type:            "invoice.paid",
		Headers:         http.Header{"Content-Type": {"application/json"}, "Stripe-Signature": {"t=1,v1=ab"}},
		Body:            []byte(fmt.Sprintf(`{"id":%q,"type":"invoice.paid"}`, providerID)),
		ReceivedAt:      at,
	}
}

// ingest stores n events routed to dests, received now, and wakes the engine.
func (e *env) ingest(n int, dests ...string) []*hookwatch.Event {
	e.t.Helper()
	var events []*hookwatch.Event
	for i := 0; i < n; i++ {
		ev := newEvent("stripe", fmt.Sprintf("evt_%d", seq.Add(1)), e.clock.Now())
		ev.Headers.Set("X-Request-Id", fmt.Sprintf("req-%d", i))
		ev.Destinations = dests
		events = append(events, ev)
	}
	if _, err := e.store.InsertEvents(context.Background(), events); err != nil {
		e.t.Fatal(err)
	}
	e.engine.Wake()
	return events
}

// wait polls the store's deliveries until cond holds (10 s at most). It
// waits for asynchronous work to land; it asserts no timing.
func (e *env) wait(what string, cond func(ds []*hookwatch.Delivery) bool) []*hookwatch.Delivery {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds, err := e.store.ListDeliveries(context.Background(), hookwatch.DeliveryFilter{Limit: 1000})
		if err != nil {
			e.t.Fatal(err)
		}
		if cond(ds) {
			return ds
		}
		if time.Now().After(deadline) {
			for _, d := range ds {
				e.t.Logf("delivery %s: %s attempts=%d next=%v class=%s status=%d err=%s", d.ID, d.Status, d.Attempts, d.NextAttemptAt, d.LastClass, d.LastStatus, d.LastError)
			}
			e.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func all(pred func(d *hookwatch.Delivery) bool) func([]*hookwatch.Delivery) bool {
	return func(ds []*hookwatch.Delivery) bool {
		for _, d := range ds {
			if !pred(d) {
				return false
			}
		}
		return len(ds) > 0
	}
}

func attempts(t *testing.T, s *sqlite.Store, id string) []*hookwatch.Attempt {
	t.Helper()
	_, as, err := s.GetDelivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// sink is a destination that records what it receives.
type sink struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
	answer   atomic.Value // func(w, r) answer; nil means 200
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.bodies = append(s.bodies, body)
	s.mu.Unlock()
	if f, ok := s.answer.Load().(func(http.ResponseWriter, *http.Request)); ok && f != nil {
		f(w, r)
		return
	}
	w.Write([]byte("ok"))
}

func (s *sink) set(f func(http.ResponseWriter, *http.Request)) { s.answer.Store(f) }

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func (s *sink) webhookIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, r := range s.requests {
		ids = append(ids, r.Header.Get("webhook-id"))
	}
	return ids
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

func newSink(t *testing.T) (*sink, *httptest.Server) {
	s := &sink{}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func TestDestinationDownThenBack(t *testing.T) {
	t.Parallel()
	// A port with nothing listening: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	e := setup(t, deliver.Destination{Name: "app", URL: "http://" + addr + "/hooks", CircuitFailures: 1000,
		Retry: deliver.Policy{Initial: 10 * time.Second, MaxBackoff: time.Minute}})
	events := e.ingest(5, "app")

	// Two rounds while down; each retry is due within the backoff ceiling.
	for round := 1; round <= 2; round++ {
		e.wait(fmt.Sprintf("round %d failed", round), all(func(d *hookwatch.Delivery) bool {
			return d.Attempts == round && d.Status == hookwatch.DeliveryPending && d.LastClass == hookwatch.ClassConnection
		}))
		e.clock.Advance(time.Minute)
		if round == 1 {
			e.engine.Wake()
		}
	}
	// Back up, on the same address.
	s := &sink{}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("could not listen again on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	e.engine.Wake()

	ds := e.wait("all delivered", all(func(d *hookwatch.Delivery) bool { return d.Status == hookwatch.DeliverySucceeded }))
	if s.count() != len(events) {
		t.Errorf("app received %d requests, want %d", s.count(), len(events))
	}
	for _, d := range ds {
		as := attempts(t, e.store, d.ID)
		if len(as) != 3 {
			t.Errorf("delivery %s: %d attempts, want 3 (2 refused, 1 ok)", d.ID, len(as))
			continue
		}
		if as[0].Class != hookwatch.ClassConnection || as[0].Error != "connection refused" || as[2].StatusCode != 200 {
			t.Errorf("attempts: %+v %+v", as[0], as[2])
		}
	}
}

func TestRateLimitedHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	s, srv := newSink(t)
	s.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":"slow down"}`))
	})
	e := setup(t, deliver.Destination{Name: "app", URL: srv.URL})
	t0 := e.clock.Now()
	e.ingest(1, "app")
	ds := e.wait("rate limited", all(func(d *hookwatch.Delivery) bool { return d.LastClass == hookwatch.ClassRateLimit }))
	if want := t0.Add(120 * time.Second); !ds[0].NextAttemptAt.Equal(want) {
		t.Fatalf("next attempt at %v, want %v (Retry-After: 120)", ds[0].NextAttemptAt, want)
	}
	as := attempts(t, e.store, ds[0].ID)
	if as[0].StatusCode != 429 || string(as[0].Response) != `{"error":"slow down"}` {
		t.Errorf("attempt = %d %q", as[0].StatusCode, as[0].Response)
	}
	s.set(nil)
	e.clock.Advance(119 * time.Second)
	e.engine.Wake()
	time.Sleep(100 * time.Millisecond) // give a wrong early retry the chance to happen
	if n := s.count(); n != 1 {
		t.Fatalf("retried before Retry-After: %d requests", n)
	}
	e.clock.Advance(time.Second)
	e.engine.Wake()
	e.wait("delivered", all(func(d *hookwatch.Delivery) bool { return d.Status == hookwatch.DeliverySucceeded }))
}

func TestGoneDisablesDestination(t *testing.T) {
	t.Parallel()
	s, srv := newSink(t)
	s.set(status(http.StatusGone))
	e := setup(t, deliver.Destination{Name: "app", URL: srv.URL})
	e.ingest(1, "app")
	e.wait("410 recorded", all(func(d *hookwatch.Delivery) bool { return d.LastClass == hookwatch.ClassGone }))
	states, err := e.store.DestinationStates(context.Background())
	if err != nil || states["app"].DisabledAt.IsZero() {
		t.Fatalf("destination not disabled after 410: %+v %v", states["app"], err)
	}
	if _, _, disabled := e.obs.snapshot(); len(disabled) != 1 {
		t.Errorf("observer heard %d disablements, want 1", len(disabled))
	}
	// New events wait; nothing is sent, nothing is dropped.
	e.ingest(2, "app")
	e.clock.Advance(time.Hour)
	e.engine.Wake()
	time.Sleep(100 * time.Millisecond)
	if n := s.count(); n != 1 {
		t.Fatalf("a disabled destination received %d requests, want 1", n)
	}
	ds := e.wait("all pending", all(func(d *hookwatch.Delivery) bool { return d.Status == hookwatch.DeliveryPending }))
	if len(ds) != 3 {
		t.Fatalf("%d deliveries kept, want 3", len(ds))
	}
	for _, d := range ds {
		if d.Attempts != 0 {
			t.Errorf("a 410 counted against the retry policy: attempts=%d", d.Attempts)
		}
	}
	s.set(nil)
	if err := e.engine.SetPaused(context.Background(), "app", false); err != nil {
		t.Fatal(err)
	}
	e.wait("delivered after resume", all(func(d *hookwatch.Delivery) bool { return d.Status == hookwatch.DeliverySucceeded }))
}

func TestSlowDestinationTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	s, srv := newSink(t)
	s.set(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	e := setup(t, deliver.Destination{Name: "app", URL: srv.URL, Timeout: 200 * time.Millisecond})
	e.ingest(1, "app")
	ds := e.wait("timed out", all(func(d *hookwatch.Delivery) bool { return d.LastClass == hookwatch.ClassTimeout }))
	a := attempts(t, e.store, ds[0].ID)[0]
	if a.Latency < 200*time.Millisecond || a.StatusCode != 0 || ds[0].Status != hookwatch.DeliveryPending {
		t.Errorf("attempt latency %v status %d, delivery %s; want >= 200ms, no status, pending", a.Latency, a.StatusCode, ds[0].Status)
	}
}

func TestServerErrorForeverDeadLettersThenReplay(t *testing.T) {
	t.Parallel()
	s, srv := newSink(t)
	s.set(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		w.Write([]byte("boom"))
	})
	e := setup(t, deliver.Destination{Name: "app", URL: srv.URL, CircuitFailures: 1000,
		Retry: deliver.Policy{MaxAttempts: 4, Initial: time.Second, MaxBackoff: time.Minute}})
	events := e.ingest(2, "app")
	for round := 1; round < 4; round++ {
		e.wait(fmt.Sprintf("attempt %d", round), all(func(d *hookwatch.Delivery) bool { return d.Attempts == round }))
		e.clock.Advance(time.Minute)
		e.engine.Wake()
	}
	ds := e.wait("dead", all(func(d *hookwatch.Delivery) bool { return d.Status == hookwatch.DeliveryDead }))
	// The observer hears of a dead letter just after the store records it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		dead, _, _ := e.obs.snapshot()
		if len(dead) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("observer heard %d dead letters, want 2", len(dead))
		}
	}
	for _, d := range ds {
		if d.Attempts != 4 || d.LastStatus != 500 || d.LastClass != hookwatch.ClassServer {
			t.Errorf("dead delivery: %+v", d)
		}
	}
	if n := s.count(); n != 8 {
		t.Errorf("app received %d requests, want 8 (2 events x 4 attempts)", n)
	}

	// The app is fixed: replay the dead letters.
	s.set(nil)
	rep, err := e.engine.Replay(context.Background(), hookwatch.ReplayRequest{
		Filter: hookwatch.DeliveryFilter{Status: hookwatch.DeliveryDead, Destination: "app"}, Actor: "test"})
	if err != nil || rep.Count != 2 {
		t.Fatalf("replay = %+v, %v", rep, err)
	}
	e.wait("delivered after replay", all(func(d *hookwatch.Delivery) bool { return d.Status == hookwatch.DeliverySucceeded }))
	ids := s.webhookIDs()
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
	}
	for _, ev := range events {
		if seen[ev.ID] != 5 {
			t.Errorf("webhook-id %s seen %d times, want 5 (4 failed + 1 replayed): the id must be stable", ev.ID, seen[ev.ID])
		}
	}
}

func TestSignatureVerifiesWithStandardWebhooksLibrary(t *testing.T) {
	t.Parallel()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	verified := make(chan error, 1)
	s, srv := newSink(t)
	var got *http.Request
	var gotBody []byte
	s.set(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		got, gotBody = r, s.bodies[len(s.bodies)-1]
		s.mu.Unlock()
		verified <- wh.Verify(gotBody, r.Header)
	})
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The real clock: the library checks the timestamp against time.Now.
	eng, err := deliver.New(deliver.Options{Store: st, Destinations: []deliver.Destination{{
		Name: "app", URL: srv.URL, Secret: secret, Headers: map[string]string{"Authorization": "Bearer app-token"},
		KeepHeaders: []string{"X-Request-Id"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	ev := newEvent("stripe", "evt_sig", time.Now().UTC())
	ev.Headers.Set("Content-Type", "application/json; charset=utf-8")
	ev.Headers.Set("X-Request-Id", "req-1")
	ev.Destinations = []string{"app"}
	if _, err := st.InsertEvents(context.Background(), []*hookwatch.Event{ev}); err != nil {
		t.Fatal(err)
	}
	eng.Wake()
	select {
	case err := <-verified:
		if err != nil {
			t.Fatalf("standard-webhooks Verify: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing delivered")
	}
	h := got.Header
	for k, want := range map[string]string{
		"Webhook-Id": ev.ID, "X-Hookwatch-Source": "stripe", "X-Hookwatch-Event-Type": "invoice.paid",
		"Content-Type": "application/json; charset=utf-8", "X-Request-Id": "req-1", "Authorization": "Bearer app-token",
	} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	if h.Get("Stripe-Signature") != "" {
		t.Errorf("Stripe-Signature passed on without keep_headers")
	}
	if string(gotBody) != string(ev.Body) {
		t.Errorf("body = %q, want the original %q", gotBody, ev.Body)
	}
}

func TestCircuitBreakerOpensAndProbes(t *testing.T) {
	t.Parallel()
	s, srv := newSink(t)
	s.set(status(503))
	e := setup(t, deliver.Destination{Name: "app", URL: srv.URL, MaxInFlight: 1, CircuitFailures: 3, CircuitCooldown: time.Minute,
		Retry: deliver.Policy{Initial: time.Second, MaxBackoff: time.Second}})
	e.ingest(3, "app")
	// Three failures, one at a time (max in flight 1), with retries due
	// within a second: advance until the third failure opens the circuit.
	deadline := time.Now().Add(10 * time.Second)
	for {
		states, _ := e.store.DestinationStates(context.Background())
		if states["app"].Circuit == hookwatch.CircuitOpen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("circuit never opened after %d requests", s.count())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.count(); n != 3 {
		t.Fatalf("%d requests before the circuit opened, want 3", n)
	}
	// Open: nothing is sent until the probe time, though retries are due.
	e.clock.Advance(30 * time.Second)
	e.engine.Wake()
	time.Sleep(100 * time.Millisecond)
	if n := s.count(); n != 3 {
		t.Fatalf("an open circuit sent %d more requests", n-3)
	}
	s.set(nil)
	e.clock.Advance(31 * time.Second)
	e.engine.Wake()
	e.wait("delivered after the probe", all(func(d *hookwatch.Delivery) bool { return d.Status == hookwatch.DeliverySucceeded }))
	_, circuits, _ := e.obs.snapshot()
	want := []string{"app:closed->open", "app:open->half-open", "app:half-open->closed"}
	if fmt.Sprint(circuits) != fmt.Sprint(want) {
		t.Errorf("circuit changes = %v, want %v", circuits, want)
	}
}

func TestPauseKeepsDeliveriesWaiting(t *testing.T) {
	t.Parallel()
	s, srv := newSink(t)
	e := setup(t, deliver.Destination{Name: "app", URL: srv.URL})
	if err := e.engine.SetPaused(context.Background(), "app", true); err != nil {
		t.Fatal(err)
	}
	if err := e.engine.SetPaused(context.Background(), "nope", true); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
		t.Errorf("pause of an unknown destination: %v, want not_found", err)
	}
	e.ingest(3, "app")
	time.Sleep(100 * time.Millisecond)
	if n := s.count(); n != 0 {
		t.Fatalf("a paused destination received %d requests", n)
	}
	if err := e.engine.SetPaused(context.Background(), "app", false); err != nil {
		t.Fatal(err)
	}
	e.wait("delivered after resume", all(func(d *hookwatch.Delivery) bool { return d.Status == hookwatch.DeliverySucceeded }))
}

func TestShutdownReleasesLeases(t *testing.T) {
	t.Parallel()
	s, srv := newSink(t)
	release := make(chan struct{})
	defer close(release)
	s.set(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := deliver.New(deliver.Options{Store: st, Owner: "me", DrainTimeout: 200 * time.Millisecond,
		Destinations: []deliver.Destination{{Name: "app", URL: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev := newEvent("stripe", "evt_1", time.Now().UTC())
	ev.Destinations = []string{"app"}
	st.InsertEvents(context.Background(), []*hookwatch.Event{ev})
	eng.Wake()
	for s.count() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	eng.Close(context.Background())
	ds, err := st.ListDeliveries(context.Background(), hookwatch.DeliveryFilter{})
	if err != nil || len(ds) != 1 {
		t.Fatal(err)
	}
	d := ds[0]
	if d.Status != hookwatch.DeliveryPending || d.LeaseOwner != "" || d.Attempts != 0 {
		t.Fatalf("after shutdown: %+v; want pending, lease released, no attempt counted", d)
	}
}

// An engine that was built but never started (serve failing at start-up
// after New, e.g. on a port in use) closes at once, more than once, and
// refuses to start afterwards. Close used to wait forever for a finisher
// that Start never launched.
func TestCloseWithoutStartReturns(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := deliver.New(deliver.Options{Store: st, Owner: "me",
		Destinations: []deliver.Destination{{Name: "app", URL: "http://127.0.0.1:1/"}}})
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		eng.Close(context.Background())
		eng.Close(context.Background())
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(20 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("Close of an engine that never started did not return")
	}
	if err := eng.Start(context.Background()); err == nil {
		t.Fatal("Start after Close succeeded; want an error")
	}
}
