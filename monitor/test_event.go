package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"syscall"
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
	// Delivered reports whether Sentry accepted the envelope: it answered
	// 2xx to the request that carried it. Nothing else counts.
	Delivered bool `json:"delivered"`
	// Status is Sentry's HTTP status for the envelope (0: no answer).
	Status int `json:"status,omitempty"`
	// Reason is what failed, in a few words: connection_refused,
	// unreachable, timeout, bad_dsn_key, rate_limited, too_large,
	// sentry_error, rejected, not_sent.
	Reason string `json:"reason,omitempty"`
	// RetryAfter is Sentry's Retry-After on a 429, in seconds.
	RetryAfter int `json:"retry_after,omitempty"`
	// Message explains the outcome in a sentence.
	Message string `json:"message"`
}

// SendTest sends a clearly marked test error through the real pipeline
// (filter, scrubbing, transport): user test_user, context webhook_data
// {test: true}, type webhook_error, the default tags. In production the
// filter drops test events unless force is set. It waits up to timeout for
// Sentry's answer to the envelope, and reports it delivered only when
// Sentry answered 2xx; otherwise Reason and Message say what failed.
func (m *Monitor) SendTest(ctx context.Context, force bool, timeout time.Duration) (TestResult, error) {
	if !m.Enabled() {
		return TestResult{}, errNotConfigured
	}
	hub := m.hub.Clone()
	pc := sentry.NewPropagationContext()
	hub.Scope().SetPropagationContext(pc)
	ev := sentry.NewEvent()
	ev.EventID = sentry.EventID(newEventID())
	ev.Level = sentry.LevelError
	ev.Message = "Hookwatch test error: if you can read this in Sentry, Hookwatch's error reporting works"
	ev.Exception = []sentry.Exception{{Type: "webhook_error", Value: "test error sent by Hookwatch (hookwatch sentry test)"}}
	ev.User = sentry.User{ID: "test_user"}
	ev.Tags = map[string]string{testTag: "true", "component": "background_jobs", "error_type": "webhook_error"}
	if force {
		ev.Tags[forceTag] = "true"
	}
	ev.Contexts["webhook_data"] = sentry.Context{"test": true}
	ev.Fingerprint = []string{"hookwatch-sentry-test"}
	res := TestResult{TraceID: pc.TraceID.String(), Environment: m.opts.Environment}

	answer := m.sent.watch(string(ev.EventID))
	defer m.sent.unwatch(string(ev.EventID))
	id := hub.CaptureEvent(ev)
	if id == nil {
		res.Dropped = true
		res.Reason = "filtered"
		res.Message = "the environment is " + m.opts.Environment + ": the before-send filter drops test events there (as it drops providers' test webhooks); send it anyway with --force"
		return res, nil
	}
	res.EventID = string(*id)
	flushed := m.client.Flush(timeout)
	var out sendOutcome
	select {
	case out = <-answer:
	case <-time.After(100 * time.Millisecond):
		// Flush returned and no request carried the event: the SDK dropped
		// it (rate limited by an earlier answer) or is still trying.
		res.Reason = "not_sent"
		if flushed {
			res.Message = "the SDK did not send the event: it is holding back after an earlier rate limit (429) from Sentry, or dropped it; run with debug: true in the sentry config for the SDK's reasons"
		} else {
			res.Message = "no answer from Sentry within " + timeout.String() + ": check the DSN's host and that this host reaches it"
		}
		return res, nil
	}
	describe(&res, out, m.client.Options().Dsn)
	return res, nil
}

// describe fills res from Sentry's answer to the envelope.
func describe(res *TestResult, out sendOutcome, dsn string) {
	host := dsnHost(dsn)
	res.Status = out.status
	switch {
	case out.err != nil:
		var ne net.Error
		switch {
		case errors.Is(out.err, syscall.ECONNREFUSED):
			res.Reason = "connection_refused"
			res.Message = fmt.Sprintf("not delivered: connection refused by %s: check the DSN's host and port (nothing listens there)", host)
		case errors.As(out.err, &ne) && ne.Timeout():
			res.Reason = "timeout"
			res.Message = fmt.Sprintf("not delivered: %s did not answer in time: check that this host reaches Sentry (firewall, proxy)", host)
		default:
			res.Reason = "unreachable"
			res.Message = fmt.Sprintf("not delivered: cannot reach %s: %v", host, out.err)
		}
	case out.status >= 200 && out.status < 300:
		res.Delivered = true
		res.Message = fmt.Sprintf("delivered: Sentry accepted it (HTTP %d); search Sentry for the event ID, or the trace ID in the trace explorer", out.status)
	case out.status == http.StatusUnauthorized || out.status == http.StatusForbidden:
		res.Reason = "bad_dsn_key"
		res.Message = fmt.Sprintf("not delivered: Sentry answered %d: the DSN's key is wrong, revoked or disabled, or the project does not exist: copy the DSN again from Project Settings > Client Keys", out.status)
	case out.status == http.StatusTooManyRequests:
		res.Reason = "rate_limited"
		res.RetryAfter = out.retryAfter
		res.Message = "not delivered: Sentry answered 429: the project or organization is rate limited (quota or spike protection)"
		if out.retryAfter > 0 {
			res.Message += fmt.Sprintf("; retry after %d s", out.retryAfter)
		}
	case out.status == http.StatusRequestEntityTooLarge:
		res.Reason = "too_large"
		res.Message = "not delivered: Sentry answered 413: the envelope is larger than the server accepts"
	case out.status >= 500:
		res.Reason = "sentry_error"
		res.Message = fmt.Sprintf("not delivered: Sentry answered %d: a server-side error; try again later (self-hosted: check the relay's logs)", out.status)
	default:
		res.Reason = "rejected"
		res.Message = fmt.Sprintf("not delivered: Sentry answered %d", out.status)
	}
	if !res.Delivered && out.detail != "" {
		res.Message += " (Sentry said: " + out.detail + ")"
	}
}

func dsnHost(dsn string) string {
	d, err := sentry.NewDsn(dsn)
	if err != nil {
		return "Sentry"
	}
	return d.GetHost() + ":" + strconv.Itoa(d.GetPort())
}

func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
