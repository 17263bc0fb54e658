// Package monitor is Hookwatch's one adapter to Sentry: error events for dead
// letters, signature failures and internal errors, performance traces of the
// receive path and of each delivery attempt, slog records as Sentry Logs, and
// cron check-ins for periodic jobs. It is the only package that imports the
// Sentry SDK (github.com/getsentry/sentry-go), whose API moves between
// releases; the rest of Hookwatch sees the Monitor's methods and the
// hookwatch.Tracer and hookwatch.DeliveryObserver interfaces it implements.
//
// A Monitor without a DSN does nothing, sends nothing, and its HTTP
// middleware returns the handler it wraps unchanged.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/hookwatch/hookwatch"
)

// Options configure a Monitor. The zero value is a disabled Monitor.
type Options struct {
	// DSN is the Sentry project's DSN. Empty: nothing is sent. (The SDK's
	// own SENTRY_* environment variables are never read: the binary reads
	// SENTRY_DSN and passes it here.)
	DSN string
	// Environment is sent with everything ("production" when empty). Test
	// events are dropped in production.
	Environment string
	// Release is the release sent with everything; when empty, Release()
	// derives it from the build (hookwatch.Version set with -ldflags, else
	// the VCS revision the binary was built from).
	Release string
	// ServerName identifies this instance; the host name when empty.
	ServerName string
	// SampleRate is the share of error events sent, in (0, 1]; 0 means 1.
	SampleRate float64
	// TracesSampleRate is the share of ingest requests traced (with the
	// deliveries of their events), in [0, 1]. 0 disables tracing.
	TracesSampleRate float64
	// TracesBySource overrides TracesSampleRate for some sources.
	TracesBySource map[string]float64
	// SendPayload attaches event bodies (truncated) to dead-letter errors.
	SendPayload bool
	// Logs sends slog records to Sentry Logs.
	Logs bool
	// LogLevel is the lowest level sent to Sentry Logs.
	LogLevel slog.Level
	// UserPaths maps a source to the JSON path of its payload that names
	// the user an event is about ("data.object.customer" for Stripe).
	UserPaths map[string]string
	// Secrets are values scrubbed from everything sent (source and
	// destination secrets, the admin token, header values...).
	Secrets []string
	// Tags are added to every event and transaction, after the defaults
	// (service=webhooks).
	Tags map[string]string
	// History reads a delivery's attempts for the dead-letter event; nil:
	// only the last attempt is described.
	History interface {
		GetDelivery(ctx context.Context, id string) (*hookwatch.Delivery, []*hookwatch.Attempt, error)
	}
	// DBSystem is the store's database, for the db spans of the receive
	// path ("sqlite" or "postgresql"; "sqlite" when empty).
	DBSystem string
	// DestinationURLs are the destinations' URLs by name, for http.client
	// spans (query strings are dropped).
	DestinationURLs map[string]string
	// RejectInterval is the least time between two signature-failure
	// events of one source (1 minute when zero); the ones in between are
	// counted in the next.
	RejectInterval time.Duration
	// FlushTimeout bounds Close (2 seconds when zero).
	FlushTimeout time.Duration
	// HTTPTimeout bounds one request to Sentry (10 seconds when zero).
	HTTPTimeout time.Duration
	// Debug writes the SDK's diagnostics to DebugWriter.
	Debug       bool
	DebugWriter interface{ Write([]byte) (int, error) }
}

// DefaultEnvironment is the environment when none is configured.
const DefaultEnvironment = "production"

// Monitor reports to Sentry. Its methods are safe for concurrent use, and a
// nil or disabled Monitor's methods do nothing.
type Monitor struct {
	opts    Options
	client  *sentry.Client
	hub     *sentry.Hub // the base hub: only ever cloned, one clone per request or job
	scrub   *scrubber
	tracing bool
	logger  *slog.Logger
	sent    *sendWatch // what Sentry answered to the envelopes SendTest watches

	rejectMu sync.Mutex
	rejects  map[string]*rejectState
}

// New returns a Monitor. Without a DSN it is disabled and New never fails.
func New(o Options) (*Monitor, error) {
	m := &Monitor{opts: o, rejects: map[string]*rejectState{}, logger: slog.New(slog.DiscardHandler)}
	if o.DSN == "" {
		return m, nil
	}
	if m.opts.Environment == "" {
		m.opts.Environment = DefaultEnvironment
	}
	if m.opts.Release == "" {
		m.opts.Release = Release()
	}
	if m.opts.DBSystem == "" {
		m.opts.DBSystem = "sqlite"
	}
	if m.opts.ServerName == "" {
		m.opts.ServerName, _ = os.Hostname()
	}
	if m.opts.SampleRate <= 0 || m.opts.SampleRate > 1 {
		m.opts.SampleRate = 1
	}
	if m.opts.RejectInterval <= 0 {
		m.opts.RejectInterval = time.Minute
	}
	if m.opts.FlushTimeout <= 0 {
		m.opts.FlushTimeout = 2 * time.Second
	}
	if m.opts.HTTPTimeout <= 0 {
		m.opts.HTTPTimeout = 10 * time.Second
	}
	m.tracing = m.opts.TracesSampleRate > 0
	for _, r := range m.opts.TracesBySource {
		m.tracing = m.tracing || r > 0
	}
	m.scrub = newScrubber(o.Secrets)
	m.sent = &sendWatch{next: http.DefaultTransport}
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:           o.DSN,
		Environment:   m.opts.Environment,
		Release:       m.opts.Release,
		ServerName:    m.opts.ServerName,
		SampleRate:    m.opts.SampleRate,
		EnableTracing: m.tracing,
		// A trace's head (an ingest request, or a delivery of an event
		// stored untraced) is sampled at its source's rate, by the SDK, so
		// the rate on the wire (baggage, envelope headers) is the real one
		// and Sentry extrapolates counts right. A delivery continuing a
		// trace takes the decision stored with its event (an explicit
		// decision: the sampler is not asked again).
		TracesSampler: m.sample,
		// Hookwatch sets the propagation headers itself, on its own
		// requests only.
		TracePropagationTargets: []string{},
		MaxBreadcrumbs:          50,
		BeforeSend:              m.beforeSend,
		BeforeSendTransaction:   m.beforeSendTransaction,
		BeforeSendLog:           m.beforeSendLog,
		BeforeBreadcrumb: func(b *sentry.Breadcrumb, _ *sentry.BreadcrumbHint) *sentry.Breadcrumb {
			m.scrub.breadcrumb(b)
			return b
		},
		HTTPClient:             &http.Client{Timeout: m.opts.HTTPTimeout, Transport: m.sent},
		Debug:                  o.Debug,
		DebugWriter:            o.DebugWriter,
		TraceIgnoreStatusCodes: [][]int{},
		// The global-tags integration reads SENTRY_TAGS_* from the
		// environment (nothing below cmd does) and the modules list is
		// noise: keep the runtime/OS contexts only.
		Integrations: func(in []sentry.Integration) []sentry.Integration {
			var out []sentry.Integration
			for _, i := range in {
				if i.Name() == "Environment" {
					out = append(out, i)
				}
			}
			return out
		},
	})
	if err != nil {
		return nil, fmt.Errorf("monitor: sentry: %w", err)
	}
	m.client = client
	m.hub = sentry.NewHub(client, sentry.NewScope())
	return m, nil
}

