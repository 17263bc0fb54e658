package deliver

import (
	"context"
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
)

// ProbeResult is what an operator's probe did: the one delivery it sent
// (if any was due), the answer, and the destination's circuit afterwards.
type ProbeResult struct {
	Destination string `json:"destination"`
	// Sent is false when no delivery of the destination was due: nothing
	// was tried. Pending then counts those waiting for a later time (or in
	// flight).
	Sent       bool   `json:"sent"`
	Pending    int    `json:"pending,omitempty"`
	DeliveryID string `json:"delivery_id,omitempty"`
	EventID    string `json:"event_id,omitempty"`
	// Status, Class, Error and Latency are the attempt's (Class empty: it
	// succeeded).
	Status    int                  `json:"status,omitempty"`
	Class     hookwatch.ErrorClass `json:"class,omitempty"`
	Error     string               `json:"error,omitempty"`
	LatencyMS float64              `json:"latency_ms,omitempty"`
	// Outcome is what the attempt did to its delivery; NextAttemptAt is
	// when a retried one is due again.
	Outcome       hookwatch.Outcome `json:"outcome,omitempty"`
	NextAttemptAt time.Time         `json:"next_attempt_at,omitzero"`
	// Circuit is the destination's circuit after the probe, ProbeAt its
	// next probe when open.
	Circuit hookwatch.CircuitState `json:"circuit"`
	ProbeAt time.Time              `json:"probe_at,omitzero"`
}

// AppUp reports whether the probe's answer shows the app taking requests
// (a 2xx, or a 4xx about the payload): the circuit is then closed.
func (r *ProbeResult) AppUp() bool {
	return r.Sent && appUp(r.Class)
}

// appUp reports whether an attempt of class shows the app up: what closes
// the circuit (see updateCircuit).
func appUp(c hookwatch.ErrorClass) bool {
	return !transient(c) && c != hookwatch.ClassRateLimit && c != hookwatch.ClassGone
}

// Probe tries the destination now, whatever its circuit and Retry-After
// wait say: it sends its oldest due delivery through the normal path (the
// attempt is recorded and counted, the observer hears of it). If the
// answer shows the app up, the circuit is closed (in the store too) and the
// Retry-After wait cleared, and every instance's workers are woken so the
// backlog flows at once; otherwise the circuit stays as it was. A paused or
// disabled destination is not probed (ECONFLICT: Resume it); an unknown
// one is ENOTFOUND.
//
// Probe works on an engine that was never started: the CLI builds one to
// probe from its own process, and the running server takes the closed
// circuit from the store within a fraction of a second (see syncState).
func (e *Engine) Probe(ctx context.Context, name string) (*ProbeResult, error) {
	d, ok := e.dests[name]
	if !ok {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "no destination named %q in the config", name)
	}
	select {
	case <-e.quit:
		return nil, hookwatch.Errorf(hookwatch.EUNAVAILABLE, "shutting down: probe %s once the server is back", name)
	default:
	}
	states, err := e.opts.Store.DestinationStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("deliver: probe %s: %w", name, err)
	}
	st, stored := states[name]
	switch {
	case st.Paused:
		return nil, hookwatch.Errorf(hookwatch.ECONFLICT, "destination %s is paused: `hookwatch destinations resume %s` resumes and probes it", name, name)
	case !st.DisabledAt.IsZero():
		return nil, hookwatch.Errorf(hookwatch.ECONFLICT, "destination %s is disabled (%s): `hookwatch destinations resume %s` re-enables and probes it",
			name, st.DisabledReason, name)
	}
	now := e.opts.Clock.Now()
	if stored {
		e.adopt(d, st, now)
	}
	res := &ProbeResult{Destination: name}
	ds, err := e.opts.Store.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: name, Owner: e.opts.Owner, Now: now,
		Lease: d.cfg.Timeout + 15*time.Second, Limit: 1, DeadLettered: e.unreadable})
	if err != nil {
		return nil, fmt.Errorf("deliver: probe %s: %w", name, err)
	}
	if len(ds) == 0 {
		counts, err := e.opts.Store.CountDeliveries(ctx, hookwatch.DeliveryFilter{Destination: name, Status: hookwatch.DeliveryPending})
		if err != nil {
			return nil, fmt.Errorf("deliver: probe %s: %w", name, err)
		}
		res.Pending = counts[name][hookwatch.DeliveryPending]
		e.circuitOf(d, res)
		return res, nil
	}
	dl := ds[0]
	res.Sent, res.DeliveryID, res.EventID = true, dl.ID, dl.EventID
	a, f, err := e.try(d, dl, e.finishNow)
	res.Status, res.Class, res.Error = a.StatusCode, a.Class, a.Error
	res.LatencyMS = float64(a.Latency.Microseconds()) / 1000
	res.Outcome, res.NextAttemptAt = f.Outcome, f.NextAttemptAt
	if appUp(a.Class) {
		e.clearSlowDown(d, e.opts.Clock.Now())
		e.Wake()
	}
	e.circuitOf(d, res)
	if err != nil {
		return res, fmt.Errorf("deliver: probe %s: the attempt was made but recording it failed (the delivery is due again when its lease expires): %w", name, err)
	}
	if f.Outcome == "" {
		return res, hookwatch.Errorf(hookwatch.EUNAVAILABLE, "probe %s: cut short by shutdown; nothing was recorded", name)
	}
	e.opts.Logger.Info("deliver: probe sent", "destination", name, "delivery", dl.ID, "status", a.StatusCode,
		"class", string(a.Class), "error", a.Error, "circuit", string(res.Circuit))
	return res, nil
}

// Resume resumes a paused destination (or one disabled by a 410) and
// probes it at once; see Probe.
func (e *Engine) Resume(ctx context.Context, name string) (*ProbeResult, error) {
	// In the store only: a Wake now would let the dispatcher take the due
	// deliveries before the probe does, and leave it nothing to report.
	// Probe wakes the engine when the app answers.
	if err := SetPaused(ctx, e.opts.Store, e.Destinations(), name, false, e.opts.Clock.Now()); err != nil {
		return nil, err
	}
	e.setBlocked(e.dests[name], false)
	res, err := e.Probe(ctx, name)
	if res == nil || !res.AppUp() {
		e.Wake() // resumed all the same: what is due goes out as the circuit allows
	}
	return res, err
}

// finishNow records f in its own transaction: a probe does not wait for
// the finisher (which an engine that was never started does not run).
func (e *Engine) finishNow(f hookwatch.Finish) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results, err := e.opts.Store.FinishDeliveries(ctx, []hookwatch.Finish{f})
	if err != nil {
		return err
	}
	return results[0]
}

// circuitOf fills in d's circuit as it is now.
func (e *Engine) circuitOf(d *dest, res *ProbeResult) {
	d.mu.Lock()
	defer d.mu.Unlock()
	res.Circuit = d.circuit
	if d.circuit != hookwatch.CircuitClosed {
		res.ProbeAt = d.probeAt
	}
}
