package hookwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
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
	// IssueID is the issue the alert's notifications link to, chosen when
	// it fires and kept until it resolves, so that the firing and the
	// resolved message name the same issue.
	IssueID string `json:"issue_id,omitempty"`
	// HeldBack says why the alert's firing notification is being held
	// back ("inhibited: ..." or "silenced: ..."), empty when it is not.
	HeldBack string `json:"held_back,omitempty"`
	// HeldUntil is how long an inhibition lasts after its cause is gone
	// (the outage's tail in the rule's window); see docs/alerting.md.
	HeldUntil time.Time `json:"held_until,omitzero"`
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
// Inhibited and silenced notifications were held back and never sent: they
// are only the record, in the history, that the alert fired.
const (
	NotificationQueued    NotificationStatus = "queued"
	NotificationSent      NotificationStatus = "sent"
	NotificationFailed    NotificationStatus = "failed"
	NotificationInhibited NotificationStatus = "inhibited"
	NotificationSilenced  NotificationStatus = "silenced"
)

// AlertDetails is what a notification tells the on-call engineer besides
// its summary, so they can act without opening anything. Fields that do
// not apply to the alert are zero.
type AlertDetails struct {
	// Headline names what fired in a few words ("app: circuit open").
	Headline string `json:"headline,omitempty"`
	// Destination is the destination concerned, and URL its address with
	// credentials and query values removed.
	Destination string `json:"destination,omitempty"`
	URL         string `json:"url,omitempty"`
	// LastStatus and LastError are the last failed attempt's HTTP status
	// (0: no answer) and the first line of its answer or error.
	LastStatus int    `json:"last_status,omitempty"`
	LastError  string `json:"last_error,omitempty"`
	// Backlog is the deliveries waiting, the oldest for OldestWaiting.
	Backlog       int     `json:"backlog"`
	OldestWaiting float64 `json:"oldest_waiting_seconds"`
	// Since is when the condition started to hold.
	Since time.Time `json:"since,omitzero"`
	// Lasted is how long a resolved alert held, in seconds; Cleared says
	// what the figures were when it cleared.
	Lasted  float64 `json:"lasted_seconds,omitempty"`
	Cleared string  `json:"cleared,omitempty"`
	// Sources and EventTypes are those affected (event types from a
	// sample of the recent failures).
	Sources    []string `json:"sources,omitempty"`
	EventTypes []string `json:"event_types,omitempty"`
	// NextStep says what to do, with the command to run (Command).
	NextStep string `json:"next_step,omitempty"`
	Command  string `json:"command,omitempty"`
	// HeldBack says why an inhibited or silenced notification was not sent.
	HeldBack string `json:"held_back,omitempty"`
}

// EncodeAlertDetails is how the stores keep details: JSON, "" for none.
func EncodeAlertDetails(d *AlertDetails) (string, error) {
	if d == nil {
		return "", nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode alert details: %w", err)
	}
	return string(b), nil
}

// DecodeAlertDetails is the inverse of EncodeAlertDetails.
func DecodeAlertDetails(s string) (*AlertDetails, error) {
	if s == "" {
		return nil, nil
	}
	var d AlertDetails
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, fmt.Errorf("decode alert details: %w", err)
	}
	return &d, nil
}

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
	IssueID string `json:"issue_id,omitempty"`
	// Details are the figures and the next step, when the evaluator had
	// them (not for test notifications).
	Details   *AlertDetails      `json:"details,omitempty"`
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
	Subject string
	Status  NotificationStatus
	// Limit caps the number returned; zero means 100.
	Limit int
}

// Silence holds back the firing notifications of one rule (on one subject,
// or all of them) until it expires. Held-back notifications are recorded
// in the history with status silenced; resolved notifications of alerts
// whose firing was sent are not held back.
type Silence struct {
	ID string `json:"id"`
	// Rule is the rule's name; Subject one alert of it ("destination:app"),
	// or empty for every subject.
	Rule    string `json:"rule"`
	Subject string `json:"subject,omitempty"`
	Comment string `json:"comment,omitempty"`
	// CreatedBy is who made it ("cli:alice", "dashboard:alice").
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Matches reports whether s holds back the alert of rule on subject at now.
func (s *Silence) Matches(rule, subject string, now time.Time) bool {
	return s.Rule == rule && (s.Subject == "" || s.Subject == subject) && now.Before(s.ExpiresAt) && !now.Before(s.CreatedAt)
}

// SilenceRetention is how long an expired silence is kept (listed with
// --all) before AddSilence forgets it; MaxSilence is the longest a silence
// may last: a rule that should stay quiet longer is a rule to change.
const (
	SilenceRetention = 30 * 24 * time.Hour
	MaxSilence       = 30 * 24 * time.Hour
)

// ValidateSilence checks a silence before a store adds it: an EINVALID
// error names what is missing or wrong.
func ValidateSilence(s *Silence) error {
	switch {
	case s.ID == "":
		return Errorf(EINVALID, "a silence needs an ID")
	case s.Rule == "":
		return Errorf(EINVALID, "a silence needs the rule it silences")
	case s.CreatedBy == "":
		return Errorf(EINVALID, "a silence needs who made it")
	case !s.ExpiresAt.After(s.CreatedAt):
		return Errorf(EINVALID, "a silence must expire after it is made (give a positive duration)")
	case s.ExpiresAt.Sub(s.CreatedAt) > MaxSilence:
		return Errorf(EINVALID, "a silence lasts at most 30d (to quiet a rule for longer, change the rule)")
	case s.Subject != "" && s.Subject != "all" && !strings.HasPrefix(s.Subject, "destination:") && !strings.HasPrefix(s.Subject, "source:"):
		return Errorf(EINVALID, "subject %q is not all, destination:NAME or source:NAME (as hookwatch alerts list shows)", s.Subject)
	}
	return nil
}

// AlertStore keeps alert state, the notification outbox and history, and
// the lease that elects one evaluator among instances sharing a store.
type AlertStore interface {
	// AlertStates returns every stored alert state.
	AlertStates(ctx context.Context) ([]AlertState, error)

	// SaveAlerts stores states (replacing those with the same rule and
	// subject) and queues the notifications (status queued; those given
	// the status inhibited or silenced are only recorded in the history),
	// in one transaction: a state that says "notified" always comes with
	// its notification. Errors are EUNAVAILABLE or EINTERNAL.
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

	// AddSilence stores a silence, and forgets the silences that expired
	// more than SilenceRetention before s.CreatedAt. It returns EINVALID
	// when ValidateSilence refuses s, ECONFLICT when its ID is taken, else
	// EUNAVAILABLE or EINTERNAL.
	AddSilence(ctx context.Context, s *Silence) error

	// ListSilences returns the silences that expire after since (zero: all
	// those kept), soonest to expire first. Errors are EINTERNAL.
	ListSilences(ctx context.Context, since time.Time) ([]*Silence, error)

	// RemoveSilence deletes a silence and returns it, or returns ENOTFOUND.
	RemoveSilence(ctx context.Context, id string) (*Silence, error)
}
