// Package deliver is the delivery engine: it claims due deliveries from the
// store with a lease, sends each event to its destination signed the
// Standard Webhooks way, classifies the outcome, and completes, reschedules
// or dead-letters the delivery. Destinations have a circuit breaker, a
// max in-flight count, an optional rate limit, and can be paused.
package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/batch"
	"github.com/hookwatch/hookwatch/transform"
)

// Destination is one configured receiver of events.
type Destination struct {
	Name string
	URL  string
	// Timeout bounds one attempt, from connecting to reading the answer.
	Timeout time.Duration
	// Headers are added to every request (an API key of the app...).
	Headers map[string]string
	// Secret signs requests ("whsec_" + base64). Empty: no webhook-signature.
	Secret string
	// MaxInFlight caps concurrent attempts to this destination.
	MaxInFlight int
	// RateLimit caps attempts per second; 0 means no limit.
	RateLimit float64
	// KeepHeaders are the original request headers passed on (besides the
	// content type), e.g. Stripe-Signature for an app that verifies itself.
	KeepHeaders []string
	Retry       Policy
	// CircuitFailures consecutive transient failures open the circuit.
	CircuitFailures int
	// CircuitCooldown is the first wait before a probe; it doubles with
	// each failed probe up to MaxCircuitCooldown.
	CircuitCooldown time.Duration
	// Ordered is set for a destination with ordering: deliveries of one
	// ordering key (Delivery.OrderKey, computed when they are created) are
	// sent one at a time in receive order; the store's claim returns only
	// the head of each key. OnDead says whether a dead one holds its key.
	Ordered bool
	OnDead  hookwatch.OnDead
	// Transform, if set, reshapes every request at delivery time (see
	// transform.go); the engine reloads it when the file changes.
	Transform *transform.File
}

// Defaults of Destination.
const (
	DefaultTimeout         = hookwatch.DefaultDeliveryTimeout
	DefaultMaxInFlight     = hookwatch.DefaultMaxInFlight
	DefaultCircuitFailures = hookwatch.DefaultCircuitFailures
	DefaultCircuitCooldown = hookwatch.DefaultCircuitCooldown
	MaxCircuitCooldown     = 10 * time.Minute
)

// Options configure an Engine.
type Options struct {
	Store        hookwatch.DeliveryStore
	Destinations []Destination
	// Owner is this instance's lease owner name; unique per process.
	Owner string
	// Clock drives due times, backoff and circuit probes; the real clock
	// if nil. Waiting itself uses real timers: a test that moves the clock
	// calls Wake.
	Clock    hookwatch.Clock
	Logger   *slog.Logger
	Observer hookwatch.DeliveryObserver
	// Tracer, if set, traces each attempt: its context goes to the
	// Observer's calls for the attempt, its headers (sentry-trace,
	// baggage) to the destination.
	Tracer hookwatch.Tracer
	// Waker, if set, carries Wake to every instance sharing the store
	// (PostgreSQL's LISTEN/NOTIFY): Wake publishes through it, and each
	// destination's dispatcher is woken by its signals. Without it, Wake
	// reaches this process only, which is all one SQLite process needs.
	Waker hookwatch.Waker
	// Poll is the safety-net interval at which every destination looks for
	// due deliveries even without a Wake; default 1s.
	Poll time.Duration
	// DrainTimeout bounds how long Close waits for in-flight attempts
	// before cancelling them and releasing their leases; default 10s.
	DrainTimeout time.Duration
	// Transport sends the requests; a dedicated transport if nil.
	Transport http.RoundTripper
	// Rand returns uniform numbers in [0, 1) for the backoff jitter.
	Rand func() float64
	// UserAgent is sent with every request.
	UserAgent string
	// TransformPoll is how often transform files are checked for a
	// change; default DefaultTransformPoll.
	TransformPoll time.Duration
}

