package hookwatch

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// PurgeKind says what a purge record records.
type PurgeKind string

// Purge kinds.
const (
	// PurgeByFilter is `hookwatch events purge`: events by source, type and
	// age.
	PurgeByFilter PurgeKind = "purge"
	// PurgeErasure is `hookwatch erase`: every event of one data subject,
	// or one event by its provider ID.
	PurgeErasure PurgeKind = "erase"
)

// PurgeRequest asks to delete events by filter.
type PurgeRequest struct {
	// Source and Type, when set, narrow the purge.
	Source string
	Type   string
	// Before is required: only events received before it are deleted.
	Before time.Time
	// Actor is who asked ("cli:alice", "admin-api 127.0.0.1").
	Actor string
	Now   time.Time
	// DryRun counts without changing or recording anything.
	DryRun bool
}

// ErasureRequest asks to delete every trace of one data subject's events:
// those whose Event.Subject is Subject, or the events whose provider event
// ID is ProviderEventID. Exactly one of the two is set.
type ErasureRequest struct {
	Subject         string
	ProviderEventID string
	// Source, when set, narrows the erasure to one source.
	Source string
	Actor  string
	Now    time.Time
	// DryRun counts without changing or recording anything.
	DryRun bool
}

// PurgeFilter is what a purge record says was asked, never the subject
// itself: an erasure is recorded with a keyed hash (SubjectSeal).
type PurgeFilter struct {
	Source string    `json:"source,omitempty"`
	Type   string    `json:"type,omitempty"`
	Before time.Time `json:"before,omitzero"`
	// SubjectHash is SubjectSeal of the erased subject.
	SubjectHash string `json:"subject_hash,omitempty"`
	// ProviderIDHash is SubjectSeal of the erased provider event ID.
	ProviderIDHash string `json:"provider_id_hash,omitempty"`
}

// Purge is the audit record of one purge or erasure (or, for a dry run,
// what it would do; dry runs are not recorded).
type Purge struct {
	// ID is "prg_" + ULID.
	ID     string      `json:"id"`
	Kind   PurgeKind   `json:"kind"`
	Actor  string      `json:"actor"`
	At     time.Time   `json:"at"`
	Filter PurgeFilter `json:"filter"`
	// Events is how many events were deleted, with their deliveries,
	// attempts and issue samples.
	Events int `json:"events"`
	// Skipped is how many matching events a purge left because a delivery
	// of theirs is still pending or in flight (erasures skip none).
	Skipped int `json:"skipped,omitempty"`
	// Quarantined is how many quarantined requests an erasure deleted.
	Quarantined int  `json:"quarantined,omitempty"`
	DryRun      bool `json:"dry_run,omitempty"`
}

// SubjectSeal is the keyed hash an erased subject (or provider event ID) is
// recorded as: Seal under the installation key of "subject:" and the value,
// so that whoever holds the store and a candidate value can check whether
// it was erased, and nobody else can, and a subject's seal never equals a
// sealed token header's.
func SubjectSeal(key []byte, value string) string {
	return Seal(key, "subject:"+value)
}

// PurgeBatch is how many events a purge or an erasure deletes per
// transaction: small enough that ingest waits a few milliseconds at most.
const PurgeBatch = 200

// PurgeStore deletes events on request and keeps the audit trail.
type PurgeStore interface {
	// PurgeEvents deletes the events received before r.Before (of
	// r.Source and r.Type when set) with their deliveries, attempts and
	// issue samples (the failure rows naming them; issues keep their
	// counts). An event with a pending delivery (due, waiting or in
	// flight) is never deleted: it is counted in Skipped. Dedupe keys stay
	// until their horizon passes, so a provider's retry of a purged event
	// is still a duplicate. Deletion runs in transactions of PurgeBatch
	// events; the record (kind purge) is written with the first and its
	// count updated with each, so it always says what was deleted. A dry
	// run counts and records nothing. Errors: EINVALID without Before;
	// EUNAVAILABLE or EINTERNAL, and what was deleted before stays deleted
	// and recorded.
	PurgeEvents(ctx context.Context, r PurgeRequest) (*Purge, error)

	// EraseEvents deletes the events of r.Subject (Event.Subject, an
	// indexed column: no body is read) or of r.ProviderEventID, pending
	// deliveries or not, with their deliveries, attempts and issue
	// samples, and the quarantined requests with that subject, released as
	// one of those events, or (for a subject) with no subject extracted and
	// a body containing it. Dedupe keys are kept until they expire, so a
	// provider's retry is answered as a duplicate and not stored again. The
	// record (kind erase) holds SubjectSeal of the value, never the value.
	// On SQLite the deleted bytes are overwritten (secure_delete) and the
	// WAL is checkpointed and truncated, so the file holds no copy. A dry
	// run counts and records nothing. Errors: EINVALID unless exactly one
	// of Subject and ProviderEventID is set; EUNAVAILABLE or EINTERNAL, and
	// what was deleted before stays deleted and recorded.
	EraseEvents(ctx context.Context, r ErasureRequest) (*Purge, error)

	// ListPurges returns the purge and erasure records, newest first, at
	// most limit (zero: 100).
	ListPurges(ctx context.Context, limit int) ([]*Purge, error)
}

