package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/hookwatch/hookwatch"
)

// attemptKey holds an attempt's trace in the context StartAttempt returns.
type attemptKey struct{}

type attemptTrace struct {
	hub  *sentry.Hub
	tx   *sentry.Span // the queue.process transaction, sampled or not; nil without tracing
	http *sentry.Span // its http.client child, when sampled
	test bool         // a provider's test webhook: nothing of it reaches Sentry in production

	// What the attempt's log records carry as attributes (the engine's
	// records name some of them only).
	source, destination, eventID, deliveryID string
}

// sampled reports whether the attempt's trace goes to Sentry.
func (at *attemptTrace) sampled() bool {
	return at != nil && at.tx != nil && at.tx.Sampled == sentry.SampledTrue
}

// StartAttempt starts tracing one delivery attempt (hookwatch.Tracer): a
// hub of its own in the event's trace and a queue.process transaction
// continuing it (sent when the trace is sampled, with an http.client child
// span). The headers carry the trace to the destination, sampled or not,
// so the app's own Sentry or OpenTelemetry joins it: sentry-trace and
// baggage (the trace's dynamic sampling context, as the head of the trace
// decided it) and the W3C traceparent.
func (m *Monitor) StartAttempt(ctx context.Context, d *hookwatch.Delivery) (context.Context, http.Header) {
	if !m.Enabled() {
		return ctx, nil
	}
	var ev hookwatch.Event
	if d.Event != nil {
		ev = *d.Event
	}
	trace, baggage := splitTrace(ev.Trace)
	hub := m.newHub()
	hub.Scope().SetTags(map[string]string{"component": "background_jobs", "source": ev.Source, "destination": d.Destination})
	ctx = sentry.SetHubOnContext(ctx, hub)
	at := &attemptTrace{hub: hub, test: ev.Test, source: ev.Source, destination: d.Destination, eventID: d.EventID, deliveryID: d.ID}
	if !m.tracing {
		return context.WithValue(ctx, attemptKey{}, at), nil
	}
	name := "deliver " + d.Destination
	opts := []sentry.SpanOption{sentry.WithOpName("queue.process"), sentry.WithTransactionSource(sentry.SourceTask),
		withSource(ev.Source)}
	if trace != "" {
		// The head of the trace decided; the sampler is not asked again
		// (it would roll the dice a second time and rewrite the trace's
		// sample rate).
		sampled := sentry.SampledFalse
		if strings.HasSuffix(trace, "-1") {
			sampled = sentry.SampledTrue
		}
		opts = append(opts, sentry.ContinueFromHeaders(trace, baggage), sentry.WithSpanSampled(sampled))
		if dsc, err := sentry.DynamicSamplingContextFromHeader([]byte(baggage)); err == nil && dsc.HasEntries() {
			traceID, _, _ := strings.Cut(trace, "-")
			m.sent.keepDSC(traceID, dsc.Entries)
		}
	}
	// Without a stored trace (an event stored untraced, or replayed from
	// then) the attempt heads a trace of its own, sampled at its source's
	// rate.
	at.tx = sentry.StartTransaction(ctx, name, opts...)
	if ev.Test {
		at.tx.SetTag(testTag, "true")
	}
	span := at.tx
	if at.sampled() {
		at.tx.SetTag("destination", d.Destination)
		at.tx.SetTag("source", ev.Source)
		// Sentry's Queues view: the consumer side of the destination's
		// queue.
		at.tx.SetData("messaging.system", "hookwatch")
		at.tx.SetData("messaging.message.id", ev.ID)
		at.tx.SetData("messaging.destination.name", d.Destination)
		at.tx.SetData("messaging.message.retry.count", d.Attempts)
		at.tx.SetData("messaging.message.body.size", len(ev.Body))
		queued := d.QueuedAt
		if queued.IsZero() {
			queued = ev.ReceivedAt
		}
		if !queued.IsZero() {
			at.tx.SetData("messaging.message.receive.latency", max(time.Since(queued).Milliseconds(), 0))
		}
		desc := "POST " + d.Destination
		if u, ok := m.opts.DestinationURLs[d.Destination]; ok {
			desc = "POST " + hookwatch.RedactURL(u)
		}
		at.http = at.tx.StartChild("http.client", sentry.WithDescription(desc))
		at.http.SetData("http.request.method", http.MethodPost)
		span = at.http
		ctx = at.http.Context()
	} else {
		ctx = at.tx.Context()
	}
	h := http.Header{}
	h.Set(sentry.SentryTraceHeader, span.ToSentryTrace())
	h.Set(sentry.TraceparentHeader, span.ToTraceparent())
	// The trace's baggage, as its head made it (stored with the event):
	// the SDK's, from a child span, would be rebuilt from this attempt
	// (sample rate 1, transaction "deliver ..."). An attempt heading a
	// trace of its own makes it.
	if baggage == "" {
		baggage = headBaggage(at.tx)
	}
	if baggage != "" {
		h.Set(sentry.SentryBaggageHeader, baggage)
	}
	return context.WithValue(ctx, attemptKey{}, at), h
}