// Engine delivers events. Start it, Wake it when events are committed, and
// Close it before closing the store.
type Engine struct {
	opts  Options
	dests map[string]*dest
	names []string

	quit     chan struct{} // closed by Close: stop claiming
	hardCtx  context.Context
	hardStop context.CancelFunc // cancels in-flight attempts
	running  sync.WaitGroup     // dispatchers
	// tail counts the dispatchers' attempts until they are recorded and
	// reported: one may free its slot (and its dispatcher stop) before.
	tail      sync.WaitGroup
	finishes  chan *finishReq
	finisherD chan struct{}

	// life guards the lifecycle: Close waits only for the goroutines Start
	// actually started, so closing an engine that never started (serve
	// failing at start-up after New) returns at once, and Start after
	// Close starts nothing.
	life    sync.Mutex
	started bool
	closed  bool
}

// dest is one destination's runtime state. Fields below mu are shared by
// the dispatcher and its senders.
type dest struct {
	cfg     Destination
	key     []byte
	client  *http.Client
	wake    chan struct{}
	done    chan struct{}
	limiter *bucket

	mu        sync.Mutex
	circuit   hookwatch.CircuitState
	failures  int
	probeAt   time.Time
	cooldown  time.Duration
	notBefore time.Time // a 429 or 503 asked to slow down until then
	// The stored state as this engine last wrote or read it (see sync.go).
	stored   storedState
	syncedAt time.Time // real time of the last read; zero: never read
	// blocked: paused or disabled (410), as this engine last read or
	// wrote it. A blocked destination is not claimed (the store would
	// answer nothing, after a write transaction that competes with the
	// group commit on every wake); its state is re-read every syncEvery.
	blocked bool
}

type finishReq struct {
	f    hookwatch.Finish
	err  error
	done chan struct{}
}

// New checks the destinations and returns an engine; Start runs it.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil {
		return nil, errors.New("deliver: no store")
	}
	if opts.Clock == nil {
		opts.Clock = hookwatch.SystemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Observer == nil {
		opts.Observer = hookwatch.NopDeliveryObserver{}
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 10 * time.Second
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Owner == "" {
		opts.Owner = hookwatch.NewID("ins", time.Now())
	}
	if opts.TransformPoll <= 0 {
		opts.TransformPoll = DefaultTransformPoll
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Hookwatch/" + hookwatch.Version
	}
	transport := opts.Transport
	if transport == nil {
		transport = newTransport()
	}
	e := &Engine{opts: opts, dests: map[string]*dest{}, quit: make(chan struct{}),
		finishes: make(chan *finishReq, 1024), finisherD: make(chan struct{})}
	e.hardCtx, e.hardStop = context.WithCancel(context.Background())
	for _, c := range opts.Destinations {
		if _, dup := e.dests[c.Name]; dup {
			return nil, fmt.Errorf("deliver: destination %q twice", c.Name)
		}
		if c.Timeout <= 0 {
			c.Timeout = DefaultTimeout
		}
		if c.MaxInFlight <= 0 {
			c.MaxInFlight = DefaultMaxInFlight
		}
		if c.CircuitFailures <= 0 {
			c.CircuitFailures = DefaultCircuitFailures
		}
		if c.CircuitCooldown <= 0 {
			c.CircuitCooldown = DefaultCircuitCooldown
		}
		c.Retry = c.Retry.WithDefaults()
		d := &dest{cfg: c, wake: make(chan struct{}, 1), done: make(chan struct{}, c.MaxInFlight),
			circuit: hookwatch.CircuitClosed, cooldown: c.CircuitCooldown}
		if c.Secret != "" {
			key, err := ParseSecret(c.Secret)
			if err != nil {
				return nil, fmt.Errorf("deliver: destination %s: %w", c.Name, err)
			}
			d.key = key
		}
		if c.RateLimit > 0 {
			d.limiter = newBucket(c.RateLimit)
		}
		d.client = &http.Client{
			Transport: transport,
			// The app's answer to Hookwatch is the answer: a redirect is
			// recorded (and retried), never followed to another host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		e.dests[c.Name] = d
		e.names = append(e.names, c.Name)
	}
	return e, nil
}

// newTransport is a transport with a timeout on every phase; the attempt's
// context bounds the whole.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 0, // the attempt's context decides
	}
}

