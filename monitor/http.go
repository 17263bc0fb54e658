package monitor

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/getsentry/sentry-go"
	"github.com/hookwatch/hookwatch"
)

// IngestRoute names the receive path's transactions.
const IngestRoute = "POST /in/{source}"

// sampled decides whether a request of source is traced.
func (m *Monitor) traceRate(source string) float64 {
	if r, ok := m.opts.TracesBySource[source]; ok {
		return r
	}
	return m.opts.TracesSampleRate
}

// Ingest wraps the receive handler (POST /in/{source}): each request of a
// traced source runs in an http.server transaction on a hub of its own,
// sampled by the SDK at the source's rate (an unsampled one is not sent,
// but its trace and sampling decision go on to the deliveries). The
// transaction carries the request (method, route, headers scrubbed, body
// size). Without tracing it returns next itself.
func (m *Monitor) Ingest(next http.Handler) http.Handler {
	if !m.Tracing() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		source := r.PathValue("source")
		if m.traceRate(source) <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		route := r.Pattern
		if route == "" {
			route = IngestRoute
		}
		hub := m.newHub()
		hub.Scope().SetTags(map[string]string{"component": "ingest", "source": source})
		ctx := sentry.SetHubOnContext(r.Context(), hub)
		tx := sentry.StartTransaction(ctx, route, sentry.WithOpName("http.server"),
			sentry.WithTransactionSource(sentry.SourceRoute), withSource(source))
		if tx.Sampled != sentry.SampledTrue {
			next.ServeHTTP(w, r.WithContext(tx.Context()))
			return
		}
		// The request interface of the transaction: the SDK drops
		// cookies and credential headers, the scrubber the rest
		// (signatures, configured secrets); never the body.
		hub.Scope().SetRequest(r)
		tx.SetData("http.request.method", r.Method)
		tx.SetData("http.route", route)
		tx.SetData("url.path", r.URL.Path)
		body := &countingBody{ReadCloser: r.Body}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = body
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			tx.Status = sentry.HTTPtoSpanStatus(rec.status)
			if r.Context().Err() != nil && rec.status >= 500 {
				// The client hung up before the commit: not a failure of
				// Hookwatch's (the provider retries).
				tx.Status = sentry.SpanStatusCanceled
			}
			tx.SetData("http.response.status_code", rec.status)
			tx.SetData("http.request.body.size", body.n)
			tx.Finish()
		}()
		next.ServeHTTP(rec, r.WithContext(tx.Context()))
	})
}

// countingBody counts the bytes of a request body read.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func nop() {}

// StartSpan starts a child span of the trace in ctx (hookwatch.Tracer).
// Untraced: ctx and a function that does nothing, without allocating.
func (m *Monitor) StartSpan(ctx context.Context, op, description string) (context.Context, func()) {
	if !m.Tracing() {
		return ctx, nop
	}
	parent := sentry.SpanFromContext(ctx)
	if parent == nil || parent.Sampled != sentry.SampledTrue {
		return ctx, nop
	}
	span := parent.StartChild(op, sentry.WithDescription(description))
	return span.Context(), span.Finish
}

// StartPublish traces the commit of an event to the delivery queue
// (hookwatch.Tracer) and sets e.Trace, which its deliveries continue: the
// sentry-trace of the request's transaction and the trace's baggage, or a
// new unsampled trace when the request is not traced. In a sampled trace
// it starts, for Sentry's Queues view, a queue.publish span per
// destination (messaging.destination.name, messaging.message.id,
// messaging.message.body.size) around a db span (db.system) for the
// commit. A test webhook's request is marked so that its transaction never
// reaches Sentry in production.
func (m *Monitor) StartPublish(ctx context.Context, e *hookwatch.Event) (context.Context, func()) {
	if !m.Tracing() {
		return ctx, nop
	}
	parent := sentry.SpanFromContext(ctx)
	if parent == nil {
		e.Trace = unsampledTrace()
		return ctx, nop
	}
	tx := parent.GetTransaction()
	if tx == nil {
		tx = parent
	}
	e.Trace = parent.ToSentryTrace()
	if b := headBaggage(tx); b != "" {
		e.Trace += " " + b
	}
	if parent.Sampled != sentry.SampledTrue {
		return ctx, nop
	}
	if e.Test {
		tx.SetTag(testTag, "true")
	}
	var pubs []*sentry.Span
	for _, d := range e.Destinations {
		p := parent.StartChild("queue.publish", sentry.WithDescription(d))
		p.SetData("messaging.system", "hookwatch")
		p.SetData("messaging.destination.name", d)
		p.SetData("messaging.message.id", e.ID)
		p.SetData("messaging.message.body.size", len(e.Body))
		pubs = append(pubs, p)
	}
	db := parent.StartChild("db", sentry.WithDescription("INSERT event, deliveries (group commit)"))
	db.SetData("db.system", m.opts.DBSystem)
	db.SetData("db.operation", "INSERT")
	return db.Context(), func() {
		db.Finish()
		for _, p := range pubs {
			p.EndTime = db.EndTime
			p.Finish()
		}
	}
}

// headBaggage is the baggage of a transaction at the head of its trace
// (the SDK's ToBaggage validates and encodes through a general W3C baggage
// library, tens of microseconds an ingest request could not afford). Values
// are percent-encoded as W3C baggage wants; keys are sorted.
func headBaggage(tx *sentry.Span) string {
	dsc := sentry.DynamicSamplingContextFromTransaction(tx)
	if !dsc.HasEntries() {
		return ""
	}
	keys := make([]string, 0, len(dsc.Entries))
	for k := range dsc.Entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("sentry-")
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(url.PathEscape(dsc.Entries[k]))
	}
	return b.String()
}

// unsampledTrace is a sentry-trace value for a new trace that is not
// sampled: trace ID, span ID, "0".
func unsampledTrace() string {
	var b [24]byte
	for i := 0; i < 24; i += 8 {
		v := rand.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	var out [32 + 1 + 16 + 2]byte
	hex.Encode(out[:32], b[:16])
	out[32] = '-'
	hex.Encode(out[33:49], b[16:])
	out[49], out[50] = '-', '0'
	return string(out[:])
}

// splitTrace splits a stored Event.Trace into sentry-trace and baggage.
func splitTrace(t string) (trace, baggage string) {
	trace, baggage, _ = strings.Cut(t, " ")
	return trace, baggage
}

// Recover wraps h so that a panic is answered 500, logged, and sent to
// Sentry with its stack trace (when enabled), instead of cutting the
// connection. http.ErrAbortHandler is passed on: it is how a handler
// aborts on purpose.
func (m *Monitor) Recover(h http.Handler, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			if m.Enabled() {
				err, ok := v.(error)
				if ok {
					err = fmt.Errorf("panic: %w", err)
				} else {
					err = fmt.Errorf("panic: %v", v)
				}
				// The stack is still the panicking one: the deferred call
				// runs on top of it.
				ev := m.client.EventFromException(err, sentry.LevelFatal)
				ev.Tags = map[string]string{"component": "http", "route": r.Pattern, "http.method": r.Method}
				m.hubFor(r.Context()).CaptureEvent(ev)
			}
			logger.ErrorContext(r.Context(), "panic serving a request: answered 500", "method", r.Method,
				"path", r.URL.Path, "panic", fmt.Sprint(v))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintln(w, `{"error": "internal", "message": "internal error"}`)
		}()
		h.ServeHTTP(w, r)
	})
}
