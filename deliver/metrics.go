package deliver

import (
	"context"
	"sync"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/prometheus/client_golang/prometheus"
)

// MetricsStore is what the backlog and destination gauges read on scrape.
type MetricsStore interface {
	Backlogs(ctx context.Context, test bool) ([]hookwatch.Backlog, error)
	DestinationStates(ctx context.Context) (map[string]hookwatch.DestinationState, error)
	WaitingHeads(ctx context.Context) ([]hookwatch.WaitingHeads, error)
}

// MetricsOptions configure Metrics.
type MetricsOptions struct {
	// Store is read for the backlog and destination gauges; nil: no gauges.
	Store MetricsStore
	// Destinations are the configured destination names: each gets its
	// gauges (zero when idle), so a destination never disappears from a
	// dashboard. Destinations only in the store are reported too.
	Destinations []string
	// Ordering lists the destinations with ordering and their on_dead:
	// they get the blocked-keys gauges (none without one, and then the
	// store is not asked).
	Ordering map[string]hookwatch.OnDead
	// CacheFor is how long one reading of the store serves scrapes, so
	// several scrapers (or a fast one) cost one query; default 5s.
	CacheFor time.Duration
	// Clock ages the oldest waiting delivery; the real clock if nil.
	Clock hookwatch.Clock
}

// Metrics are the delivery engine's Prometheus collectors. Counters and
// histograms are fed by the engine as a hookwatch.DeliveryObserver (give
// it to Options.Observer); the backlog and destination gauges are read
// from the store when scraped, so every instance sharing a database
// reports the same queue. Labels are destination names, error classes and
// outcomes: never event or delivery IDs. Test events are counted like any
// other (the queue holds them too); health figures and alerts leave them
// out.
type Metrics struct {
	attempts   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	processing *prometheus.HistogramVec
	dead       *prometheus.CounterVec
	circuit    *prometheus.CounterVec
	unordered  *prometheus.CounterVec
	gauges     *gauges
}

var _ hookwatch.DeliveryObserver = (*Metrics)(nil)

// NewMetrics creates the collectors and registers them on reg (if not nil).
func NewMetrics(reg prometheus.Registerer, opts MetricsOptions) *Metrics {
	processingBuckets := make([]float64, len(hookwatch.LatencyBuckets))
	for i, b := range hookwatch.LatencyBuckets {
		processingBuckets[i] = b.Seconds()
	}
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookwatch_delivery_attempts_total",
			Help: "Delivery attempts, by destination, error class (none for a success) and outcome (succeeded, retry, dead).",
		}, []string{"destination", "class", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookwatch_delivery_attempt_duration_seconds",
			Help:    "Time of one delivery attempt, from sending the request to reading the answer (or failing).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"destination"}),
		processing: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookwatch_delivery_processing_seconds",
			Help:    "Time from receiving an event (or replaying it) to its successful delivery; the buckets of the health report.",
			Buckets: processingBuckets,
		}, []string{"destination"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookwatch_delivery_dead_letters_total",
			Help: "Deliveries whose retry policy gave up, by destination.",
		}, []string{"destination"}),
		circuit: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookwatch_destination_circuit_transitions_total",
			Help: "Circuit breaker changes made by this instance, by destination and the state entered.",
		}, []string{"destination", "state"}),
		unordered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookwatch_ordering_unordered_total",
			Help: "Deliveries of an ordered destination sent unordered because their ordering key could not be computed, by destination (the reason is on the delivery).",
		}, []string{"destination"}),
	}
	if opts.Store != nil {
		m.gauges = newGauges(opts)
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.latency, m.processing, m.dead, m.circuit, m.unordered)
		if m.gauges != nil {
			reg.MustRegister(m.gauges)
		}
	}
	return m
}

// AttemptFinished counts the attempt and times it; a success also records
// its processing time.
func (m *Metrics) AttemptFinished(_ context.Context, d *hookwatch.Delivery, a *hookwatch.Attempt, o hookwatch.Outcome) {
	class := string(a.Class)
	if class == "" {
		class = "none"
	}
	m.attempts.WithLabelValues(d.Destination, class, string(o)).Inc()
	m.latency.WithLabelValues(d.Destination).Observe(a.Latency.Seconds())
	if o != hookwatch.OutcomeSucceeded {
		return
	}
	// Like the health report: from receipt, or from the replay that queued
	// it again.
	from := d.QueuedAt
	if d.Event != nil && d.Event.ReceivedAt.After(from) {
		from = d.Event.ReceivedAt
	}
	if !from.IsZero() {
		m.processing.WithLabelValues(d.Destination).Observe(max(0, a.At.Add(a.Latency).Sub(from).Seconds()))
	}
}

// DeadLettered counts a dead letter.
// Unordered counts a delivery to destination made without an ordering key
// (hookwatch.Orderer's onError).
func (m *Metrics) Unordered(destination string) {
	m.unordered.WithLabelValues(destination).Inc()
}

func (m *Metrics) DeadLettered(_ context.Context, d *hookwatch.Delivery, _ *hookwatch.Attempt) {
	m.dead.WithLabelValues(d.Destination).Inc()
}

// CircuitChanged counts a circuit breaker change.
func (m *Metrics) CircuitChanged(_ context.Context, destination string, _, to hookwatch.CircuitState) {
	m.circuit.WithLabelValues(destination, string(to)).Inc()
}

// DestinationDisabled does nothing: hookwatch_destination_disabled reads
// the store.
func (m *Metrics) DestinationDisabled(context.Context, string, *hookwatch.Attempt) {}

