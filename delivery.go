package hookwatch

import (
	"context"
	"time"
)

// DeliveryStatus is where a delivery is in its life.
type DeliveryStatus string

// Delivery statuses. A delivery is pending until it succeeds or its retry
// policy gives up (dead). A pending delivery may be leased (in flight) by a
// worker; that is LeaseUntil in the future, not a status of its own, so a
// crashed worker's deliveries are pending again when the lease expires.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliverySucceeded DeliveryStatus = "succeeded"
	DeliveryDead      DeliveryStatus = "dead"
)

// ErrorClass says why an attempt failed; the retry policy is chosen by class.
type ErrorClass string

// Error classes of a delivery attempt. ClassNone is the class of a success.
const (
	ClassNone       ErrorClass = ""
	ClassValidation ErrorClass = "validation_error" // 400, 422 and other 4xx: the payload is rejected
	ClassPermission ErrorClass = "permission_error" // 401, 403, 407
	ClassRateLimit  ErrorClass = "rate_limited"     // 429
	ClassServer     ErrorClass = "server_error"     // 5xx
	ClassConnection ErrorClass = "connection_error" // refused, reset, DNS, TLS
	ClassTimeout    ErrorClass = "timeout_error"    // no answer within the destination's timeout; 408
	ClassGone       ErrorClass = "gone"             // 410: the destination is disabled
	ClassUnknown    ErrorClass = "unknown_error"    // anything else (3xx: redirects are not followed)
)

// ErrorClasses lists every failure class, for validation and documentation.
var ErrorClasses = []ErrorClass{ClassValidation, ClassPermission, ClassRateLimit, ClassServer,
	ClassConnection, ClassTimeout, ClassGone, ClassUnknown}

// Delivery is one event on its way to one destination. Its ID is internal;
// the destination sees the event ID as webhook-id, which stays the same
// across retries and replays so the app can dedupe.
type Delivery struct {
	ID          string
	EventID     string
	Destination string
	Status      DeliveryStatus
	// Attempts counts attempts since the delivery was (re)queued: a replay
	// starts it again at zero. The attempt history keeps every attempt.
	Attempts      int
	NextAttemptAt time.Time
	// LeaseOwner and LeaseUntil are set while a worker holds the delivery.
	LeaseOwner string
	LeaseUntil time.Time
	// The last attempt's outcome, for listings.
	LastClass  ErrorClass
	LastStatus int
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// QueuedAt is when the delivery was created or last replayed: the retry
	// policy's max age counts from it.
	QueuedAt    time.Time
	CompletedAt time.Time
	// OrderKey is the delivery's ordering key (a destination with
	// ordering): it is sent only when no older delivery of the key is
	// pending (see ClaimRequest.BlockOnDead). Empty: unordered.
	OrderKey string
	// OrderError says why an ordered destination's delivery has no key
	// (it goes unordered).
	OrderError string

	// Event is set by ClaimDeliveries only: the event to send.
	Event *Event
}

// Attempt is one try at sending a delivery.
type Attempt struct {
	DeliveryID string
	// N numbers the delivery's attempts from 1, across replays.
	N     int
	Owner string
	At    time.Time
	// Latency is from the request's start to the end of reading the
	// response (or the failure).
	Latency    time.Duration
	Class      ErrorClass
	StatusCode int
	// Error describes a failure in words ("connection refused", "HTTP 500").
	Error string
	// Response is the first MaxResponseBody bytes of the response body.
	Response []byte
}

// MaxResponseBody is how much of a destination's answer an attempt keeps.
const MaxResponseBody = 4 << 10

// Outcome is what a finished attempt does to its delivery.
type Outcome string

// Outcomes of an attempt.
const (
	OutcomeSucceeded Outcome = "succeeded" // done: status succeeded
	OutcomeRetry     Outcome = "retry"     // still pending, due again at NextAttemptAt
	OutcomeDead      Outcome = "dead"      // the policy gave up: status dead
)

// Finish records one finished attempt and its outcome.
type Finish struct {
	// Owner must be the delivery's lease owner.
	Owner   string
	Attempt Attempt
	Outcome Outcome
	// NextAttemptAt is when a retried delivery is due again.
	NextAttemptAt time.Time
	// NoCount leaves the delivery's Attempts unchanged: for attempts that
	// must not count against the retry policy (a 410 that disables the
	// destination, a circuit probe).
	NoCount bool
}

// ClaimRequest asks for due deliveries of one destination.
type ClaimRequest struct {
	Destination string
	// Owner identifies the claiming instance (its lease owner).
	Owner string
	// Now is the claim time: deliveries due at or before it are claimed.
	Now time.Time
	// Lease is how long the claim holds: after Now+Lease the deliveries are
	// due again for anyone (the owner is assumed dead).
	Lease time.Duration
	// Limit caps how many are claimed.
	Limit int
	// BlockOnDead is set for a destination ordered with on_dead: block: a
	// dead delivery holds the deliveries of its key received after it.
	BlockOnDead bool
	// DeadLettered, if set, hears each delivery the claim dead-lettered
	// instead of returning it because its event's payload does not open
	// (see DeliveryStore.ClaimDeliveries), after that is recorded: the
	// delivery as it now is (status dead, Event holding the event's
	// plaintext columns but no headers or body) and the recorded attempt.
	DeadLettered func(d *Delivery, a *Attempt)
}

