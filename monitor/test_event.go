package monitor

import (
	"context"
	"time"

	"github.com/getsentry/sentry-go"
)

// TestResult is what SendTest did.
type TestResult struct {
	// EventID and TraceID find the event in Sentry. EventID is empty when
	// the event was dropped.
	EventID string `json:"event_id,omitempty"`
	TraceID string `json:"trace_id"`
	// Environment is the environment it was sent with.
	Environment string `json:"environment"`
	// Dropped is set when the before-send filter dropped the event: a test
	// event in production without force.
	Dropped bool `json:"dropped,omitempty"`
	// Delivered reports whether the SDK sent everything before the timeout.
	Delivered bool `json:"delivered"`
	// Message explains the outcome in a sentence.
	Message string `json:"message"`
}

// SendTest sends a clearly marked test error through the real pipeline
// (filter, scrubbing, transport): user test_user, context webhook_data
// {test: true}, type webhook_error, the default tags. In production the
// filter drops test events unless force is set. It waits up to timeout for
// the event to be sent.
func (m *Monitor) SendTest(ctx context.Context, force bool, timeout time.Duration) (TestResult, error) {
	if !m.Enabled() {
		return TestResult{}, errNotConfigured
	}
	hub := m.newHub()
	pc := sentry.NewPropagationContext()
	hub.Scope().SetPropagationContext(pc)
	ev := sentry.NewEvent()
	ev.Level = sentry.LevelError
	ev.Message = "Hookwatch test error: if you can read this in Sentry, Hookwatch's error reporting works"
	ev.Exception = []sentry.Exception{{Type: "webhook_error", Value: "test error sent by Hookwatch (hookwatch sentry test)"}}
	ev.User = sentry.User{ID: "test_user"}
	ev.Tags = map[string]string{testTag: "true", "component": "test", "error_type": "webhook_error"}
	if force {
		ev.Tags[forceTag] = "true"
	}
	ev.Contexts["webhook_data"] = sentry.Context{"test": true}
	ev.Fingerprint = []string{"hookwatch-sentry-test"}
	res := TestResult{TraceID: pc.TraceID.String(), Environment: m.opts.Environment}
	id := hub.CaptureEvent(ev)
	if id == nil {
		res.Dropped = true
		res.Delivered = true
		res.Message = "the environment is " + m.opts.Environment + ": the before-send filter drops test events there (as it drops providers' test webhooks); send it anyway with --force"
		return res, nil
	}
	res.EventID = string(*id)
	res.Delivered = m.client.Flush(timeout)
	if res.Delivered {
		res.Message = "sent: search Sentry for the event ID, or the trace ID in the trace explorer"
	} else {
		res.Message = "captured, but not sent within " + timeout.String() + ": check the DSN and that this host reaches Sentry"
	}
	return res, nil
}
