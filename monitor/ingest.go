package monitor

import (
	"context"
	"fmt"
	"time"

	"github.com/getsentry/sentry-go"
)

// rejectState limits one source's signature-failure events.
type rejectState struct {
	last       time.Time
	suppressed int
}

// Rejected sends a warning for a request that failed verification: one
// Sentry issue per source (its own fingerprint), at most one event per
// source per Options.RejectInterval, so an attack cannot flood Sentry; the
// failures in between are counted in the next event. It is cheap when
// limited: a lock and a counter.
func (m *Monitor) Rejected(ctx context.Context, source, provider, reason string, err error) {
	if !m.Enabled() {
		return
	}
	now := time.Now()
	m.rejectMu.Lock()
	st := m.rejects[source]
	if st == nil {
		st = &rejectState{}
		m.rejects[source] = st
	}
	if !st.last.IsZero() && now.Sub(st.last) < m.opts.RejectInterval {
		st.suppressed++
		m.rejectMu.Unlock()
		return
	}
	suppressed := st.suppressed
	st.last, st.suppressed = now, 0
	m.rejectMu.Unlock()

	detail := ""
	if err != nil {
		detail = err.Error()
	}
	ev := sentry.NewEvent()
	ev.Level = sentry.LevelWarning
	ev.Message = fmt.Sprintf("webhook signature verification failed on source %s: %s", source, reason)
	ev.Tags = map[string]string{"component": "ingest", "source": source, "provider": provider, "reason": reason,
		"error_type": "signature_failure"}
	ev.Fingerprint = []string{"webhook-signature-failure", source}
	ev.Contexts["webhook"] = sentry.Context{
		"source": source, "provider": provider, "reason": reason, "detail": detail,
		"suppressed_since_last": suppressed, "interval_seconds": int(m.opts.RejectInterval / time.Second),
		"hint": "a rotated or mistyped secret, or someone probing the endpoint; rejected requests answer 401",
	}
	m.hubFor(ctx).CaptureEvent(ev)
}