func attemptFrom(ctx context.Context) *attemptTrace {
	at, _ := ctx.Value(attemptKey{}).(*attemptTrace)
	return at
}

// AttemptFinished ends the attempt's trace and logs it: success at info
// (traced attempts only, to keep volume in line with sampling), failure at
// warning, both linked to the trace (hookwatch.DeliveryObserver).
func (m *Monitor) AttemptFinished(ctx context.Context, d *hookwatch.Delivery, a *hookwatch.Attempt, o hookwatch.Outcome) {
	if !m.Enabled() {
		return
	}
	at := attemptFrom(ctx)
	if at.sampled() {
		if at.http != nil {
			at.http.EndTime = at.http.StartTime.Add(a.Latency)
			if a.StatusCode > 0 {
				at.http.SetData("http.response.status_code", a.StatusCode)
				at.http.Status = sentry.HTTPtoSpanStatus(a.StatusCode)
			} else if a.Class != hookwatch.ClassNone {
				at.http.Status = sentry.SpanStatusUnavailable
				if a.Class == hookwatch.ClassTimeout {
					at.http.Status = sentry.SpanStatusDeadlineExceeded
				}
			}
			at.http.Finish()
		}
		at.tx.SetTag("outcome", string(o))
		if a.Class != hookwatch.ClassNone {
			at.tx.SetTag("error_type", string(a.Class))
			at.tx.Status = sentry.SpanStatusInternalError
		} else {
			at.tx.Status = sentry.SpanStatusOK
		}
		at.tx.Finish()
	}
	attrs := []slog.Attr{
		slog.String("event_id", d.EventID), slog.String("delivery_id", d.ID), slog.String("destination", d.Destination),
		slog.Int("attempts", d.Attempts), slog.String("outcome", string(o)),
		slog.Int64("latency_ms", a.Latency.Milliseconds()),
	}
	if d.Event != nil {
		attrs = append(attrs, slog.String("source", d.Event.Source), slog.String("event_type", d.Event.Type))
		if d.Event.Test {
			attrs = append(attrs, slog.Bool(testTag, true))
		}
	}
	if a.Class == hookwatch.ClassNone {
		if at.sampled() {
			m.logger.LogAttrs(ctx, slog.LevelInfo, "webhook delivered", append(attrs, slog.Int("http_status", a.StatusCode))...)
		}
		return
	}
	attrs = append(attrs, slog.String("error_type", string(a.Class)), slog.Int("http_status", a.StatusCode), slog.String("reason", a.Error))
	m.logger.LogAttrs(ctx, slog.LevelWarn, "webhook delivery attempt failed", attrs...)
}

