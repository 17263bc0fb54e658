package monitor

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/getsentry/sentry-go"
	sentryslog "github.com/getsentry/sentry-go/slog"
)

// Logger returns the program's logger: records go to base (stdout) and,
// with Options.Logs, to Sentry Logs linked to the trace of their context;
// a record at error level that carries an "error" attribute whose value is
// an error is also sent as an error event with a stack trace (a store
// failure, a commit that failed). The Monitor logs delivery attempts
// through it too.
func (m *Monitor) Logger(base slog.Handler) *slog.Logger {
	if !m.Enabled() {
		return slog.New(base)
	}
	handlers := []slog.Handler{base, &errorHandler{m: m}}
	if m.opts.Logs {
		var levels []slog.Level
		for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, sentryslog.LevelFatal} {
			if l >= m.opts.LogLevel {
				levels = append(levels, l)
			}
		}
		ctx := sentry.SetHubOnContext(context.Background(), m.hub)
		handlers = append(handlers, &testFilter{m: m, next: sentryslog.Option{LogLevel: levels}.NewSentryHandler(ctx)})
	}
	m.logger = slog.New(slog.NewMultiHandler(handlers...))
	return m.logger
}

// testFilter is in front of the Sentry Logs handler: it gives a record
// logged without a hub a trace of its own, and drops, in production, the
// records logged in the context of a provider's test webhook's attempt
// (the engine's own records of it too): test webhooks reach Sentry nowhere
// in production.
type testFilter struct {
	m    *Monitor
	next slog.Handler
}

func (f *testFilter) Enabled(ctx context.Context, l slog.Level) bool { return f.next.Enabled(ctx, l) }

func (f *testFilter) Handle(ctx context.Context, r slog.Record) error {
	at := attemptFrom(ctx)
	if at != nil && at.test && f.m.opts.Environment == DefaultEnvironment {
		return nil
	}
	if at != nil {
		r = withAttemptAttrs(r, at)
	}
	if sentry.GetHubFromContext(ctx) == nil {
		// A record logged without a request's or a job's context is a
		// trace of its own, not one of the process's base hub shared by
		// every such record.
		ctx = sentry.SetHubOnContext(ctx, f.m.newHub())
	}
	return f.next.Handle(ctx, r)
}

func (f *testFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return &testFilter{m: f.m, next: f.next.WithAttrs(as)}
}

func (f *testFilter) WithGroup(name string) slog.Handler {
	return &testFilter{m: f.m, next: f.next.WithGroup(name)}
}

// withAttemptAttrs adds to a record of an attempt the attributes Sentry
// Logs searches on (source, destination, event_id, delivery_id) that it
// lacks; "event" and "delivery" count as event_id and delivery_id (the
// before-send hook renames them).
func withAttemptAttrs(r slog.Record, at *attemptTrace) slog.Record {
	has := map[string]bool{}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "event":
			has["event_id"] = true
		case "delivery":
			has["delivery_id"] = true
		default:
			has[a.Key] = true
		}
		return true
	})
	var add []slog.Attr
	for _, a := range []slog.Attr{slog.String("source", at.source), slog.String("destination", at.destination),
		slog.String("event_id", at.eventID), slog.String("delivery_id", at.deliveryID)} {
		if !has[a.Key] && a.Value.String() != "" {
			add = append(add, a)
		}
	}
	if len(add) == 0 {
		return r
	}
	r = r.Clone()
	r.AddAttrs(add...)
	return r
}

// errorHandler turns error records with an error into error events.
type errorHandler struct {
	m     *Monitor
	attrs []slog.Attr
}

func (h *errorHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }

func (h *errorHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &errorHandler{m: h.m, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *errorHandler) WithGroup(string) slog.Handler { return h }

func (h *errorHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	tags := map[string]string{}
	extra := sentry.Context{}
	visit := func(a slog.Attr) bool {
		v := a.Value.Resolve()
		if a.Key == "error" {
			if e, ok := v.Any().(error); ok {
				err = e
				return true
			}
		}
		switch a.Key {
		case "component", "source", "destination", "provider", "event_type", "error_type":
			tags[a.Key] = v.String()
		}
		extra[a.Key] = v.String()
		return true
	}
	for _, a := range h.attrs {
		visit(a)
	}
	r.Attrs(visit)
	// A client that hung up before the commit is not Hookwatch's error:
	// the provider retries what it did not see acknowledged.
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	if at := attemptFrom(ctx); at != nil && at.test {
		tags[testTag] = "true"
	}
	m := h.m
	ev := m.client.EventFromException(err, sentry.LevelError)
	trimStack(ev)
	ev.Message = r.Message
	if _, ok := tags["component"]; !ok {
		tags["component"] = componentOf(r.Message)
	}
	ev.Tags = tags
	ev.Contexts["log"] = sentry.Context{"message": r.Message, "attributes": extra}
	m.hubFor(ctx).CaptureEvent(ev)
	return nil
}

// componentOf guesses the component of a log message from its prefix
// ("deliver: claim failed" → background_jobs).
func componentOf(msg string) string {
	switch {
	case strings.HasPrefix(msg, "deliver:"):
		return "background_jobs"
	case strings.HasPrefix(msg, "event not committed"):
		return "ingest"
	}
	return "hookwatch"
}

// trimStack drops the innermost frames that belong to logging and to this
// package, so the stack trace ends where the error was reported.
func trimStack(ev *sentry.Event) {
	for i := range ev.Exception {
		st := ev.Exception[i].Stacktrace
		if st == nil {
			continue
		}
		n := len(st.Frames)
		for n > 0 {
			f := st.Frames[n-1]
			if f.Module == "log/slog" || strings.HasPrefix(f.Module, "github.com/hookwatch/hookwatch/monitor") ||
				strings.HasPrefix(f.Module, "github.com/getsentry/") {
				n--
				continue
			}
			break
		}
		if n > 0 {
			st.Frames = st.Frames[:n]
		}
	}
}

var errNotConfigured = errors.New("monitor: sentry is not configured: set sentry.dsn in the config or SENTRY_DSN")
