package hookwatch_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

var idShape = regexp.MustCompile(`^evt_[0-9A-HJKMNP-TV-Z]{26}$`)

// IDs are prefixed ULIDs in Crockford base32 that sort by creation time,
// even within one millisecond's worth of different random parts.
func TestNewIDShapeAndOrder(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	seen := map[string]bool{}
	for i := range 500 {
		id := hookwatch.NewID("evt", t0.Add(time.Duration(i)*time.Millisecond))
		if !idShape.MatchString(id) {
			t.Fatalf("NewID = %q: not evt_ + 26 Crockford base32 digits", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("IDs made one millisecond apart do not sort by time")
	}
	// Far apart in time: a later ID sorts after an earlier one whatever
	// the random bits.
	early, late := hookwatch.NewID("evt", t0), hookwatch.NewID("evt", t0.Add(365*24*time.Hour))
	if early >= late {
		t.Errorf("NewID(t0) = %s does not sort before NewID(t0+1y) = %s", early, late)
	}
}

// A caller sees the coded message of the first *Error in the chain, never
// the wrapped internals; anything else is an internal error.
func TestErrorCodesThroughWrapping(t *testing.T) {
	inner := errors.New("disk I/O error at page 1234")
	coded := &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "the event could not be stored", Err: inner}
	wrapped := fmt.Errorf("sqlite: insert event: %w", coded)
	for _, tc := range []struct {
		err           error
		code, message string
	}{
		{nil, "", ""},
		{wrapped, hookwatch.EUNAVAILABLE, "the event could not be stored"},
		{hookwatch.Errorf(hookwatch.ENOTFOUND, "no event %q", "evt_1"), hookwatch.ENOTFOUND, `no event "evt_1"`},
		{inner, hookwatch.EINTERNAL, "internal error"},
		{&hookwatch.Error{Code: hookwatch.EINTERNAL, Err: inner}, hookwatch.EINTERNAL, "internal error"},
	} {
		if got := hookwatch.ErrorCode(tc.err); got != tc.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", tc.err, got, tc.code)
		}
		if got := hookwatch.ErrorMessage(tc.err); got != tc.message {
			t.Errorf("ErrorMessage(%v) = %q, want %q", tc.err, got, tc.message)
		}
	}
	if !errors.Is(wrapped, inner) {
		t.Errorf("the wrapped cause is lost: logs and the error tracker need it")
	}
	if !strings.Contains(wrapped.Error(), "disk I/O error") {
		t.Errorf("Error() = %q: the log line must carry the cause", wrapped.Error())
	}
}

// Both stores record issue changes through ApplyIssueUpdate: the comments
// say what changed, and resolving then reopening clears the resolve time.
func TestApplyIssueUpdate(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	i := &hookwatch.Issue{Status: hookwatch.IssueOpen, Priority: "medium"}
	got := hookwatch.ApplyIssueUpdate(i, hookwatch.IssueUpdate{Status: hookwatch.IssueResolved, Priority: "high", Comment: "fixed the TLS cert", Now: t0})
	want := []string{"status: open → resolved", "priority: medium → high", "fixed the TLS cert"}
	if !slices.Equal(got, want) {
		t.Errorf("comments = %q, want %q", got, want)
	}
	if i.Status != hookwatch.IssueResolved || !i.ResolvedAt.Equal(t0) || !i.UpdatedAt.Equal(t0) {
		t.Errorf("after resolve: %+v", i)
	}
	got = hookwatch.ApplyIssueUpdate(i, hookwatch.IssueUpdate{Status: hookwatch.IssueOpen, Now: t0.Add(time.Hour)})
	if !slices.Equal(got, []string{"status: resolved → open"}) || !i.ResolvedAt.IsZero() {
		t.Errorf("reopen: comments %q, resolved_at %v", got, i.ResolvedAt)
	}
	// The same status again is not a change worth a comment.
	if got := hookwatch.ApplyIssueUpdate(i, hookwatch.IssueUpdate{Status: hookwatch.IssueOpen, Now: t0}); len(got) != 0 {
		t.Errorf("no-op update recorded %q", got)
	}

	for _, u := range []hookwatch.IssueUpdate{{}, {Status: "closed"}, {Priority: "urgent"}} {
		if err := hookwatch.ValidateIssueUpdate(u); hookwatch.ErrorCode(err) != hookwatch.EINVALID {
			t.Errorf("ValidateIssueUpdate(%+v) = %v, want an invalid error", u, err)
		}
	}
	if err := hookwatch.ValidateIssueUpdate(hookwatch.IssueUpdate{Comment: "looking"}); err != nil {
		t.Errorf("a comment alone is a valid update: %v", err)
	}
}

