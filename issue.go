package hookwatch

import (
	"context"
	"time"
)

// FailureKind says what failed.
type FailureKind string

// Kinds of failure grouped into issues.
const (
	FailureAttempt    FailureKind = "attempt"     // a delivery attempt failed (it may be retried)
	FailureDeadLetter FailureKind = "dead_letter" // a delivery's retry policy gave up
	FailureSignature  FailureKind = "signature"   // a request failed verification on a source
)

// Failure is one occurrence of something going wrong, recorded into an
// issue. Class is the attempt's ErrorClass, or the rejection reason
// (bad_signature, expired...) of a signature failure.
type Failure struct {
	Kind        FailureKind
	Source      string
	Destination string // empty for signature failures
	Class       string
	EventID     string // empty for signature failures: nothing was stored
	DeliveryID  string
	// Test is set for failures of test events: they are grouped apart from
	// production failures and never notify.
	Test bool
	At   time.Time
	// Message describes the failure in words ("HTTP 500", "connection
	// refused"); it never holds a secret.
	Message string
}

// Fingerprint returns the key failures are grouped by: source, destination
// and error class, with test failures kept apart from production ones.
func (f Failure) Fingerprint() string {
	fp := f.Source + "|" + f.Destination + "|" + f.Class
	if f.Test {
		fp += "|test"
	}
	return fp
}

// IssueStatus is where an issue is in its workflow.
type IssueStatus string

// Issue statuses. A resolved issue that happens again is open again and
// marked as a regression; an ignored one stays ignored (its count grows).
const (
	IssueOpen         IssueStatus = "open"
	IssueAcknowledged IssueStatus = "acknowledged"
	IssueResolved     IssueStatus = "resolved"
	IssueIgnored      IssueStatus = "ignored"
)

// Valid reports whether s is a known status.
func (s IssueStatus) Valid() bool {
	switch s {
	case IssueOpen, IssueAcknowledged, IssueResolved, IssueIgnored:
		return true
	}
	return false
}

// Priority is an issue's priority.
type Priority string

// Priorities.
const (
	PriorityLow    Priority = "low"
	PriorityMedium Priority = "medium"
	PriorityHigh   Priority = "high"
)

// Valid reports whether p is a known priority.
func (p Priority) Valid() bool {
	return p == PriorityLow || p == PriorityMedium || p == PriorityHigh
}

