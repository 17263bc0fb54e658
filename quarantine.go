package hookwatch

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// Quarantined is a request that failed verification, kept so that an
// operator who configured a secret wrongly loses nothing: once the config is
// fixed, it can be verified again and released as an event.
type Quarantined struct {
	// ID is "qrn_" + ULID, from the receive time: IDs sort by time.
	ID       string `json:"id"`
	Source   string `json:"source"`
	Provider string `json:"provider"`
	// Reason is the verification failure's word (bad_signature,
	// stale_timestamp...) and Detail its explanation; neither holds a secret.
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
	Method string `json:"method,omitempty"`
	// URL is the URL the provider called, as verified (the source's
	// public_url plus the query), for schemes that sign the URL.
	URL string `json:"url,omitempty"`
	// Headers are the request headers with credential headers redacted,
	// except a token a scheme compares with its secret (GitLab's
	// X-Gitlab-Token), kept sealed under the installation key (SealHeaders)
	// so that a release can verify it against the current secrets.
	// Signatures are kept as they are. Requests kept by versions before the
	// installation key have the token redacted: they can only be released
	// unverified.
	Headers http.Header `json:"headers,omitempty"`
	// Body is the body received, cut to the quarantine's max_body.
	Body []byte `json:"-"`
	// Subject is the value at the source's subject path in the body, as for
	// an event (Event.Subject), extracted though the body is unverified so
	// that an erasure finds the request; empty when the body does not
	// parse (cut, not JSON). Personal data: not shown in listings.
	Subject string `json:"-"`
	// Truncated is set when Body was cut: such a request cannot verify.
	Truncated  bool      `json:"truncated,omitempty"`
	ReceivedAt time.Time `json:"received_at"`

	// ReleasedAt is set once the request was released as event EventID.
	ReleasedAt time.Time `json:"released_at,omitzero"`
	EventID    string    `json:"event_id,omitempty"`
	// ReleasedBy is who released it ("cli:alice", "admin-api 127.0.0.1").
	ReleasedBy string `json:"released_by,omitempty"`
	// Unverified is set when it was released without verification.
	Unverified bool `json:"unverified,omitempty"`
}

// Released reports whether the request was released as an event.
func (q *Quarantined) Released() bool { return !q.ReleasedAt.IsZero() }

// QuarantineStatus selects quarantined requests by whether they were released.
type QuarantineStatus string

// Quarantine statuses for filtering.
const (
	QuarantineAny      QuarantineStatus = ""
	QuarantineHeld     QuarantineStatus = "held"
	QuarantineReleased QuarantineStatus = "released"
)

// ParseQuarantineStatus reads a status word; "all" and "" mean any.
func ParseQuarantineStatus(s string) (QuarantineStatus, error) {
	switch strings.ToLower(s) {
	case "", "all", "any":
		return QuarantineAny, nil
	case "held":
		return QuarantineHeld, nil
	case "released":
		return QuarantineReleased, nil
	}
	return "", Errorf(EINVALID, "status %q: use held, released or all", s)
}

// QuarantineFilter selects quarantined requests. Zero fields do not filter.
type QuarantineFilter struct {
	IDs    []string         `json:"ids,omitempty"`
	Source string           `json:"source,omitempty"`
	Reason string           `json:"reason,omitempty"`
	Status QuarantineStatus `json:"status,omitempty"`
	// Since and Until apply to the receive time.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// Before is a listing cursor: only records with a lower ID (older).
	Before string `json:"before,omitempty"`
	// Limit caps the number returned; zero means 100.
	Limit int `json:"limit,omitempty"`
}

// QuarantineRelease records that a quarantined request became an event.
type QuarantineRelease struct {
	ID      string
	EventID string
	At      time.Time
	By      string
	// Unverified is set when the request was released without verification.
	Unverified bool
}

// Quarantine defaults: the bounds applied when the config sets none.
const (
	DefaultQuarantineMaxCount = 10000
	DefaultQuarantineMaxAge   = 7 * 24 * time.Hour
	// DefaultQuarantineMaxBytes is the byte budget of everything kept.
	DefaultQuarantineMaxBytes = 256 << 20
	// DefaultQuarantineMaxBody is how much of one body is kept: larger than
	// nearly every provider's payload, and small enough that 4096 requests
	// of the largest size fit the default byte budget.
	DefaultQuarantineMaxBody = 64 << 10
	// DefaultQuarantineRate and DefaultQuarantineBurst are the intake rate
	// of each source's rejections (per second) and the burst beyond it.
	DefaultQuarantineRate  = 20
	DefaultQuarantineBurst = 100
)

// StoredSize is about how many bytes q takes in a store: its body, headers
// and texts. The byte budget (QuarantineBounds.MaxBytes) counts it; both
// stores record it with each request when they add it.
func (q *Quarantined) StoredSize() int64 {
	n := len(q.ID) + len(q.Source) + len(q.Provider) + len(q.Reason) + len(q.Detail) + len(q.Method) + len(q.URL) + len(q.Body)
	for k, vs := range q.Headers {
		// As JSON: "key":["value",...], quotes and separators included.
		n += len(k) + 5
		for _, v := range vs {
			n += len(v) + 3
		}
	}
	return int64(n)
}

// QuarantineBounds are what PruneQuarantine keeps. Zero fields do not bound.
type QuarantineBounds struct {
	// Before deletes the requests received before it.
	Before time.Time
	// MaxCount keeps at most this many, the newest.
	MaxCount int
	// MaxBytes keeps the newest requests whose StoredSize add up to at
	// most this many bytes.
	MaxBytes int64
}

// QuarantineStore keeps rejected requests. It is bounded by PruneQuarantine,
// which the quarantine writer calls periodically.
type QuarantineStore interface {
	// AddQuarantined stores a batch of rejected requests (IDs set by the
	// caller) in one transaction, each with its StoredSize. Errors have
	// code EUNAVAILABLE when a retry may succeed, else EINTERNAL; nothing
	// of the batch is stored.
	AddQuarantined(ctx context.Context, qs []*Quarantined) error

	// GetQuarantined returns one quarantined request, or an error with code
	// ENOTFOUND.
	GetQuarantined(ctx context.Context, id string) (*Quarantined, error)

	// ListQuarantined returns the requests matching f, newest first.
	ListQuarantined(ctx context.Context, f QuarantineFilter) ([]*Quarantined, error)

	// MarkReleased records that a request was released as event r.EventID.
	// It returns ENOTFOUND when there is no such request (it may have been
	// pruned) and ECONFLICT when it was already released; nothing changes
	// then.
	MarkReleased(ctx context.Context, r QuarantineRelease) error

	// PruneQuarantine applies b, released requests included: it deletes
	// those received before b.Before, then all but the b.MaxCount newest,
	// then the oldest until the rest add up to at most b.MaxBytes (a
	// request larger than MaxBytes alone is deleted too). It returns how
	// many it deleted. Errors have code EUNAVAILABLE or EINTERNAL.
	PruneQuarantine(ctx context.Context, b QuarantineBounds) (int, error)
}
