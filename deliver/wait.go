package deliver

import (
	"strconv"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Waiting is why a pending delivery, or a destination's backlog, is not
// being sent right now, and until when. Every pending delivery has one, so
// that a next attempt time in the past is never shown without its reason:
// the CLI, the admin API and the dashboard all say it the same way.
type Waiting struct {
	// Reason is one of the Wait* words.
	Reason string
	// Until is when the wait ends by itself: the next attempt as the engine
	// will make it (a retry time, the circuit's next probe, a Retry-After).
	// Zero when it takes an operator (paused, disabled, not configured),
	// and for a delivery that is due (Since says since when).
	Until time.Time
	// Since is when a due delivery fell due.
	Since time.Time
	// Head and HeadEvent name the delivery (and its event) an ordered
	// delivery waits behind (WaitBehind).
	Head, HeadEvent string

	destination string
	detail      string
	pending     int // destinations: deliveries pending
	attempts    int // deliveries: attempts made ("retry" rather than "scheduled")
}

// Reasons a delivery waits. A delivery is held by the latest of its own
// next attempt, its destination's Retry-After and its destination's
// circuit; pause, disablement and a missing config hold it until someone
// acts.
const (
	// WaitDue: due now, waiting for a worker (sent within a poll while a
	// server runs).
	WaitDue = "due"
	// WaitScheduled: its next attempt (a retry with backoff, a replay
	// spread by --rate) is later.
	WaitScheduled = "scheduled"
	// WaitInFlight: a worker holds it (its lease) and is sending it.
	WaitInFlight = "in_flight"
	// WaitPaused: its destination is paused.
	WaitPaused = "paused"
	// WaitDisabled: its destination answered 410 Gone and is disabled.
	WaitDisabled = "disabled"
	// WaitCircuitOpen: its destination's circuit is open until the next
	// probe.
	WaitCircuitOpen = "circuit_open"
	// WaitProbing: the circuit's probe is due or in flight; the rest waits
	// for its outcome.
	WaitProbing = "probing"
	// WaitRateLimited: the destination answered 429 or 503 with
	// Retry-After, and nothing is sent to it before then.
	WaitRateLimited = "rate_limited"
	// WaitBehind: an ordered delivery waits for the head of its ordering
	// key (the older delivery of the same key, Head) to be done.
	WaitBehind = "behind"
	// WaitNotConfigured: its destination is no longer in the config.
	WaitNotConfigured = "not_configured"
	// WaitSending (destinations only): deliveries are pending and nothing
	// holds the destination back.
	WaitSending = "sending"
	// WaitNothing (destinations only): nothing is pending.
	WaitNothing = "idle"
)

// DeliveryWaiting says why the pending delivery d is not being sent at now,
// given its destination's stored state st and whether the destination is
// configured. Deliveries that are not pending wait for nothing: the zero
// Waiting.
func DeliveryWaiting(d *hookwatch.Delivery, st hookwatch.DestinationState, configured bool, now time.Time) Waiting {
	if d.Status != hookwatch.DeliveryPending {
		return Waiting{}
	}
	w := Waiting{destination: d.Destination}
	if d.LeaseUntil.After(now) {
		w.Reason, w.Until = WaitInFlight, d.LeaseUntil
		return w
	}
	if held, ok := blocked(w, st, configured); ok {
		return held
	}
	// Holds that end by themselves: the latest decides when the engine
	// sends it.
	w.Reason, w.Since = WaitDue, d.NextAttemptAt
	if d.NextAttemptAt.After(now) {
		w.Reason, w.Until, w.Since = WaitScheduled, d.NextAttemptAt, time.Time{}
		if d.LastClass == hookwatch.ClassRateLimit {
			w.Reason, w.detail = WaitRateLimited, "its last attempt was answered 429"
		}
		w.attempts = d.Attempts
	}
	return destinationHolds(w, st, now)
}

// DestinationWaiting says what holds the destination back at now, from its
// stored state st, whether it is configured and how many deliveries it has
// pending.
func DestinationWaiting(st hookwatch.DestinationState, configured bool, pending int, now time.Time) Waiting {
	w := Waiting{destination: st.Name, pending: pending}
	if pending == 0 && configured && !st.Paused && st.DisabledAt.IsZero() && st.Circuit != hookwatch.CircuitOpen && st.Circuit != hookwatch.CircuitHalfOpen {
		w.Reason = WaitNothing
		return w
	}
	if held, ok := blocked(w, st, configured); ok {
		return held
	}
	w.Reason = WaitSending
	return destinationHolds(w, st, now)
}

// blocked returns the wait of a destination that sends nothing until
// someone acts.
func blocked(w Waiting, st hookwatch.DestinationState, configured bool) (Waiting, bool) {
	switch {
	case !configured:
		w.Reason = WaitNotConfigured
	case st.Paused:
		w.Reason = WaitPaused
	case !st.DisabledAt.IsZero():
		w.Reason, w.detail = WaitDisabled, st.DisabledReason
	default:
		return w, false
	}
	w.Since = time.Time{}
	return w, true
}

// destinationHolds applies the destination's Retry-After and circuit to w
// when they hold longer than w does.
func destinationHolds(w Waiting, st hookwatch.DestinationState, now time.Time) Waiting {
	if st.NotBefore.After(now) && st.NotBefore.After(w.Until) {
		w.Reason, w.Until, w.Since, w.detail = WaitRateLimited, st.NotBefore, time.Time{}, "the app answered with Retry-After"
	}
	switch st.Circuit {
	case hookwatch.CircuitOpen:
		if st.ProbeAt.After(now) {
			if st.ProbeAt.After(w.Until) {
				w.Reason, w.Until, w.Since, w.detail = WaitCircuitOpen, st.ProbeAt, time.Time{}, ""
			}
		} else if w.Reason == WaitDue || w.Reason == WaitSending {
			w.Reason, w.Since = WaitProbing, time.Time{}
		}
	case hookwatch.CircuitHalfOpen:
		if w.Reason == WaitDue || w.Reason == WaitSending {
			w.Reason, w.Since = WaitProbing, time.Time{}
		}
	}
	return w
}

// BehindHead returns the wait of an ordered delivery whose key's head is
// another delivery: it goes once head is done, whatever its own schedule.
func (w Waiting) BehindHead(head *hookwatch.Delivery) Waiting {
	return Waiting{Reason: WaitBehind, Head: head.ID, HeadEvent: head.EventID, destination: w.destination}
}

// Text says the wait in a few words, with times formatted by at: "due
// since ...", "circuit open until ...", "paused".
func (w Waiting) Text(at func(time.Time) string) string {
	switch w.Reason {
	case WaitDue:
		if w.Since.IsZero() {
			return "due"
		}
		return "due since " + at(w.Since)
	case WaitScheduled:
		if w.attempts > 0 {
			return "retry at " + at(w.Until)
		}
		return "scheduled at " + at(w.Until)
	case WaitInFlight:
		return "in flight (lease until " + at(w.Until) + ")"
	case WaitPaused:
		return "paused"
	case WaitDisabled:
		return "disabled"
	case WaitCircuitOpen:
		return "circuit open until " + at(w.Until)
	case WaitProbing:
		return "circuit open: probing"
	case WaitRateLimited:
		return "rate limited until " + at(w.Until)
	case WaitBehind:
		return "behind " + w.Head
	case WaitNotConfigured:
		return "not configured"
	case WaitSending:
		return "sending"
	case WaitNothing:
		return "idle"
	}
	return "-"
}

// Note says what the wait means or what ends it, for the longer views
// (deliveries show, the dashboard); empty when Text says it all.
func (w Waiting) Note() string {
	name := w.destination
	switch w.Reason {
	case WaitBehind:
		return "ordered by key: sent once the older delivery of its key, " + w.Head + " (event " + w.HeadEvent + "), is done"
	case WaitDue:
		return "waiting for a free worker"
	case WaitPaused:
		return "waits for `hookwatch destinations resume " + name + "`"
	case WaitDisabled:
		n := "waits for `hookwatch destinations resume " + name + "`"
		if w.detail != "" {
			n = w.detail + "; " + n
		}
		return n
	case WaitCircuitOpen:
		return "the next probe; `hookwatch destinations probe " + name + "` tries now"
	case WaitProbing:
		return "one probe is due or in flight; the rest waits for its outcome"
	case WaitRateLimited:
		return w.detail
	case WaitNotConfigured:
		return "waits until destination " + name + " is in the config again"
	case WaitSending:
		return strconv.Itoa(w.pending) + " pending: nothing holds them back"
	}
	return ""
}
