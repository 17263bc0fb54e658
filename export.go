package hookwatch

import (
	"context"
	"time"
)

// Exporter reads events and quarantined requests as they are stored, for
// `hookwatch store copy`: a sealed payload is not opened (a copy needs no
// encryption key) and is written into the destination as it is, which
// works because its additional data is the row's table and ID (package
// encrypt), both kept by a copy. Both stores implement it.
type Exporter interface {
	// ExportEvents returns up to limit events with IDs before before (all
	// when ""), newest first, as stored, with their dedupe keys.
	ExportEvents(ctx context.Context, before string, limit int) ([]*StoredEvent, error)
	// ExportQuarantined returns up to limit quarantined requests with IDs
	// before before (all when ""), newest first, as stored.
	ExportQuarantined(ctx context.Context, before string, limit int) ([]*StoredQuarantined, error)
	// ExportAttempts returns a delivery's attempts as stored, the request
	// as sent not opened.
	ExportAttempts(ctx context.Context, deliveryID string) ([]*StoredAttempt, error)
}

// StoredFilter is a route whose filter left an event out (Filtered), as
// stored: Err in plaintext with KeyID "", otherwise sealed in Sealed
// (encrypt.SealFilterError, bound to the event and the route).
type StoredFilter struct {
	Route        int
	Destinations []string
	Err          string
	Sealed       []byte
	KeyID        string
}

// StoredAttempt is an attempt as stored. Attempt's Sent is unset: the
// request as sent is in the Sent columns, sealed under SentKey when that
// is set (encrypt.SealSent); SentBody nil means none was recorded.
type StoredAttempt struct {
	Attempt     *Attempt
	SentURL     string
	SentHeaders string
	SentBody    []byte
	SentKey     string
	SentSize    int
}

// StoredPayload is a row's headers and body as stored: with KeyID "",
// headers as JSON and the body in plaintext; otherwise Body is the sealed
// payload (headers and body together) under the key KeyID and Headers is
// empty.
type StoredPayload struct {
	Headers string
	Body    []byte
	KeyID   string
}

// StoredEvent is an event as stored. Event's Headers and Body are unset:
// they are in Payload.
type StoredEvent struct {
	Event   *Event
	Payload StoredPayload
	// DedupeID is the dedupe key the store remembers for the event
	// (Event.DedupeID at ingest; "" when none) until DedupeUntil.
	DedupeID    string
	DedupeUntil time.Time
	// Filters are the event's rows of event_filters, by route.
	Filters []StoredFilter
}

// StoredQuarantined is a quarantined request as stored. Quarantined's
// Headers and Body are unset: they are in Payload; Size is the size the
// store counts against the quarantine's budget.
type StoredQuarantined struct {
	Quarantined *Quarantined
	Payload     StoredPayload
	Size        int64
}
