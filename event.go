package hookwatch

import (
	"context"
	"net/http"
	"time"
)

// Event is one webhook accepted on a source: verified, stored, and from then
// on never lost.
type Event struct {
	// ID is Hookwatch's own ID ("evt_" + ULID). It is sent to destinations as
	// webhook-id, stable across retries and replays.
	ID string
	// Source is the configured source name (the {source} of /in/{source}).
	Source string
	// Provider is the scheme that verified it (stripe, github...).
	Provider string
	// ProviderEventID is the provider's own event ID, used for dedupe
	// unless DedupeKey is set. Empty when the provider sends none.
	ProviderEventID string
	// Type is the provider's event type, empty when unknown.
	Type string
	// Headers are the request headers as received, except credential
	// headers (Authorization, Cookie, X-Gitlab-Token...), which are
	// redacted before the event is stored (SealHeaders): no credential is
	// kept at rest.
	Headers http.Header
	// Body is the exact body received.
	Body []byte
	// ReceivedAt is when Hookwatch received the request.
	ReceivedAt time.Time
	// Malformed is set when the signature verified but the body did not parse
	// as the provider's format.
	Malformed bool
	// Test marks events a provider flags as test (Stripe livemode=false...) or
	// sent by `hookwatch send`.
	Test bool
	// Subject names the event's data subject (a customer ID, an address):
	// the value at the source's subject path (SubjectPath.Extract), set by
	// ingest, stored in an indexed column so that an erasure (EraseEvents)
	// finds the subject's events without reading bodies. Empty when the
	// source has no subject path or the body has no value there. It is
	// personal data: never logged. A store that encrypts payloads keeps
	// StoredSubject (its SubjectSeal) instead, and reads that back.
	Subject string
	// Trace is the trace propagation header of the ingest request (for the
	// error tracker), continued by the event's deliveries. May be empty.
	Trace string

	// Destinations is set by ingest only: the destinations the event is routed
	// to. InsertEvents creates one pending delivery per name, in the same
	// transaction as the event. It is not read back by GetEvent.
	Destinations []string
	// Filtered is set by ingest only: the routes whose filters left the
	// event out of destinations (Router). InsertEvents stores them with
	// the event, in the same transaction; EventFilters reads them back.
	Filtered []Filtered
	// Orders is set by the receive path only (Orderer), beside
	// Destinations: the i-th is the ordering of the delivery to the i-th
	// destination. Nil or short means unordered.
	Orders []DeliveryOrder
	// DedupeUntil is set by ingest only: until when the dedupe key is
	// remembered. Zero means the default horizon.
	DedupeUntil time.Time
	// DedupeKey is set by ingest only: the key remembered for dedupe in
	// place of ProviderEventID, for a source that dedupes on the body
	// ("sha256:" + hex of the body's SHA-256). It is not stored with the
	// event nor read back by GetEvent; ProviderEventID stays the provider's.
	DedupeKey string
}

// DedupeID is the key the event is remembered by for dedupe: DedupeKey
// when set, else ProviderEventID. Empty means the event is never a
// duplicate.
func (e *Event) DedupeID() string {
	if e.DedupeKey != "" {
		return e.DedupeKey
	}
	return e.ProviderEventID
}

// DefaultDedupeHorizon is how long a dedupe key is remembered: longer
// than Stripe's three days of retries.
const DefaultDedupeHorizon = 7 * 24 * time.Hour

// InsertResult is the outcome of inserting one event.
type InsertResult struct {
	// Duplicate is set when the source already had an event with the same
	// dedupe key (Event.DedupeID) within its dedupe horizon; nothing new
	// was stored.
	Duplicate bool
	// ID is the stored event's ID: the new one, or the first one's for a
	// duplicate.
	ID string
}

// EventFilter selects events for listing. Zero fields do not filter.
type EventFilter struct {
	Source          string
	Type            string
	ProviderEventID string
	Since, Until    time.Time
	// Before is a cursor: only events with an ID lower than it (older).
	Before string
	// After is the other cursor: only events with an ID greater than it
	// (received later). With After set, events are listed oldest first,
	// so that a reader (the event stream) pages forward in receive order.
	After string
	// Limit caps the number returned; zero means 100.
	Limit int
}

// EventStore stores and reads events.
type EventStore interface {
	// InsertEvents stores a batch of events, and one pending delivery for each
	// of an event's Destinations, in one transaction: when it returns nil,
	// every result is durable (committed and synced). Results are in the
	// order of events. An event whose (Source, DedupeID()) is remembered and
	// not expired is not stored: its result is Duplicate with the first
	// event's ID. Two events of one batch with the same key: the first wins.
	// On failure nothing of the batch is acknowledged and the error has
	// code EUNAVAILABLE when retrying later may succeed (disk full, busy, a
	// store reopening after a failed fsync), else EINTERNAL. Usually nothing
	// of the batch is stored then; after a failed fsync its frames may
	// survive the reopen, so a retry of the same event is answered as a
	// duplicate of it: each event is still stored once.
	InsertEvents(ctx context.Context, events []*Event) ([]InsertResult, error)

	// GetEvent returns the event with the given ID, or an error with code
	// ENOTFOUND.
	GetEvent(ctx context.Context, id string) (*Event, error)

	// EventFilters returns the routes whose filters left the event out of
	// destinations when it was routed, in route order; none for an event
	// no filter left out, or one not found.
	EventFilters(ctx context.Context, id string) ([]Filtered, error)

	// ListEvents returns events matching f, newest first (oldest first
	// when f.After is set).
	ListEvents(ctx context.Context, f EventFilter) ([]*Event, error)

	// PruneDedupe forgets at most limit dedupe keys that expired at or
	// before before, and returns how many it forgot. Events themselves are
	// kept. An expired key is already ignored by InsertEvents, so pruning
	// only bounds the keys kept apart from their events: every key on
	// PostgreSQL (a table of their own), and on SQLite, which keeps each
	// key in its event's row, the keys of events removed (retention, purge,
	// erasure) before their horizon. Errors: EUNAVAILABLE when the store
	// cannot write now.
	PruneDedupe(ctx context.Context, before time.Time, limit int) (int, error)
}