// ValidatePurge checks a purge request before a store runs it.
func ValidatePurge(r PurgeRequest) error {
	if r.Before.IsZero() {
		return Errorf(EINVALID, "a purge needs --before (a date such as 2026-01-01, an RFC 3339 time, or an age such as 30d)")
	}
	return nil
}

// NewPurge checks a purge request and returns the record of the purge it
// asks for, made at r.Now (now when zero): what both stores start from.
func NewPurge(r PurgeRequest, now time.Time) (*Purge, error) {
	if err := ValidatePurge(r); err != nil {
		return nil, err
	}
	if !r.Now.IsZero() {
		now = r.Now
	}
	return &Purge{ID: NewID("prg", now), Kind: PurgeByFilter, Actor: r.Actor, At: now.UTC(),
		Filter: PurgeFilter{Source: r.Source, Type: r.Type, Before: r.Before.UTC()}, DryRun: r.DryRun}, nil
}

// NewErasure checks an erasure request and returns the record of the
// erasure it asks for, made at r.Now (now when zero), with the subject or
// the provider event ID keyed-hashed under key (the installation key),
// never kept as it is.
func NewErasure(r ErasureRequest, now time.Time, key []byte) (*Purge, error) {
	if err := ValidateErasure(r); err != nil {
		return nil, err
	}
	if !r.Now.IsZero() {
		now = r.Now
	}
	p := &Purge{ID: NewID("prg", now), Kind: PurgeErasure, Actor: r.Actor, At: now.UTC(),
		Filter: PurgeFilter{Source: r.Source}, DryRun: r.DryRun}
	if r.Subject != "" {
		p.Filter.SubjectHash = SubjectSeal(key, r.Subject)
	} else {
		p.Filter.ProviderIDHash = SubjectSeal(key, r.ProviderEventID)
	}
	return p, nil
}

// ValidateErasure checks an erasure request before a store runs it.
func ValidateErasure(r ErasureRequest) error {
	if (r.Subject == "") == (r.ProviderEventID == "") {
		return Errorf(EINVALID, "an erasure needs exactly one of --subject and --provider-id")
	}
	if len(r.Subject) > MaxSubjectLen {
		return Errorf(EINVALID, "subject longer than %d bytes: no event can have it", MaxSubjectLen)
	}
	return nil
}

// String is the filter in words, for listings.
func (f PurgeFilter) String() string {
	var parts []string
	if f.Source != "" {
		parts = append(parts, "source="+f.Source)
	}
	if f.Type != "" {
		parts = append(parts, "type="+f.Type)
	}
	if !f.Before.IsZero() {
		parts = append(parts, "before="+f.Before.Format(time.RFC3339))
	}
	if f.SubjectHash != "" {
		parts = append(parts, "subject="+f.SubjectHash)
	}
	if f.ProviderIDHash != "" {
		parts = append(parts, "provider_id="+f.ProviderIDHash)
	}
	return strings.Join(parts, " ")
}

// String is the filter in words, for listings (the replay records).
func (f DeliveryFilter) String() string {
	var parts []string
	if n := len(f.EventIDs); n == 1 {
		parts = append(parts, "event="+f.EventIDs[0])
	} else if n > 1 {
		parts = append(parts, fmt.Sprintf("events=%s+%d more", f.EventIDs[0], n-1))
	}
	for _, kv := range [][2]string{{"source", f.Source}, {"destination", f.Destination}, {"type", f.Type}, {"status", string(f.Status)}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	if !f.Since.IsZero() {
		parts = append(parts, "since="+f.Since.Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		parts = append(parts, "until="+f.Until.Format(time.RFC3339))
	}
	return strings.Join(parts, " ")
}

// StoredSubject is what a store keeps in its indexed subject column for
// subject: with key nil (the store does not encrypt payloads) the subject
// itself, otherwise its SubjectSeal, so that column holds no personal data
// at rest. A value already in Seal form (a row copied from an encrypting
// store) is kept as it is. Erasure looks up both forms: rows stored before
// encryption was turned on keep the plaintext subject.
func StoredSubject(key []byte, subject string) string {
	if key == nil || subject == "" || IsSeal(subject) {
		return subject
	}
	return SubjectSeal(key, subject)
}
