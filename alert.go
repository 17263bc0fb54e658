package hookwatch

import (
	"context"
	"time"
)

// AlertStatus is where one alert (a rule applied to one subject) stands.
type AlertStatus string

// Alert statuses. An alert whose condition holds is pending until it has
// held for the rule's `for` duration, then firing until it clears.
const (
	AlertOK      AlertStatus = "ok"
	AlertPending AlertStatus = "pending"
	AlertFiring  AlertStatus = "firing"
)

// AlertState is the remembered state of one alert, kept in the store so
// that a restarted evaluator (or another instance taking over) neither
// forgets a firing alert nor sends it again.
type AlertState struct {
	// Rule is the rule's name; Subject what it measures ("all",
	// "destination:app", "source:stripe").
	Rule    string      `json:"rule"`
	Subject string      `json:"subject"`
	Status  AlertStatus `json:"status"`
	// Since is when the condition started to hold (pending or firing).
	Since time.Time `json:"since,omitzero"`
	// NotifiedAt is when a firing notification was last queued: the
	// cooldown counts from it.
	NotifiedAt time.Time `json:"notified_at,omitzero"`
	// Value is the last measured value; Summary says it in words.
	Value     float64   `json:"value"`
	Summary   string    `json:"summary,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NotificationKind says why a notification was sent.
type NotificationKind string

// Kinds of notification.
const (
	NotifyFiring   NotificationKind = "firing"
	NotifyResolved NotificationKind = "resolved"
	NotifyTest     NotificationKind = "test"
)

// NotificationStatus is a notification's delivery status.
type NotificationStatus string

// Notification statuses: queued (the outbox), then sent or failed.
const (
	NotificationQueued NotificationStatus = "queued"
	NotificationSent   NotificationStatus = "sent"
	NotificationFailed NotificationStatus = "failed"
)

// Notification is one alert to tell one channel about, and the record of
// telling it: the alert history.
type Notification struct {
	ID      string           `json:"id"`
	Channel string           `json:"channel"`
	Rule    string           `json:"rule"`
	Subject string           `json:"subject"`
	Kind    NotificationKind `json:"kind"`
	// Summary says what happened with figures ("error rate 12.0% > 5.0%
	// over 5m (120 attempts)"); Value and Threshold are those figures.
	Summary   string  `json:"summary"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// IssueID links the notification to the most relevant issue, if any.
	IssueID   string             `json:"issue_id,omitempty"`
	Status    NotificationStatus `json:"status"`
	Attempts  int                `json:"attempts"`
	Error     string             `json:"error,omitempty"`
	CreatedAt time.Time          `json:"created_at"`
	SentAt    time.Time          `json:"sent_at,omitzero"`
}

// NotificationFilter selects alert history. Zero fields do not filter.
type NotificationFilter struct {
	Channel string
	Rule    string
	Status  NotificationStatus
	// Limit caps the number returned; zero means 100.
	Limit int
}

// AlertStore keeps alert state, the notification outbox and history, and
// the lease that elects one evaluator among instances sharing a store.
type AlertStore interface {
	// AlertStates returns every stored alert state.
	AlertStates(ctx context.Context) ([]AlertState, error)

	// SaveAlerts stores states (replacing those with the same rule and
	// subject) and queues the notifications (status queued), in one
	// transaction: a state that says "notified" always comes with its
	// notification. Errors are EUNAVAILABLE or EINTERNAL.
	SaveAlerts(ctx context.Context, states []AlertState, queue []*Notification) error

	// QueuedNotifications returns the queued notifications, oldest first.
	QueuedNotifications(ctx context.Context) ([]*Notification, error)

	// RecordNotifications stores notifications as given (inserting those
	// not yet stored, updating status, attempts, error and sent time of the
	// others): the alert history.
	RecordNotifications(ctx context.Context, ns []*Notification) error

	// ListNotifications returns the alert history matching f, newest first.
	ListNotifications(ctx context.Context, f NotificationFilter) ([]*Notification, error)

	// AcquireLease takes or renews the lease called name for owner until
	// now+ttl, and reports whether owner holds it: it does when the lease
	// is free, expired, or already its own. Errors are EUNAVAILABLE or
	// EINTERNAL; a caller that gets one must assume it does not hold it.
	AcquireLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (bool, error)

	// ReleaseLease gives up the lease if owner holds it.
	ReleaseLease(ctx context.Context, name, owner string) error
}