// DeadLettered sends one error event for a delivery its policy gave up on
// (hookwatch.DeliveryObserver). It is grouped by source, destination and
// error type: one broken endpoint is one Sentry issue.
func (m *Monitor) DeadLettered(ctx context.Context, d *hookwatch.Delivery, a *hookwatch.Attempt) {
	if !m.Enabled() {
		return
	}
	var hub *sentry.Hub
	if at := attemptFrom(ctx); at != nil {
		hub = at.hub
	} else {
		hub = m.newHub()
		if d.Event != nil {
			if trace, baggage := splitTrace(d.Event.Trace); trace != "" {
				if pc, err := sentry.PropagationContextFromHeaders(trace, baggage); err == nil {
					hub.Scope().SetPropagationContext(pc)
				}
			}
		}
	}
	ev := m.deadLetterEvent(d, a, m.history(d, a))
	hub.CaptureEvent(ev)
}

// history reads the delivery's attempts; the last one alone if it cannot.
func (m *Monitor) history(d *hookwatch.Delivery, a *hookwatch.Attempt) []*hookwatch.Attempt {
	if m.opts.History != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, as, err := m.opts.History.GetDelivery(ctx, d.ID); err == nil && len(as) > 0 {
			return as
		}
	}
	return []*hookwatch.Attempt{a}
}

// maxHistory caps the attempts described in the webhook context.
const maxHistory = 20

// maxPayload caps the body attached with send_payload.
const maxPayload = 8 << 10

func (m *Monitor) deadLetterEvent(d *hookwatch.Delivery, a *hookwatch.Attempt, history []*hookwatch.Attempt) *sentry.Event {
	var e hookwatch.Event
	if d.Event != nil {
		e = *d.Event
	}
	class := string(a.Class)
	if class == "" {
		class = string(hookwatch.ClassUnknown)
	}
	status := "none"
	if a.StatusCode > 0 {
		status = strconv.Itoa(a.StatusCode)
	}
	ev := sentry.NewEvent()
	ev.Level = sentry.LevelError
	ev.Message = fmt.Sprintf("webhook delivery to %s failed after %d attempts: %s", d.Destination, d.Attempts, a.Error)
	ev.Exception = []sentry.Exception{{
		Type:  "WebhookDeliveryFailed",
		Value: fmt.Sprintf("%s: %s → %s: %s", class, e.Source, d.Destination, a.Error),
	}}
	ev.Tags = map[string]string{
		"service":     "webhooks",
		"component":   "background_jobs",
		"source":      e.Source,
		"provider":    e.Provider,
		"event_type":  e.Type,
		"destination": d.Destination,
		"error_type":  class,
		"http_status": status,
		"attempts":    strconv.Itoa(d.Attempts),
	}
	if e.Test {
		ev.Tags[testTag] = "true"
	}
	ev.Fingerprint = []string{"webhook-dead-letter", e.Source, d.Destination, class}

	byClass := map[string]int{}
	summary := make([]map[string]any, 0, min(len(history), maxHistory))
	for i, h := range history {
		c := string(h.Class)
		if c == "" {
			c = "success"
		}
		byClass[c]++
		if i >= len(history)-maxHistory {
			summary = append(summary, map[string]any{
				"n": h.N, "at": h.At.UTC().Format(time.RFC3339), "class": c, "http_status": h.StatusCode,
				"latency_ms": h.Latency.Milliseconds(), "error": h.Error,
			})
		}
		// Earlier attempts are breadcrumbs of the dead letter, not events;
		// the last one (the store's newest) is the event itself.
		if i < len(history)-1 {
			ev.Breadcrumbs = append(ev.Breadcrumbs, &sentry.Breadcrumb{
				Type: "http", Category: "webhook.attempt", Level: sentry.LevelWarning, Timestamp: h.At,
				Message: fmt.Sprintf("attempt %d to %s: %s", h.N, d.Destination, attemptWords(h)),
				Data:    map[string]any{"status_code": h.StatusCode, "error_type": c, "method": "POST"},
			})
		}
	}
	if len(ev.Breadcrumbs) > maxHistory {
		ev.Breadcrumbs = ev.Breadcrumbs[len(ev.Breadcrumbs)-maxHistory:]
	}
	webhook := sentry.Context{
		"event_id":          e.ID,
		"provider_event_id": e.ProviderEventID,
		"delivery_id":       d.ID,
		"source":            e.Source,
		"provider":          e.Provider,
		"event_type":        e.Type,
		"destination":       d.Destination,
		"received_at":       e.ReceivedAt.UTC().Format(time.RFC3339Nano),
		"queued_at":         d.QueuedAt.UTC().Format(time.RFC3339Nano),
		"attempts":          d.Attempts,
		"attempt_history":   summary,
		"attempts_by_class": byClass,
		"body_size":         len(e.Body),
		"last_error":        a.Error,
		"test":              e.Test,
		"replay_hint":       "hookwatch replay --event " + e.ID,
	}
	if len(a.Response) > 0 {
		webhook["last_response"] = truncate(string(a.Response), 1024)
	}
	if m.opts.SendPayload && len(e.Body) > 0 {
		webhook["body"] = m.scrub.body(e.Body, maxPayload)
		// Never the signature headers: the receipt's headers without them.
		webhook["headers"] = flatHeaders(hookwatch.RedactHeaders(withoutSignatures(e.Headers), true))
	}
	ev.Contexts["webhook"] = webhook
	if id := userFrom(m.opts.UserPaths[e.Source], e.Body); id != "" {
		ev.User = sentry.User{ID: id}
	}
	return ev
}

