package hookwatch

import (
	"context"
	"time"
)

// OnDead is what an ordered destination does with a key whose head
// delivery is dead-lettered.
type OnDead string

// OnDead values. Skip (the default) lets the key's next delivery go: the
// dead one waits in the dead letters for a replay, which puts it back at
// the head of its key. Block holds the key until the dead delivery is
// replayed (or removed by retention).
const (
	OnDeadSkip  OnDead = "skip"
	OnDeadBlock OnDead = "block"
)

// OrderKeyFunc computes an event's ordering key for one destination. An
// error (or an empty key) sends the event's delivery unordered.
type OrderKeyFunc func(e *Event) (string, error)

// DeliveryOrder is one delivery's place in its destination's order: set by
// the receive path (Orderer) beside Event.Destinations, and stored on the
// delivery row (Delivery.OrderKey, Delivery.OrderError).
type DeliveryOrder struct {
	// Key is the ordering key; empty means unordered.
	Key string
	// Error says why the key could not be computed (the delivery then goes
	// unordered); empty otherwise.
	Error string
}

// MaxOrderKey bounds a stored ordering key (bytes): a longer key is cut,
// so keys that differ only past it share an order, which is safe (more
// serial, never less).
const MaxOrderKey = 200

// Orderer returns the function that sets Event.Orders for an event whose
// Destinations are set: for each destination with a key function (ordered
// destinations), its key, or why there is none. onError, when not nil,
// hears each destination whose key could not be computed (a metric). It is
// called where deliveries are made from events: the receive path and the
// quarantine's release.
func Orderer(keys map[string]OrderKeyFunc, onError func(destination string)) func(e *Event) {
	if len(keys) == 0 {
		return func(*Event) {}
	}
	return func(e *Event) {
		e.Orders = nil
		for i, d := range e.Destinations {
			f := keys[d]
			if f == nil {
				continue
			}
			if e.Orders == nil {
				e.Orders = make([]DeliveryOrder, len(e.Destinations))
			}
			k, err := f(e)
			switch {
			case err != nil:
				e.Orders[i].Error = "ordering key not computed: " + err.Error()
			case k == "":
				e.Orders[i].Error = "ordering key is empty"
			default:
				if len(k) > MaxOrderKey {
					k = k[:MaxOrderKey]
				}
				e.Orders[i].Key = k
				continue
			}
			if len(e.Orders[i].Error) > 300 {
				e.Orders[i].Error = e.Orders[i].Error[:300]
			}
			if onError != nil {
				onError(d)
			}
		}
	}
}

// OrderOf returns the order of the event's i-th destination (zero: unordered).
func (e *Event) OrderOf(i int) DeliveryOrder {
	if i < len(e.Orders) {
		return e.Orders[i]
	}
	return DeliveryOrder{}
}

// WaitingHeads counts, for one destination, the ordering keys whose
// oldest pending delivery (the head) has failed at least once (Failed: the
// key waits for its retry) or has an older dead delivery of its key
// (BehindDead: under on_dead: block the key waits for that one's replay),
// in one of the four combinations.
type WaitingHeads struct {
	Destination string
	Failed      bool
	BehindDead  bool
	Keys        int
	// Oldest is when the longest-waiting of these heads was queued
	// (created or replayed): how long its key has waited counts from it.
	Oldest time.Time
}

// Blocked is the blocked ordering keys of one destination.
type Blocked struct {
	Keys int
	// Oldest is when the longest-blocked key's head was queued.
	Oldest time.Time
}

// TallyBlocked counts blocked keys by destination: heads that failed, and
// under on_dead: block (modes[destination]) heads behind a dead delivery.
func TallyBlocked(ws []WaitingHeads, modes map[string]OnDead) map[string]Blocked {
	out := map[string]Blocked{}
	for _, w := range ws {
		if !w.Failed && !(w.BehindDead && modes[w.Destination] == OnDeadBlock) {
			continue
		}
		b := out[w.Destination]
		if b.Keys == 0 || w.Oldest.Before(b.Oldest) {
			b.Oldest = w.Oldest
		}
		b.Keys += w.Keys
		out[w.Destination] = b
	}
	return out
}

// OrderingStore is the ordering side of the delivery queue.
type OrderingStore interface {
	// OrderHead returns the head of an ordering key of a destination: its
	// oldest delivery in receive order that is pending or, with
	// blockOnDead, dead (the one every other delivery of the key waits
	// behind), or an error with code ENOTFOUND when the key has none.
	OrderHead(ctx context.Context, destination, key string, blockOnDead bool) (*Delivery, error)

	// WaitingHeads counts the ordering keys whose head failed or is behind
	// a dead delivery, by destination and kind (see WaitingHeads), at most
	// four rows per destination. It reads every pending ordered delivery:
	// for a scrape or an alert evaluation, not per request. Errors:
	// EUNAVAILABLE, EINTERNAL.
	WaitingHeads(ctx context.Context) ([]WaitingHeads, error)
}