// Start loads the destinations' circuit state and starts one dispatcher per
// destination. A second Start does nothing; Start after Close is an error.
func (e *Engine) Start(ctx context.Context) error {
	e.life.Lock()
	defer e.life.Unlock()
	if e.closed {
		return errors.New("deliver: start: the engine is closed")
	}
	if e.started {
		return nil
	}
	states, err := e.opts.Store.DestinationStates(ctx)
	if err != nil {
		return fmt.Errorf("deliver: load destination states: %w", err)
	}
	for name, d := range e.dests {
		if st, ok := states[name]; ok && (st.Circuit == hookwatch.CircuitOpen || st.Circuit == hookwatch.CircuitHalfOpen) {
			d.circuit, d.failures, d.probeAt = hookwatch.CircuitOpen, st.Failures, st.ProbeAt
		}
	}
	e.started = true
	go e.finisher()
	for _, d := range e.dests {
		e.running.Add(1)
		go e.dispatch(d)
		if e.opts.Waker != nil {
			go e.listen(d)
		}
		if d.cfg.Transform != nil {
			e.running.Add(1)
			go e.watchTransform(d)
		}
	}
	return nil
}

// listen forwards the shared Waker's signals for d to its dispatcher until
// the engine closes.
func (e *Engine) listen(d *dest) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := e.opts.Waker.Subscribe(ctx, d.cfg.Name)
	for {
		select {
		case <-e.quit:
			return
		case _, ok := <-signals:
			if !ok {
				return
			}
			d.poke()
		}
	}
}

// Wake makes the destinations named look for due deliveries now (every
// destination when none is named), on every instance when a shared Waker
// is configured. It never blocks: ingest calls it after each commit with
// the destinations the batch created deliveries for (ingest.Batch), so a
// commit for one destination does not wake the others. Names not
// configured here are skipped.
func (e *Engine) Wake(destinations ...string) {
	if len(destinations) == 0 {
		for _, d := range e.dests {
			e.wake(d)
		}
		return
	}
	for _, name := range destinations {
		if d, ok := e.dests[name]; ok {
			e.wake(d)
		}
	}
}

func (e *Engine) wake(d *dest) {
	if e.opts.Waker != nil {
		// Errors only mean the waker is closed (shutting down); the
		// local poke below still runs and polling covers the rest.
		_ = e.opts.Waker.Wake(context.Background(), d.cfg.Name)
	}
	d.poke()
}

// poke wakes d's dispatcher if it is not already due to look.
func (d *dest) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Close stops claiming, lets in-flight attempts finish for up to
// DrainTimeout (or until ctx ends), then cancels the rest and releases
// their leases so they are due again at once. Nothing is lost: an attempt
// cut short is simply not recorded. Call it before closing the store.
// Close is safe on an engine that never started (it returns at once) and
// more than once.
func (e *Engine) Close(ctx context.Context) error {
	e.life.Lock()
	defer e.life.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	close(e.quit)
	defer e.hardStop()
	if !e.started {
		return nil
	}
	drained := make(chan struct{})
	go func() { e.running.Wait(); close(drained) }()
	t := time.NewTimer(e.opts.DrainTimeout)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
		e.opts.Logger.Warn("deliver: in-flight attempts did not finish in time: cancelling them and releasing their leases")
		e.hardStop()
		<-drained
	case <-ctx.Done():
		e.hardStop()
		<-drained
	}
	// Every attempt has handed in its finish (the dispatchers waited for
	// them): the finisher records the last batch and stops.
	close(e.finishes)
	<-e.finisherD
	e.tail.Wait()
	return nil
}

