package deliver

import (
	"context"
	"time"

	"github.com/hookwatch/hookwatch"
)

// The circuit and the Retry-After wait live in each engine's memory and are
// written to the store on every change. Other processes change them too:
// `hookwatch destinations probe` runs in the CLI's own process and closes
// the circuit in the store when its probe succeeds; another instance on the
// same PostgreSQL database opens or closes its own. An engine whose
// destination is held back re-reads the stored state (syncState) and takes
// it (adopt) when someone else wrote it, so the backlog flows within a
// fraction of a second of a successful probe instead of waiting for this
// engine's own next probe.

// syncEvery bounds how often a held destination re-reads its stored state:
// ingest wakes the engine after every commit, and a wake-up must not cost
// a query while a circuit is open.
const syncEvery = 250 * time.Millisecond

// storedState is the stored state as this engine last wrote or read it,
// at the stores' precision (microseconds). A stored state that differs was
// written by someone else: the comparison is by equality, so clocks that
// disagree between machines do not matter, and a write at the same instant
// (a test's clock) is told apart by what it says.
type storedState struct {
	ok                           bool
	circuit                      hookwatch.CircuitState
	failures                     int
	probeAt, notBefore, updateAt int64
}

func storedOf(st hookwatch.DestinationState) storedState {
	c := st.Circuit
	if c == "" {
		c = hookwatch.CircuitClosed
	}
	return storedState{ok: true, circuit: c, failures: st.Failures, probeAt: micros(st.ProbeAt),
		notBefore: micros(st.NotBefore), updateAt: micros(st.UpdatedAt)}
}

// micros is t in microseconds, zero for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// syncState reads d's stored state and adopts it if someone else wrote
// it: at d's first claim, then while something holds d back (circuit not
// closed, a Retry-After wait, paused or disabled), at most every syncEvery.
// So a resume from another process (the CLI, another instance) is seen
// within syncEvery.
func (e *Engine) syncState(d *dest, now time.Time) {
	d.mu.Lock()
	held := d.circuit != hookwatch.CircuitClosed || now.Before(d.notBefore) || d.blocked
	due := d.syncedAt.IsZero() || (held && time.Since(d.syncedAt) >= syncEvery)
	if due {
		d.syncedAt = time.Now()
	}
	d.mu.Unlock()
	if !due {
		return
	}
	ctx, cancel := context.WithTimeout(e.hardCtx, 5*time.Second)
	states, err := e.opts.Store.DestinationStates(ctx)
	cancel()
	if err != nil {
		e.opts.Logger.Debug("deliver: reading the stored destination state failed; trying again later", "destination", d.cfg.Name, "error", err)
		return
	}
	st, ok := states[d.cfg.Name]
	d.mu.Lock()
	d.blocked = ok && st.Blocked()
	d.mu.Unlock()
	if ok {
		e.adopt(d, st, now)
	}
}

// setBlocked records that this engine paused, resumed or disabled d, and
// makes its next claim re-read the stored state: a resume takes effect at
// once, not at the next sync.
func (e *Engine) setBlocked(d *dest, blocked bool) {
	d.mu.Lock()
	d.blocked = blocked
	d.syncedAt = time.Time{}
	d.mu.Unlock()
}

// adopt takes the stored state st as d's if someone else wrote it after
// this engine last wrote or read it. A probe of this engine's in flight
// (half-open) is left to decide, unless the stored circuit is closed.
func (e *Engine) adopt(d *dest, st hookwatch.DestinationState, now time.Time) {
	seen := storedOf(st)
	d.mu.Lock()
	if d.stored == seen {
		d.mu.Unlock()
		return
	}
	// The first read loads the state (as Start does): not a change to
	// announce.
	first := !d.stored.ok
	d.stored = seen
	d.notBefore = st.NotBefore
	from, to := d.circuit, st.Circuit
	switch to {
	case "":
		to = hookwatch.CircuitClosed
	case hookwatch.CircuitHalfOpen:
		// Someone else's probe; here the circuit is open until its
		// outcome is stored.
		to = hookwatch.CircuitOpen
	}
	if from == hookwatch.CircuitHalfOpen && to == hookwatch.CircuitOpen {
		to = from
	}
	switch {
	case from == to:
		if to == hookwatch.CircuitOpen {
			d.failures, d.probeAt = st.Failures, st.ProbeAt
		}
		d.mu.Unlock()
		return
	case to == hookwatch.CircuitClosed:
		d.failures, d.probeAt, d.cooldown = 0, time.Time{}, d.cfg.CircuitCooldown
	default:
		d.failures, d.probeAt = st.Failures, st.ProbeAt
	}
	d.circuit = to
	snap := d.stateLocked(now)
	d.mu.Unlock()
	if first {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.opts.Logger.Info("deliver: circuit state changed by another process (a probe from the CLI, another instance): taken from the store",
		"destination", d.cfg.Name, "from", string(from), "to", string(to))
	e.announce(ctx, d, from, to, snap)
}

// storeState stores st as d's state and remembers it as this engine's own
// write, so that syncState does not take it for someone else's.
func (e *Engine) storeState(ctx context.Context, d *dest, st hookwatch.DestinationState) {
	if err := e.opts.Store.SetCircuit(ctx, st); err != nil {
		e.opts.Logger.Warn("deliver: storing circuit state failed", "destination", d.cfg.Name, "error", err)
		return
	}
	d.mu.Lock()
	d.stored = storedOf(st)
	d.mu.Unlock()
}

// slowDown holds d until nb (an answer's Retry-After) and stores the wait,
// so that the CLI, the dashboard and the other instances say why its
// deliveries wait. Answers asking for about the same time (every attempt in
// flight gets the same 429) are stored once.
func (e *Engine) slowDown(d *dest, nb, now time.Time) {
	d.mu.Lock()
	if !nb.After(d.notBefore) {
		d.mu.Unlock()
		return
	}
	d.notBefore = nb
	write := micros(nb)-d.stored.notBefore >= time.Second.Microseconds()
	st := d.stateLocked(now)
	d.mu.Unlock()
	if write {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.storeState(ctx, d, st)
	}
}

// clearSlowDown ends d's Retry-After wait: a probe showed the app takes
// requests again.
func (e *Engine) clearSlowDown(d *dest, now time.Time) {
	d.mu.Lock()
	if d.notBefore.IsZero() && d.stored.notBefore == 0 {
		d.mu.Unlock()
		return
	}
	d.notBefore = time.Time{}
	st := d.stateLocked(now)
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.storeState(ctx, d, st)
}