var circuitStates = []hookwatch.CircuitState{hookwatch.CircuitClosed, hookwatch.CircuitOpen, hookwatch.CircuitHalfOpen}

// gauges is a prometheus.Collector reading the backlog and destination
// states from the store on scrape, at most once per CacheFor.
type gauges struct {
	opts                                    MetricsOptions
	backlog, oldest, circuit, paused, disab *prometheus.Desc
	up                                      *prometheus.Desc
	blocked, blockedAge                     *prometheus.Desc

	mu     sync.Mutex
	readAt time.Time
	last   []prometheus.Metric
}

func newGauges(opts MetricsOptions) *gauges {
	if opts.CacheFor <= 0 {
		opts.CacheFor = 5 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = hookwatch.SystemClock{}
	}
	dst := []string{"destination"}
	return &gauges{opts: opts,
		backlog: prometheus.NewDesc("hookwatch_delivery_backlog",
			"Deliveries waiting (pending, in flight or due later), test events included, by destination.", dst, nil),
		oldest: prometheus.NewDesc("hookwatch_delivery_backlog_oldest_age_seconds",
			"Age of the oldest waiting delivery (since it was queued or replayed), by destination; 0 when none waits.", dst, nil),
		circuit: prometheus.NewDesc("hookwatch_destination_circuit_state",
			"Circuit breaker state by destination: 1 for the current state (closed, open, half-open), 0 for the others.",
			[]string{"destination", "state"}, nil),
		paused: prometheus.NewDesc("hookwatch_destination_paused", "1 when the destination is paused.", dst, nil),
		disab: prometheus.NewDesc("hookwatch_destination_disabled",
			"1 when the destination answered 410 Gone and waits to be resumed.", dst, nil),
		blocked: prometheus.NewDesc("hookwatch_ordering_blocked_keys",
			"Ordering keys of an ordered destination whose head delivery failed and waits for its retry (or, with on_dead: block, is dead and waits for a replay), holding the key's later deliveries.", dst, nil),
		blockedAge: prometheus.NewDesc("hookwatch_ordering_blocked_oldest_age_seconds",
			"How long the longest-blocked ordering key's head has waited (since it was queued or replayed), by ordered destination; 0 when no key is blocked.", dst, nil),
		up: prometheus.NewDesc("hookwatch_delivery_backlog_up",
			"1 when the store answered the last backlog and destination query, 0 when it failed (the gauges are then missing).", nil, nil),
	}
}

// Describe sends the gauges' descriptions.
func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{g.backlog, g.oldest, g.circuit, g.paused, g.disab, g.up, g.blocked, g.blockedAge} {
		ch <- d
	}
}

// Collect sends the gauges, reading the store unless the last reading is
// fresh enough.
func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.last == nil || time.Since(g.readAt) >= g.opts.CacheFor {
		g.last, g.readAt = g.read(), time.Now()
	}
	for _, m := range g.last {
		ch <- m
	}
}

// read queries the store once and builds every gauge.
func (g *gauges) read() []prometheus.Metric {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bl, err := g.opts.Store.Backlogs(ctx, true)
	var states map[string]hookwatch.DestinationState
	if err == nil {
		states, err = g.opts.Store.DestinationStates(ctx)
	}
	var blocked map[string]hookwatch.Blocked
	if err == nil && len(g.opts.Ordering) > 0 {
		var ws []hookwatch.WaitingHeads
		if ws, err = g.opts.Store.WaitingHeads(ctx); err == nil {
			blocked = hookwatch.TallyBlocked(ws, g.opts.Ordering)
		}
	}
	if err != nil {
		return []prometheus.Metric{prometheus.MustNewConstMetric(g.up, prometheus.GaugeValue, 0)}
	}
	now := g.opts.Clock.Now()
	type figures struct {
		pending int
		oldest  time.Time
	}
	byDest := map[string]*figures{}
	var names []string
	name := func(n string) *figures {
		f, ok := byDest[n]
		if !ok {
			f = &figures{}
			byDest[n] = f
			names = append(names, n)
		}
		return f
	}
	for _, n := range g.opts.Destinations {
		name(n)
	}
	for _, b := range bl {
		f := name(b.Destination)
		f.pending += b.Pending
		if b.Pending > 0 && (f.oldest.IsZero() || b.Oldest.Before(f.oldest)) {
			f.oldest = b.Oldest
		}
	}
	for n := range states {
		name(n)
	}
	out := []prometheus.Metric{prometheus.MustNewConstMetric(g.up, prometheus.GaugeValue, 1)}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		out = append(out, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	for _, n := range names {
		f := byDest[n]
		age := 0.0
		if f.pending > 0 {
			age = max(0, now.Sub(f.oldest).Seconds())
		}
		gauge(g.backlog, float64(f.pending), n)
		gauge(g.oldest, age, n)
		st, ok := states[n]
		if !ok || st.Circuit == "" {
			st.Circuit = hookwatch.CircuitClosed
		}
		for _, c := range circuitStates {
			gauge(g.circuit, b2f(st.Circuit == c), n, string(c))
		}
		gauge(g.paused, b2f(st.Paused), n)
		gauge(g.disab, b2f(!st.DisabledAt.IsZero()), n)
		if _, ok := g.opts.Ordering[n]; ok {
			b := blocked[n]
			age := 0.0
			if b.Keys > 0 {
				age = max(0, now.Sub(b.Oldest).Seconds())
			}
			gauge(g.blocked, float64(b.Keys), n)
			gauge(g.blockedAge, age, n)
		}
	}
	return out
}