// dispatch is a destination's loop: claim what is due and fits, start the
// attempts, and sleep until woken, polled, or a slot frees.
func (e *Engine) dispatch(d *dest) {
	defer e.running.Done()
	tick := time.NewTicker(e.opts.Poll)
	defer tick.Stop()
	inflight, look := 0, true
	var timer *time.Timer
	for {
		var wait time.Duration
		if look {
			look, wait = e.claim(d, &inflight)
		}
		var timerC <-chan time.Time
		if wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			timerC = timer.C
		}
		select {
		case <-e.quit:
			for ; inflight > 0; inflight-- {
				<-d.done
			}
			return
		case <-d.wake:
			look = true
		case <-tick.C:
			look = true
		case <-timerC:
			look = true
		case <-d.done:
			inflight--
			// An ordered destination's finished attempt makes the next
			// delivery of its key the head: claim it now, not at the next
			// poll (the claim's batching guard still applies).
			look = look || d.cfg.Ordered
		}
	}
}

// claim leases as many due deliveries as the destination can take now and
// starts them. It returns whether there may be more to claim once a slot
// frees, and how long to wait before trying again when something other
// than a slot (circuit, rate limit, Retry-After) holds it back.
func (e *Engine) claim(d *dest, inflight *int) (more bool, wait time.Duration) {
	now := e.opts.Clock.Now()
	e.syncState(d, now)
	capacity := d.cfg.MaxInFlight - *inflight
	probe := false
	d.mu.Lock()
	if now.Before(d.notBefore) {
		wait = d.notBefore.Sub(now)
	}
	switch d.circuit {
	case hookwatch.CircuitOpen:
		if now.Before(d.probeAt) {
			wait = d.probeAt.Sub(now)
		} else {
			probe = true
			capacity = min(capacity, 1-*inflight)
		}
	case hookwatch.CircuitHalfOpen:
		capacity = 0 // the probe is in flight
	}
	blocked := d.blocked
	d.mu.Unlock()
	if blocked {
		return false, syncEvery
	}
	if wait > 0 {
		return false, wait
	}
	if capacity <= 0 {
		return true, 0
	}
	// Claim in batches: one transaction per slot would make the store the
	// bottleneck under load.
	if *inflight > 0 && capacity < max(1, d.cfg.MaxInFlight/4) {
		return true, 0
	}
	limit := min(capacity, 256)
	if d.limiter != nil {
		n, w := d.limiter.available(time.Now())
		if n == 0 {
			return false, w
		}
		limit = min(limit, n)
	}
	// The lease outlives the attempt (bounded by the timeout) with room to
	// record it; if recording is slower still, the delivery may be sent
	// twice, never lost. A killed instance's deliveries are due again when
	// it expires.
	lease := d.cfg.Timeout + 15*time.Second
	ctx, cancel := context.WithTimeout(e.hardCtx, 30*time.Second)
	ds, err := e.opts.Store.ClaimDeliveries(ctx, hookwatch.ClaimRequest{
		Destination: d.cfg.Name, Owner: e.opts.Owner, Now: now, Lease: lease, Limit: limit, DeadLettered: e.unreadable,
		BlockOnDead: d.cfg.Ordered && d.cfg.OnDead == hookwatch.OnDeadBlock})
	cancel()
	if err != nil {
		e.opts.Logger.Error("deliver: claim failed; retrying at the next poll", "destination", d.cfg.Name, "error", err)
		return false, 0
	}
	if len(ds) > 0 && probe {
		e.setCircuit(d, hookwatch.CircuitHalfOpen, now)
	}
	if d.limiter != nil {
		d.limiter.take(len(ds), time.Now())
	}
	for _, dl := range ds {
		*inflight++
		e.tail.Add(1)
		go e.attempt(d, dl)
	}
	return len(ds) == limit, 0
}