// UnreadableEvent is the error recorded on a delivery dead-lettered by a
// claim because its event's payload, sealed under key ID keyID ("" for
// plaintext), does not open with err. It names the key ID, never a key or
// the payload.
func UnreadableEvent(keyID string, err error) string {
	switch {
	case keyID == "":
		return "event unreadable: the stored headers do not decode (altered row); restore the row and replay"
	case ErrorCode(err) == EINVALID:
		return "event unreadable: payload sealed with key " + keyID + ", which encryption.keys does not list; add that key and replay"
	}
	return "event unreadable: payload does not open with key " + keyID + " (tampered or wrong key); fix the key and replay"
}

// DeliveryFilter selects deliveries for listing, counting and replay. Zero
// fields do not filter. Since and Until apply to the event's receive time.
type DeliveryFilter struct {
	EventIDs    []string       `json:"event_ids,omitempty"`
	Source      string         `json:"source,omitempty"`
	Destination string         `json:"destination,omitempty"`
	Type        string         `json:"type,omitempty"`
	Status      DeliveryStatus `json:"status,omitempty"`
	Since       time.Time      `json:"since,omitzero"`
	Until       time.Time      `json:"until,omitzero"`
	// Before is a listing cursor: only deliveries with a lower ID.
	Before string `json:"-"`
	// Limit caps a listing; zero means 100. Replays ignore it.
	Limit int `json:"-"`
}

// CircuitState is the state of a destination's circuit breaker.
type CircuitState string

// Circuit breaker states. Closed sends normally; open sends nothing until
// ProbeAt; half-open sends one probe whose success closes the circuit.
const (
	CircuitClosed   CircuitState = "closed"
	CircuitOpen     CircuitState = "open"
	CircuitHalfOpen CircuitState = "half-open"
)

// DestinationState is what Hookwatch remembers of a destination besides its
// config: pause, disablement (a 410), and the circuit breaker. A destination
// never seen has the zero state with Circuit closed.
type DestinationState struct {
	Name   string
	Paused bool
	// DisabledAt is set when the destination answered 410 Gone; its
	// deliveries wait until it is resumed.
	DisabledAt     time.Time
	DisabledReason string
	Circuit        CircuitState
	// Failures counts consecutive failures (for the breaker).
	Failures int
	// ProbeAt is when an open circuit tries its next probe.
	ProbeAt time.Time
	// NotBefore is set when the destination answered 429 or 503 with
	// Retry-After: nothing is sent to it before then.
	NotBefore time.Time
	UpdatedAt time.Time
}

// Blocked reports whether the destination receives nothing: paused or
// disabled. (An open circuit is handled by the engine.)
func (s DestinationState) Blocked() bool { return s.Paused || !s.DisabledAt.IsZero() }

// ReplayRequest asks to re-queue deliveries.
type ReplayRequest struct {
	Filter DeliveryFilter
	// Actor is who asked ("cli:alice", "admin-api 127.0.0.1").
	Actor string
	Now   time.Time
	// Rate spreads the re-queued deliveries: the i-th is due at
	// Now + i/Rate. Zero or less: all due at Now.
	Rate float64
	// DryRun counts without changing or recording anything.
	DryRun bool
}

// Replay is the record of one replay.
type Replay struct {
	ID     string         `json:"id"`
	Actor  string         `json:"actor"`
	At     time.Time      `json:"at"`
	Filter DeliveryFilter `json:"filter"`
	Rate   float64        `json:"rate,omitempty"`
	Count  int            `json:"count"`
	DryRun bool           `json:"dry_run,omitempty"`
}