func attemptWords(a *hookwatch.Attempt) string {
	if a.Class == hookwatch.ClassNone {
		return fmt.Sprintf("HTTP %d", a.StatusCode)
	}
	if a.Error != "" {
		return a.Error + " (" + string(a.Class) + ")"
	}
	return string(a.Class)
}

func withoutSignatures(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if !hookwatch.IsSignatureHeader(k) {
			out[k] = v
		}
	}
	return out
}

func flatHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…[truncated]"
}

// userFrom returns the value at a dotted JSON path of body
// ("data.object.customer"), when it is a string or a number, or an object
// with an "id".
func userFrom(path string, body []byte) string {
	if path == "" || len(body) == 0 {
		return ""
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return ""
	}
	for _, k := range strings.Split(path, ".") {
		switch t := v.(type) {
		case map[string]any:
			v = t[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(t) {
				return ""
			}
			v = t[i]
		default:
			return ""
		}
	}
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case map[string]any:
		if id, ok := t["id"].(string); ok {
			return id
		}
	}
	return ""
}

// CircuitChanged does nothing (hookwatch.DeliveryObserver): the engine logs
// circuit changes, which reach Sentry Logs, and the dead letters that follow
// an open circuit are the events.
func (m *Monitor) CircuitChanged(ctx context.Context, destination string, from, to hookwatch.CircuitState) {
}

// DestinationDisabled sends a warning event: a destination answered 410
// Gone and receives nothing until resumed (hookwatch.DeliveryObserver).
func (m *Monitor) DestinationDisabled(ctx context.Context, destination string, a *hookwatch.Attempt) {
	if !m.Enabled() {
		return
	}
	ev := sentry.NewEvent()
	ev.Level = sentry.LevelWarning
	ev.Message = fmt.Sprintf("destination %s answered 410 Gone: disabled until `hookwatch destinations resume %s`", destination, destination)
	ev.Tags = map[string]string{"component": "background_jobs", "destination": destination, "error_type": string(hookwatch.ClassGone), "http_status": "410"}
	ev.Fingerprint = []string{"webhook-destination-gone", destination}
	m.hubFor(ctx).CaptureEvent(ev)
}