// unreadable hears a delivery the store dead-lettered while claiming it,
// because its event's payload does not open (altered, or sealed under a key
// this instance lacks): it is logged and counted like any dead letter.
func (e *Engine) unreadable(dl *hookwatch.Delivery, a *hookwatch.Attempt) {
	e.opts.Logger.Error("deliver: delivery dead-lettered: its event does not open", "delivery", dl.ID, "event", dl.EventID,
		"destination", dl.Destination, "error", a.Error)
	ctx := context.Background()
	e.opts.Observer.AttemptFinished(ctx, dl, a, hookwatch.OutcomeDead)
	e.opts.Observer.DeadLettered(ctx, dl, a)
}

// attempt sends one delivery of the dispatcher's and records its outcome
// with the batching finisher. Its slot frees as soon as the outcome is in
// the finisher's queue: max_in_flight caps the requests the app sees, and
// holding the slot while the outcome waits for the single writer capped
// delivery at max_in_flight per commit round (64 slots over ~30 ms under
// load: ~2,000/s whatever the CPU left; docs/PERFORMANCE.md). The queue is
// bounded (Engine.finishes), so are the outcomes waiting in it. An ordered
// destination keeps the slot until the outcome is recorded: the next
// delivery of the key is claimable only then, and the freed slot is what
// makes its dispatcher look.
func (e *Engine) attempt(d *dest, dl *hookwatch.Delivery) {
	defer e.tail.Done()
	freed := false
	free := func() {
		if !freed {
			freed = true
			d.done <- struct{}{}
		}
	}
	defer free()
	record := e.finishBatched
	if !d.cfg.Ordered {
		record = func(f hookwatch.Finish) error {
			req := e.queueFinish(f)
			free()
			<-req.done
			return req.err
		}
	}
	e.try(d, dl, record)
}