// Issue is a group of failures with the same fingerprint.
type Issue struct {
	ID          string      `json:"id"`
	Fingerprint string      `json:"fingerprint"`
	Kind        FailureKind `json:"kind"` // the kind of the latest failure
	Source      string      `json:"source"`
	Destination string      `json:"destination,omitempty"`
	Class       string      `json:"class"`
	Status      IssueStatus `json:"status"`
	Priority    Priority    `json:"priority"`
	Test        bool        `json:"test,omitempty"`
	FirstSeen   time.Time   `json:"first_seen"`
	LastSeen    time.Time   `json:"last_seen"`
	// Count is the number of failures; Events the number of distinct events
	// affected; DeadLetters how many of the failures were dead letters.
	Count       int    `json:"count"`
	Events      int    `json:"events"`
	DeadLetters int    `json:"dead_letters"`
	LastMessage string `json:"last_message,omitempty"`
	LastEventID string `json:"last_event_id,omitempty"`
	// Regression is set when the issue happened again after being resolved.
	Regression  bool      `json:"regression,omitempty"`
	RegressedAt time.Time `json:"regressed_at,omitzero"`
	ResolvedAt  time.Time `json:"resolved_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Comments is set by GetIssue only, oldest first.
	Comments []*IssueComment `json:"comments,omitempty"`
}

// IssueComment is a note left on an issue, including the record of status
// and priority changes.
type IssueComment struct {
	ID     string    `json:"id"`
	Author string    `json:"author"`
	At     time.Time `json:"at"`
	Body   string    `json:"body"`
}

// IssueChange is what recording one failure did to its issue.
type IssueChange struct {
	Issue *Issue
	// New is set when the failure opened a new issue.
	New bool
	// Regressed is set when the failure reopened a resolved issue.
	Regressed bool
}

// IssueFilter selects issues. Zero fields do not filter.
type IssueFilter struct {
	Status      IssueStatus
	Source      string
	Destination string
	Class       string
	Priority    Priority
	// Test: nil means both; otherwise only test or only production issues.
	Test *bool
	// Limit caps the number returned; zero means 100.
	Limit int
}

// IssueUpdate changes an issue. Zero fields are left as they are.
type IssueUpdate struct {
	Status   IssueStatus
	Priority Priority
	// Comment, when not empty, is added to the issue.
	Comment string
	Actor   string
	Now     time.Time
}

// FailureCount is the number of failures of one kind and class of a
// (source, destination) pair, for health figures.
type FailureCount struct {
	Kind        FailureKind
	Source      string
	Destination string
	Class       string
	Count       int
}

// IssueStore groups failures into issues.
type IssueStore interface {
	// RecordFailures records failures in one transaction, each into the
	// issue of its fingerprint, creating it (status open, priority medium)
	// or updating its last seen, count and affected events. A resolved
	// issue is reopened as a regression; an ignored or acknowledged one
	// keeps its status. Changes are in the order of fs. Errors have code
	// EUNAVAILABLE when a retry may succeed, else EINTERNAL.
	RecordFailures(ctx context.Context, fs []Failure) ([]IssueChange, error)

	// GetIssue returns an issue with its comments, or an error with code
	// ENOTFOUND.
	GetIssue(ctx context.Context, id string) (*Issue, error)

	// ListIssues returns issues matching f, most recently seen first.
	ListIssues(ctx context.Context, f IssueFilter) ([]*Issue, error)

	// UpdateIssue applies u to an issue and returns it with its comments.
	// Status and priority changes are recorded as comments by u.Actor. It
	// returns ENOTFOUND for an unknown issue and EINVALID for an unknown
	// status or priority or an empty update.
	UpdateIssue(ctx context.Context, id string, u IssueUpdate) (*Issue, error)

	// IssueFailures returns the most recent failures recorded into an
	// issue, newest first, at most limit: what happened, to which event and
	// delivery, and when. Failures already pruned (PruneFailures) are not
	// returned. An unknown issue has none.
	IssueFailures(ctx context.Context, issueID string, limit int) ([]Failure, error)

	// CountFailures counts the failures recorded at or after since and
	// before until, by kind, source, destination and class; failures of
	// test events are counted only when test is set.
	CountFailures(ctx context.Context, since, until time.Time, test bool) ([]FailureCount, error)

	// PruneFailures deletes the failures recorded before before (zero: no
	// age bound), then all but the keep most recently recorded (keep <= 0:
	// no count bound), and returns how many it deleted. Issues are kept
	// with their counts; what goes is the per-failure rows that window
	// figures (CountFailures) and the distinct-event count read, so an
	// event failing again after its failures were pruned counts as a new
	// affected event. It deletes in small transactions so writers are not
	// held up. Errors have code EUNAVAILABLE or EINTERNAL; what was deleted
	// before an error stays deleted.
	PruneFailures(ctx context.Context, before time.Time, keep int) (int, error)
}

// Failure retention defaults: the bounds applied when the config sets
// none. The age bound must cover the longest window alerts and health
// read (one hour by default).
const (
	DefaultFailureMaxAge   = 30 * 24 * time.Hour
	DefaultFailureMaxCount = 1_000_000
)

// ValidateIssueUpdate checks an update before a store applies it: it
// returns an EINVALID error for an unknown status or priority, or when the
// update changes nothing.
func ValidateIssueUpdate(u IssueUpdate) error {
	if u.Status != "" && !u.Status.Valid() {
		return Errorf(EINVALID, "unknown issue status %q (open, acknowledged, resolved, ignored)", u.Status)
	}
	if u.Priority != "" && !u.Priority.Valid() {
		return Errorf(EINVALID, "unknown priority %q (low, medium, high)", u.Priority)
	}
	if u.Status == "" && u.Priority == "" && u.Comment == "" {
		return Errorf(EINVALID, "nothing to change: give a status, a priority or a comment")
	}
	return nil
}

// ApplyIssueUpdate applies u to i in memory and returns the comments to
// record: the status and priority changes, then u.Comment. Stores share it
// so that both record changes the same way.
func ApplyIssueUpdate(i *Issue, u IssueUpdate) []string {
	var comments []string
	if u.Status != "" && u.Status != i.Status {
		comments = append(comments, "status: "+string(i.Status)+" → "+string(u.Status))
		i.Status = u.Status
		if u.Status == IssueResolved {
			i.ResolvedAt = u.Now
		}
		if u.Status == IssueOpen {
			i.ResolvedAt = time.Time{}
		}
	}
	if u.Priority != "" && u.Priority != i.Priority {
		comments = append(comments, "priority: "+string(i.Priority)+" → "+string(u.Priority))
		i.Priority = u.Priority
	}
	if u.Comment != "" {
		comments = append(comments, u.Comment)
	}
	i.UpdatedAt = u.Now
	return comments
}

// MaxFailureMessage is how many bytes of a failure's message the stores
// keep, in the failure's row and as its issue's LastMessage.
const MaxFailureMessage = 500

// NewIssue returns the issue failure f opens when no issue has its
// fingerprint yet: open, priority medium, first and last seen at f.At,
// with nothing counted (RecordFailure counts f into it).
func NewIssue(f Failure) *Issue {
	return &Issue{
		ID: NewID("iss", f.At), Fingerprint: f.Fingerprint(), Kind: f.Kind, Source: f.Source,
		Destination: f.Destination, Class: f.Class, Status: IssueOpen, Priority: PriorityMedium, Test: f.Test,
		FirstSeen: f.At, LastSeen: f.At, UpdatedAt: f.At,
	}
}

// RecordFailure counts failure f into i, the issue of its fingerprint
// (NewIssue's when isNew), the way IssueStore.RecordFailures documents it,
// and returns the change with a copy of the issue as it now is. newEvent
// says that f's event has no failure recorded into i yet (only a failure
// with an EventID can count a new affected event). A resolved issue opens
// again as a regression; an acknowledged or ignored one keeps its status.
// The latest failure (by At; the first one into a new issue) sets the
// issue's kind, last seen, message and event, so failures recorded out of
// order do not move LastSeen back. Stores share it so that both group
// failures the same way; they only read i, run their SQL and write i back.
func RecordFailure(i *Issue, f Failure, isNew, newEvent bool) IssueChange {
	c := IssueChange{New: isNew}
	if f.EventID != "" && newEvent {
		i.Events++
	}
	if f.Kind == FailureDeadLetter {
		i.DeadLetters++
	}
	if i.Status == IssueResolved {
		i.Status, i.Regression, i.RegressedAt = IssueOpen, true, f.At
		c.Regressed = true
	}
	if f.At.After(i.LastSeen) || i.Count == 0 {
		msg := f.Message
		if len(msg) > MaxFailureMessage {
			msg = msg[:MaxFailureMessage]
		}
		i.LastSeen, i.Kind, i.LastMessage, i.LastEventID = f.At, f.Kind, msg, f.EventID
	}
	i.Count++
	i.UpdatedAt = f.At
	cp := *i
	c.Issue = &cp
	return c
}
