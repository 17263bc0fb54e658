package monitor

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/getsentry/sentry-go"
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

// Ingest wraps the receive handler (POST /in/{source}): a sampled request
// runs in an http.server transaction on a hub of its own. Without tracing
// it returns next itself; an unsampled request costs one random number.
func (m *Monitor) Ingest(next http.Handler) http.Handler {
	if !m.Tracing() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		source := r.PathValue("source")
		rate := m.traceRate(source)
		if rate <= 0 || rand.Float64() >= rate {
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
		tx := m.startTransaction(ctx, route, "http.server", sentry.SourceRoute, rate)
		tx.SetTag("source", source)
		tx.SetData("http.request.method", r.Method)
		tx.SetData("url.path", r.URL.Path)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			tx.Status = sentry.HTTPtoSpanStatus(rec.status)
			tx.SetData("http.response.status_code", rec.status)
			tx.Finish()
		}()
		next.ServeHTTP(rec, r.WithContext(tx.Context()))
	})
}

// startTransaction starts a sampled transaction at the head of a trace. The
// Monitor made the sampling decision; the trace's baggage carries the rate
// it was made with, so Sentry extrapolates counts right.
func (m *Monitor) startTransaction(ctx context.Context, name, op string, source sentry.TransactionSource, rate float64) *sentry.Span {
	tx := sentry.StartTransaction(ctx, name, sentry.WithOpName(op), sentry.WithTransactionSource(source),
		sentry.WithSpanSampled(sentry.SampledTrue))
	dsc := sentry.DynamicSamplingContextFromTransaction(tx)
	if dsc.Entries != nil {
		dsc.Entries["sample_rate"] = strconv.FormatFloat(rate, 'f', -1, 64)
		tx.SetDynamicSamplingContext(dsc)
	}
	return tx
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

// TraceParent returns what Event.Trace stores (hookwatch.Tracer): the
// sentry-trace value, then a space and the baggage. An untraced request
// gets a fresh trace marked unsampled, so its deliveries keep the decision
// instead of sampling again.
func (m *Monitor) TraceParent(ctx context.Context) string {
	if !m.Tracing() {
		return ""
	}
	if span := sentry.SpanFromContext(ctx); span != nil {
		if b := span.ToBaggage(); b != "" {
			return span.ToSentryTrace() + " " + b
		}
		return span.ToSentryTrace()
	}
	return unsampledTrace()
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
