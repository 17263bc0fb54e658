package deliver

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hookwatch/hookwatch"
)

// DestinationInfo is a destination as operators see it: its config, its
// stored state and how many deliveries it has by status.
type DestinationInfo struct {
	Name       string                           `json:"name"`
	URL        string                           `json:"url"`
	Configured bool                             `json:"configured"`
	State      hookwatch.DestinationState       `json:"-"`
	Counts     map[hookwatch.DeliveryStatus]int `json:"counts"`
}

// StateName is the one-word state: paused, disabled, open, half-open or
// active.
func (i DestinationInfo) StateName() string {
	switch {
	case i.State.Paused:
		return "paused"
	case !i.State.DisabledAt.IsZero():
		return "disabled"
	case i.State.Circuit == hookwatch.CircuitOpen || i.State.Circuit == hookwatch.CircuitHalfOpen:
		return "circuit-" + string(i.State.Circuit)
	case !i.Configured:
		return "not-configured"
	}
	return "active"
}

// ListDestinations describes the configured destinations, and any
// destination that still has deliveries in the store but is no longer
// configured (its deliveries wait; they are never dropped).
func ListDestinations(ctx context.Context, store hookwatch.DeliveryStore, dests []Destination) ([]DestinationInfo, error) {
	states, err := store.DestinationStates(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := store.CountDeliveries(ctx, hookwatch.DeliveryFilter{})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []DestinationInfo
	add := func(name, url string, configured bool) {
		st, ok := states[name]
		if !ok {
			st = hookwatch.DestinationState{Name: name, Circuit: hookwatch.CircuitClosed}
		}
		c := counts[name]
		if c == nil {
			c = map[hookwatch.DeliveryStatus]int{}
		}
		out = append(out, DestinationInfo{Name: name, URL: url, Configured: configured, State: st, Counts: c})
		seen[name] = true
	}
	for _, d := range dests {
		add(d.Name, d.URL, true)
	}
	var extra []string
	for name := range counts {
		if !seen[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		add(name, "", false)
	}
	return out, nil
}

// SetPaused pauses or resumes the configured destination name (resuming
// also re-enables a destination disabled by a 410). Unknown names are
// ENOTFOUND.
func SetPaused(ctx context.Context, store hookwatch.DeliveryStore, dests []Destination, name string, paused bool, now time.Time) error {
	found := false
	for _, d := range dests {
		found = found || d.Name == name
	}
	if !found {
		return hookwatch.Errorf(hookwatch.ENOTFOUND, "no destination named %q in the config", name)
	}
	if err := store.SetDestinationPaused(ctx, name, paused, now); err != nil {
		return fmt.Errorf("deliver: pause %s: %w", name, err)
	}
	return nil
}

// Destinations returns the engine's destinations as configured.
func (e *Engine) Destinations() []Destination {
	out := make([]Destination, 0, len(e.names))
	for _, n := range e.names {
		out = append(out, e.dests[n].cfg)
	}
	return out
}

// SetPaused pauses or resumes a destination and wakes the engine.
func (e *Engine) SetPaused(ctx context.Context, name string, paused bool) error {
	if err := SetPaused(ctx, e.opts.Store, e.Destinations(), name, paused, e.opts.Clock.Now()); err != nil {
		return err
	}
	e.setBlocked(e.dests[name], paused)
	e.Wake()
	return nil
}

// Replay re-queues deliveries (see hookwatch.DeliveryStore) and wakes the
// engine.
func (e *Engine) Replay(ctx context.Context, r hookwatch.ReplayRequest) (*hookwatch.Replay, error) {
	if r.Now.IsZero() {
		r.Now = e.opts.Clock.Now()
	}
	rep, err := e.opts.Store.ReplayDeliveries(ctx, r)
	if err != nil {
		return nil, err
	}
	if !r.DryRun {
		e.Wake()
	}
	return rep, nil
}

// Waiting says what holds the destination's deliveries back at now (or
// that nothing does).
func (i DestinationInfo) Waiting(now time.Time) Waiting {
	return DestinationWaiting(i.State, i.Configured, i.Counts[hookwatch.DeliveryPending], now)
}