// DeliveryStore is the delivery queue and its history. The semantics are
// exact so that every store (SQLite, PostgreSQL) behaves the same; storetest
// checks them.
type DeliveryStore interface {
	OrderingStore

	// ClaimDeliveries leases up to r.Limit deliveries of r.Destination that
	// are pending, due (NextAttemptAt <= r.Now) and not leased (LeaseUntil
	// <= r.Now), oldest due first, setting LeaseOwner = r.Owner and
	// LeaseUntil = r.Now + r.Lease in one transaction: two concurrent
	// claimers never get the same delivery. It returns nothing while the
	// destination is paused or disabled. A delivery with an OrderKey is
	// claimed only at the head of its key: when no delivery of the same
	// destination and key received before it (event receive time, then
	// event ID) is pending, leased or not, or, with r.BlockOnDead, dead;
	// other keys and unordered deliveries are not held back by it. Each
	// delivery's Event is set. A
	// delivery whose event's payload does not open (altered, or sealed under
	// a key the store's cipher lacks) is not returned: it is dead-lettered
	// durably by the claim, with one attempt of class ClassUnknown whose
	// error is UnreadableEvent's, and reported to r.DeadLettered; the
	// destination's other deliveries are claimed as usual, and a replay
	// once the key is fixed sends it again. Errors have code EUNAVAILABLE
	// when a retry may succeed, else EINTERNAL.
	ClaimDeliveries(ctx context.Context, r ClaimRequest) ([]*Delivery, error)

	// FinishDeliveries applies finished attempts: for each, in one
	// transaction for the batch, it records the attempt and sets the
	// delivery's outcome, clearing its lease. An item whose delivery is no
	// longer pending or leased by its Owner is skipped (another worker owns
	// it now) and its entry in the returned slice is an ECONFLICT error; a
	// missing delivery gives ENOTFOUND. The returned error is for the batch
	// (nothing applied): EUNAVAILABLE or EINTERNAL.
	FinishDeliveries(ctx context.Context, fs []Finish) ([]error, error)

	// ReleaseDeliveries clears the lease of the listed deliveries held by
	// owner, without recording an attempt, so they are due again at once
	// (graceful shutdown). Deliveries not leased by owner are ignored.
	ReleaseDeliveries(ctx context.Context, owner string, ids []string) error

	// GetDelivery returns one delivery (Event not set) and its attempts,
	// oldest first, or an error with code ENOTFOUND.
	GetDelivery(ctx context.Context, id string) (*Delivery, []*Attempt, error)

	// ListDeliveries returns deliveries matching f, newest first.
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error)

	// CountDeliveries counts deliveries matching f by destination and status.
	CountDeliveries(ctx context.Context, f DeliveryFilter) (map[string]map[DeliveryStatus]int, error)

	// ReplayDeliveries re-queues the deliveries matching r.Filter that are
	// not leased: status pending, Attempts 0, QueuedAt = r.Now, due at
	// r.Now (spread by r.Rate), in one transaction with a Replay record.
	// The event is unchanged, so the destination sees the same webhook-id.
	// With r.DryRun it only counts. A filter selecting nothing at all (no
	// field set) is refused with EINVALID.
	ReplayDeliveries(ctx context.Context, r ReplayRequest) (*Replay, error)

	// ListReplays returns the replay records, newest first, at most limit.
	ListReplays(ctx context.Context, limit int) ([]*Replay, error)

	// DestinationStates returns the stored state of every destination that
	// has one, by name.
	DestinationStates(ctx context.Context) (map[string]DestinationState, error)

	// SetDestinationPaused pauses or resumes a destination; resuming also
	// clears a disablement (410). Deliveries are kept while paused.
	SetDestinationPaused(ctx context.Context, name string, paused bool, now time.Time) error

	// DisableDestination marks a destination disabled (it answered 410).
	DisableDestination(ctx context.Context, name, reason string, now time.Time) error

	// SetCircuit stores a destination's circuit breaker state (Circuit,
	// Failures, ProbeAt and NotBefore of s) and s.UpdatedAt; pause and
	// disablement are not changed.
	SetCircuit(ctx context.Context, s DestinationState) error
}

// DeliveryObserver hears what the delivery engine does: the error tracker
// and alerting hook in here without touching the engine. Calls are made from
// the engine's goroutines and must not block for long.
type DeliveryObserver interface {
	// AttemptFinished is called after every attempt has been recorded.
	AttemptFinished(ctx context.Context, d *Delivery, a *Attempt, o Outcome)
	// DeadLettered is called when a delivery's policy gives up.
	DeadLettered(ctx context.Context, d *Delivery, a *Attempt)
	// CircuitChanged is called when a destination's circuit changes state.
	CircuitChanged(ctx context.Context, destination string, from, to CircuitState)
	// DestinationDisabled is called when a destination answers 410 Gone.
	DestinationDisabled(ctx context.Context, destination string, a *Attempt)
}

// NopDeliveryObserver ignores everything.
type NopDeliveryObserver struct{}

// AttemptFinished does nothing.
func (NopDeliveryObserver) AttemptFinished(context.Context, *Delivery, *Attempt, Outcome) {}

// DeadLettered does nothing.
func (NopDeliveryObserver) DeadLettered(context.Context, *Delivery, *Attempt) {}

// CircuitChanged does nothing.
func (NopDeliveryObserver) CircuitChanged(context.Context, string, CircuitState, CircuitState) {}

// DestinationDisabled does nothing.
func (NopDeliveryObserver) DestinationDisabled(context.Context, string, *Attempt) {}

// SortDue orders deliveries the way ClaimDeliveries returns them: oldest
// due first, then by ID. Stores share it because what their claim
// statement returns is not in the order its subquery chose them in. A
// claim is small (its limit), so an insertion sort does.
func SortDue(ds []*Delivery) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && dueBefore(ds[j], ds[j-1]); j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

func dueBefore(a, b *Delivery) bool {
	if !a.NextAttemptAt.Equal(b.NextAttemptAt) {
		return a.NextAttemptAt.Before(b.NextAttemptAt)
	}
	return a.ID < b.ID
}