// Enabled reports whether the Monitor sends anything.
func (m *Monitor) Enabled() bool { return m != nil && m.client != nil }

// Tracing reports whether requests are traced (some traces sample rate is
// positive).
func (m *Monitor) Tracing() bool { return m.Enabled() && m.tracing }

// Environment is the environment sent with everything.
func (m *Monitor) Environment() string {
	if m == nil {
		return ""
	}
	return m.opts.Environment
}

// Flush waits until everything captured so far has been sent, at most
// timeout. It reports whether it all went.
func (m *Monitor) Flush(timeout time.Duration) bool {
	if !m.Enabled() {
		return true
	}
	return m.client.Flush(timeout)
}

// Close flushes (at most Options.FlushTimeout) and stops the SDK's
// background sender. Call it last, after the servers and the delivery
// engine stopped.
func (m *Monitor) Close() error {
	if !m.Enabled() {
		return nil
	}
	ok := m.client.Flush(m.opts.FlushTimeout)
	// Closing waits for a request in flight; a hanging Sentry must not
	// hold the shutdown beyond the flush timeout.
	closed := make(chan struct{})
	go func() { m.client.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(m.opts.FlushTimeout):
	}
	if !ok {
		return errors.New("monitor: flush: not everything reached Sentry before the timeout")
	}
	return nil
}

// newHub returns a hub of its own for one request or job, in a trace of its
// own: a clone shares the base hub's propagation context, which would put
// every unrelated job of the process in one trace.
func (m *Monitor) newHub() *sentry.Hub {
	h := m.hub.Clone()
	h.Scope().SetPropagationContext(sentry.NewPropagationContext())
	return h
}

// sourceTag is where a head transaction's source travels to the sampler.
const sourceTag = "source"

// sample is the SDK's traces sampler: the rate of the transaction's source.
func (m *Monitor) sample(c sentry.SamplingContext) float64 {
	if c.Span == nil {
		return m.opts.TracesSampleRate
	}
	return m.traceRate(c.Span.Tags[sourceTag])
}

// withSource tags a transaction with its source before the SDK samples it.
func withSource(source string) sentry.SpanOption {
	return func(s *sentry.Span) { s.SetTag(sourceTag, source) }
}

// hubFor returns the hub of ctx (one request's or job's), or a new one.
func (m *Monitor) hubFor(ctx context.Context) *sentry.Hub {
	if ctx != nil {
		if h := sentry.GetHubFromContext(ctx); h != nil && h.Client() == m.client {
			return h
		}
	}
	return m.newHub()
}

// Reporter returns m's ReportError as the hookwatch.ErrorReporter that
// packages take, or nil (reports nothing) when m is disabled.
func (m *Monitor) Reporter() hookwatch.ErrorReporter {
	if !m.Enabled() {
		return nil
	}
	return m.ReportError
}

// ReportError sends an internal error (a store failure, a bug) as an error
// event with the stack trace of the caller (Reporter returns it as a
// hookwatch.ErrorReporter).
func (m *Monitor) ReportError(ctx context.Context, err error) {
	if !m.Enabled() || err == nil {
		return
	}
	hub := m.hubFor(ctx)
	ev := m.client.EventFromException(err, sentry.LevelError)
	trimStack(ev)
	ev.Tags = map[string]string{"component": "api", "error_code": hookwatch.ErrorCode(err)}
	hub.CaptureEvent(ev)
}

// Tracer returns m as a hookwatch.Tracer when enabled, else nil: the
// receive path and the delivery engine skip tracing on a nil Tracer. With
// tracing off it still gives each delivery attempt a hub (and a trace) of
// its own, so the attempt's logs and dead letter are its own.
func (m *Monitor) Tracer() hookwatch.Tracer {
	if !m.Enabled() {
		return nil
	}
	return m
}

// Observer returns m as a hookwatch.DeliveryObserver when enabled, else
// nil.
func (m *Monitor) Observer() hookwatch.DeliveryObserver {
	if !m.Enabled() {
		return nil
	}
	return m
}