// try sends one delivery and records its outcome with record. It returns
// the attempt and what was recorded; f.Outcome is empty when nothing was
// (cut short by shutdown, or recording failed: err).
func (e *Engine) try(d *dest, dl *hookwatch.Delivery, record func(hookwatch.Finish) error) (a hookwatch.Attempt, f hookwatch.Finish, err error) {
	actx := context.Background()
	var trace http.Header
	if e.opts.Tracer != nil {
		actx, trace = e.opts.Tracer.StartAttempt(actx, dl)
	}
	a, retryAfter := e.send(d, dl, trace)
	if e.hardCtx.Err() != nil && a.Class != hookwatch.ClassNone && a.StatusCode == 0 {
		// Cut short by shutdown: not a real attempt. Release the lease so
		// the delivery is due again at once, here or on another instance.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.opts.Store.ReleaseDeliveries(ctx, e.opts.Owner, []string{dl.ID}); err != nil {
			e.opts.Logger.Warn("deliver: release lease on shutdown failed; the delivery is due again when its lease expires",
				"delivery", dl.ID, "error", err)
		}
		return a, hookwatch.Finish{}, nil
	}
	now := e.opts.Clock.Now()
	f = hookwatch.Finish{Owner: e.opts.Owner, Attempt: a}
	switch a.Class {
	case hookwatch.ClassNone:
		f.Outcome = hookwatch.OutcomeSucceeded
	case hookwatch.ClassTransform:
		f.Outcome, f.NextAttemptAt, f.NoCount = transformFailed(d, dl, now)
	case hookwatch.ClassGone:
		// Standard Webhooks: 410 means stop. The destination is disabled
		// and the delivery waits, uncounted, until someone resumes it.
		f.Outcome, f.NextAttemptAt, f.NoCount = hookwatch.OutcomeRetry, now, true
	default:
		f.Outcome, f.NextAttemptAt = d.cfg.Retry.Decide(a.Class, dl.Attempts+1, dl.QueuedAt, now, retryAfter, e.opts.Rand)
	}
	if a.Class == hookwatch.ClassGone {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := e.opts.Store.DisableDestination(ctx, d.cfg.Name, fmt.Sprintf("answered 410 Gone at %s", now.UTC().Format(time.RFC3339)), now); err != nil {
			e.opts.Logger.Error("deliver: disable destination failed", "destination", d.cfg.Name, "error", err)
		} else {
			e.setBlocked(d, true)
		}
		cancel()
		e.opts.Logger.Warn("deliver: destination answered 410 Gone: disabled; its deliveries wait until `hookwatch destinations resume`",
			"destination", d.cfg.Name)
		e.opts.Observer.DestinationDisabled(context.Background(), d.cfg.Name, &a)
	}
	if (a.Class == hookwatch.ClassRateLimit || a.Class == hookwatch.ClassServer) && retryAfter > 0 {
		e.slowDown(d, now.Add(min(retryAfter, MaxRetryAfter)), now)
	}
	e.updateCircuit(d, a.Class, now)

	if err := record(f); err != nil {
		if hookwatch.ErrorCode(err) != hookwatch.ECONFLICT {
			e.opts.Logger.Error("deliver: recording the attempt failed; the delivery is due again when its lease expires",
				"delivery", dl.ID, "error", err)
		}
		return a, hookwatch.Finish{}, err
	}
	if !f.NoCount {
		dl.Attempts++
	}
	e.opts.Observer.AttemptFinished(actx, dl, &a, f.Outcome)
	switch f.Outcome {
	case hookwatch.OutcomeDead:
		e.opts.Logger.WarnContext(actx, "deliver: delivery dead-lettered", "delivery", dl.ID, "event", dl.EventID,
			"destination", d.cfg.Name, "attempts", dl.Attempts, "class", string(a.Class), "status", a.StatusCode, "error", a.Error)
		e.opts.Observer.DeadLettered(actx, dl, &a)
	case hookwatch.OutcomeRetry:
		e.opts.Logger.DebugContext(actx, "deliver: attempt failed; retrying", "delivery", dl.ID, "destination", d.cfg.Name,
			"class", string(a.Class), "status", a.StatusCode, "next", f.NextAttemptAt)
	}
	return a, f, nil
}

// finishBatched records f through the finisher, which shares one
// transaction among the attempts finishing together.
func (e *Engine) finishBatched(f hookwatch.Finish) error {
	req := e.queueFinish(f)
	<-req.done
	return req.err
}

// queueFinish hands f to the finisher; the request's done closes once it
// is recorded (or failed: its err).
func (e *Engine) queueFinish(f hookwatch.Finish) *finishReq {
	req := &finishReq{f: f, done: make(chan struct{})}
	e.finishes <- req
	return req
}

// send makes one HTTP attempt. It returns the attempt and the answer's
// Retry-After.
func (e *Engine) send(d *dest, dl *hookwatch.Delivery, trace http.Header) (hookwatch.Attempt, time.Duration) {
	now := e.opts.Clock.Now()
	a := hookwatch.Attempt{DeliveryID: dl.ID, Owner: e.opts.Owner, At: now}
	ev := dl.Event
	if ev == nil {
		a.Class, a.Error = hookwatch.ClassUnknown, "event not found in the store"
		return a, 0
	}
	ctx, cancel := context.WithTimeout(e.hardCtx, d.cfg.Timeout)
	defer cancel()
	req, err := e.newRequest(ctx, d, dl, now, &a)
	if err != nil {
		a.Class, a.Error = buildClass(err), err.Error()
		return a, 0
	}
	for k, v := range trace {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		a.Latency = time.Since(start)
		a.Class, a.Error = ClassifyError(err)
		return a, 0
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, hookwatch.MaxResponseBody))
	if rerr == nil {
		// Drain a little more so the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	}
	resp.Body.Close()
	a.Latency = time.Since(start)
	a.StatusCode, a.Response = resp.StatusCode, body
	a.Class = ClassifyStatus(resp.StatusCode)
	switch {
	case a.Class == hookwatch.ClassNone:
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Error = fmt.Sprintf("HTTP %d redirect to %q not followed: point the destination at the final URL", resp.StatusCode, resp.Header.Get("Location"))
	default:
		a.Error = "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	if rerr != nil && a.Class == hookwatch.ClassNone {
		// The app said 2xx: a broken body afterwards does not undo that.
		rerr = nil
	}
	if rerr != nil {
		a.Error += " (answer cut: " + rerr.Error() + ")"
	}
	return a, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
}