// Test failures are grouped apart from production failures of the same
// cause, so a test never notifies.
func TestFailureFingerprintKeepsTestApart(t *testing.T) {
	prod := hookwatch.Failure{Source: "stripe", Destination: "app", Class: "http_5xx"}
	test := prod
	test.Test = true
	other := prod
	other.Destination = "billing"
	if prod.Fingerprint() == test.Fingerprint() {
		t.Errorf("test and production failures share fingerprint %q", prod.Fingerprint())
	}
	if prod.Fingerprint() == other.Fingerprint() {
		t.Errorf("two destinations share fingerprint %q", prod.Fingerprint())
	}
	again := prod
	again.EventID, again.Message = "evt_2", "HTTP 503"
	if prod.Fingerprint() != again.Fingerprint() {
		t.Errorf("the same cause on another event is another issue")
	}
}

// A second leader of the same job waits until the first releases; leading
// another job does not wait.
func TestLocalLeaderExcludes(t *testing.T) {
	var l hookwatch.LocalLeader
	ctx := context.Background()
	_, release, err := l.Lead(ctx, "alerts")
	if err != nil {
		t.Fatal(err)
	}
	if _, rel, err := l.Lead(ctx, "retention"); err != nil {
		t.Fatalf("another job's leadership waited: %v", err)
	} else {
		rel()
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, _, err := l.Lead(short, "alerts"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second leader of a held job: err = %v, want to wait until its context ends", err)
	}
	release()
	release() // releasing twice is harmless
	lead, rel, err := l.Lead(ctx, "alerts")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	rel()
	if lead.Err() == nil {
		t.Errorf("the lead context stays live after release")
	}
}

// Wake reaches the subscribers of that destination only, coalesces, and a
// subscription ends with its context.
func TestLocalWaker(t *testing.T) {
	var w hookwatch.LocalWaker
	ctx, cancel := context.WithCancel(context.Background())
	app := w.Subscribe(ctx, "app")
	billing := w.Subscribe(ctx, "billing")
	w.Wake(ctx, "app")
	w.Wake(ctx, "app") // coalesced with the first
	select {
	case <-app:
	default:
		t.Fatal("Wake(app) did not signal app's subscriber")
	}
	select {
	case <-app:
		t.Fatal("two wakes were not coalesced into one signal")
	case <-billing:
		t.Fatal("Wake(app) signalled billing")
	default:
	}
	w.WakeAll()
	select {
	case <-billing:
	default:
		t.Fatal("WakeAll did not signal billing")
	}
	cancel()
	if _, ok := <-app; ok {
		// a pending WakeAll signal may come first; the channel must close next
		if _, ok := <-app; ok {
			t.Fatal("the subscription outlived its context")
		}
	}
}

func TestIDFloor(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 8e6, time.UTC)
	floor := hookwatch.IDFloor("evt", at)
	for range 100 {
		if id := hookwatch.NewID("evt", at); id < floor {
			t.Fatalf("NewID %s sorts below IDFloor %s of the same millisecond", id, floor)
		}
		if id := hookwatch.NewID("evt", at.Add(-time.Millisecond)); id >= floor {
			t.Fatalf("NewID %s of the millisecond before sorts at or above IDFloor %s", id, floor)
		}
	}
}