// baseHeaders sets the provider's content type and the kept original
// headers: what a transform receives as request.headers.
func baseHeaders(d *dest, h http.Header, ev *hookwatch.Event) {
	ct := ev.Headers.Get("Content-Type")
	if ct == "" {
		ct = "application/json"
	}
	h.Set("Content-Type", ct)
	for _, k := range d.cfg.KeepHeaders {
		if vs := ev.Headers.Values(k); len(vs) > 0 {
			h[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
		}
	}
}

// finalHeaders sets the destination's own headers, the body's encoding
// (the event's when the body is sent as stored, none for a transformed
// one) and the Standard Webhooks headers signing body.
func finalHeaders(d *dest, h http.Header, ev *hookwatch.Event, dl *hookwatch.Delivery, now time.Time, body []byte, stored bool, userAgent string) {
	for k, v := range d.cfg.Headers {
		h.Set(k, v)
	}
	// The body is sent as received, compressed or not, so its encoding goes
	// with it whatever the destination's headers say.
	if ce := ev.Headers.Values("Content-Encoding"); stored && len(ce) > 0 {
		h["Content-Encoding"] = append([]string(nil), ce...)
	} else {
		h.Del("Content-Encoding")
	}
	h.Set("User-Agent", userAgent)
	h.Set("Webhook-Id", ev.ID)
	h.Set("Webhook-Timestamp", strconv.FormatInt(now.Unix(), 10))
	if d.key != nil {
		h.Set("Webhook-Signature", Sign(d.key, ev.ID, now, body))
	}
	h.Set("X-Hookwatch-Source", ev.Source)
	if ev.Type != "" {
		h.Set("X-Hookwatch-Event-Type", ev.Type)
	}
	h.Set("X-Hookwatch-Delivery", dl.ID)
	h.Set("X-Hookwatch-Attempt", strconv.Itoa(dl.Attempts+1))
}

// transient reports whether a class counts as the destination being down.
func transient(c hookwatch.ErrorClass) bool {
	return c == hookwatch.ClassServer || c == hookwatch.ClassConnection || c == hookwatch.ClassTimeout
}

// updateCircuit moves the breaker after an attempt: transient failures
// count towards opening it; any answer that shows the app is up (2xx, or a
// 4xx about the payload) closes it.
func (e *Engine) updateCircuit(d *dest, class hookwatch.ErrorClass, now time.Time) {
	d.mu.Lock()
	from := d.circuit
	if class == hookwatch.ClassRateLimit || class == hookwatch.ClassGone || class == hookwatch.ClassTransform {
		// Neither up nor down; a probe that got one tries again later.
		if from != hookwatch.CircuitHalfOpen {
			d.mu.Unlock()
			return
		}
		d.circuit, d.probeAt = hookwatch.CircuitOpen, now.Add(d.cooldown)
	} else if transient(class) {
		d.failures++
		switch {
		case from == hookwatch.CircuitHalfOpen:
			d.cooldown = min(d.cooldown*2, MaxCircuitCooldown)
		case from == hookwatch.CircuitClosed && d.failures >= d.cfg.CircuitFailures:
			d.cooldown = d.cfg.CircuitCooldown
		default:
			d.mu.Unlock()
			return
		}
		d.circuit, d.probeAt = hookwatch.CircuitOpen, now.Add(d.cooldown)
	} else {
		d.failures = 0
		if from == hookwatch.CircuitClosed {
			d.mu.Unlock()
			return
		}
		d.circuit, d.probeAt, d.cooldown = hookwatch.CircuitClosed, time.Time{}, d.cfg.CircuitCooldown
	}
	to, st := d.circuit, d.stateLocked(now)
	d.mu.Unlock()
	e.circuitChanged(d, from, to, st)
}

// setCircuit moves the breaker to state (open → half-open on a probe).
func (e *Engine) setCircuit(d *dest, state hookwatch.CircuitState, now time.Time) {
	d.mu.Lock()
	from := d.circuit
	d.circuit = state
	st := d.stateLocked(now)
	d.mu.Unlock()
	e.circuitChanged(d, from, state, st)
}

func (d *dest) stateLocked(now time.Time) hookwatch.DestinationState {
	return hookwatch.DestinationState{Name: d.cfg.Name, Circuit: d.circuit, Failures: d.failures, ProbeAt: d.probeAt,
		NotBefore: d.notBefore, UpdatedAt: now}
}

func (e *Engine) circuitChanged(d *dest, from, to hookwatch.CircuitState, st hookwatch.DestinationState) {
	if from == to {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.storeState(ctx, d, st)
	e.announce(ctx, d, from, to, st)
}

// announce logs a circuit change and tells the observer; a closed circuit
// wakes the dispatcher.
func (e *Engine) announce(ctx context.Context, d *dest, from, to hookwatch.CircuitState, st hookwatch.DestinationState) {
	level := slog.LevelInfo
	if to == hookwatch.CircuitOpen && from == hookwatch.CircuitClosed {
		level = slog.LevelWarn
	}
	e.opts.Logger.Log(ctx, level, "deliver: circuit "+string(to), "destination", d.cfg.Name, "from", string(from),
		"failures", st.Failures, "probe_at", st.ProbeAt)
	e.opts.Observer.CircuitChanged(ctx, d.cfg.Name, from, to)
	if to == hookwatch.CircuitClosed {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

// finisher records finished attempts in batches: many attempts share one
// transaction (and one fsync), each still applied atomically.
func (e *Engine) finisher() {
	defer close(e.finisherD)
	reqs := make([]*finishReq, 0, 256)
	fs := make([]hookwatch.Finish, 0, 256)
	for {
		var ok bool
		if reqs, ok = batch.Next(e.finishes, reqs, 256); !ok {
			return
		}
		fs = fs[:0]
		for _, r := range reqs {
			fs = append(fs, r.f)
		}
		var (
			results []error
			err     error
		)
		for try := 0; try < 5; try++ {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			results, err = e.opts.Store.FinishDeliveries(ctx, fs)
			cancel()
			if err == nil || hookwatch.ErrorCode(err) != hookwatch.EUNAVAILABLE {
				break
			}
			time.Sleep(time.Duration(100<<try) * time.Millisecond)
		}
		for i, r := range reqs {
			if err != nil {
				r.err = err
			} else {
				r.err = results[i]
			}
			close(r.done)
		}
	}
}

// bucket is a token bucket: rate tokens per second, burst of one second's
// worth (at least one). Only the dispatcher touches it.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newBucket(rate float64) *bucket {
	burst := max(1, rate)
	return &bucket{rate: rate, burst: burst, tokens: burst}
}

func (b *bucket) refill(now time.Time) {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
}

// available returns how many whole tokens there are, or how long until one.
func (b *bucket) available(now time.Time) (int, time.Duration) {
	b.refill(now)
	if b.tokens >= 1 {
		return int(b.tokens), 0
	}
	return 0, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

func (b *bucket) take(n int, now time.Time) {
	b.refill(now)
	b.tokens -= float64(n)
}
