package main

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/alert"
	"github.com/hookwatch/hookwatch/postgres"
	"github.com/hookwatch/hookwatch/postgres/pgtest"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

// keepMessages is a notifier that keeps what it is sent.
type keepMessages struct {
	mu   sync.Mutex
	msgs []alert.Message
}

func (k *keepMessages) Notify(_ context.Context, m alert.Message) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.msgs = append(k.msgs, m)
	return nil
}

func (k *keepMessages) take() []alert.Message {
	k.mu.Lock()
	defer k.mu.Unlock()
	m := k.msgs
	k.msgs = nil
	return m
}

type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time { return c.t }

// TestStoreCopyMovesAlertState: a SQLite installation with a firing
// dead-letter alert (sent, linked to its issue) and a silence is copied to
// PostgreSQL. An evaluator starting on the copy sends nothing again, and
// when the alert clears its resolved notification names the issue, which
// the copy has, with its comments and failures.
func TestStoreCopyMovesAlertState(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "hw.db")
	src, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	e := storetest.NewEvent("stripe", "evt_dead", now)
	e.Destinations = []string{"app"}
	if _, err := src.InsertEvents(ctx, []*hookwatch.Event{e}); err != nil {
		t.Fatal(err)
	}
	ds, err := src.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "w", Now: now, Lease: time.Minute, Limit: 1})
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %v %v", ds, err)
	}
	a := hookwatch.Attempt{DeliveryID: ds[0].ID, Owner: "w", At: now, Class: hookwatch.ClassServer, StatusCode: 500, Error: "HTTP 500", Response: []byte("db down")}
	if _, err := src.FinishDeliveries(ctx, []hookwatch.Finish{{Owner: "w", Outcome: hookwatch.OutcomeDead, Attempt: a}}); err != nil {
		t.Fatal(err)
	}
	changes, err := src.RecordFailures(ctx, []hookwatch.Failure{{Kind: hookwatch.FailureDeadLetter, Source: "stripe", Destination: "app",
		Class: "server_error", EventID: e.ID, DeliveryID: ds[0].ID, At: now, Message: "HTTP 500"}})
	if err != nil {
		t.Fatal(err)
	}
	issueID := changes[0].Issue.ID
	if _, err := src.UpdateIssue(ctx, issueID, hookwatch.IssueUpdate{Comment: "looking", Actor: "cli:alice", Now: now}); err != nil {
		t.Fatal(err)
	}
	rule := alert.Rule{Name: "dead-letter", Kind: hookwatch.AlertDeadLetters, Per: "destination", Window: 5 * time.Minute,
		Cooldown: 30 * time.Minute}
	evaluator := func(s hookwatch.Store, c *stepClock, n alert.Notifier) *alert.Evaluator {
		return alert.New(alert.Options{Store: s, Rules: []alert.Rule{rule}, Channels: map[string]alert.Notifier{"ops": n}, Clock: c,
			Interval: 30 * time.Second, BaseURL: "https://hookwatch.example.com", Owner: "old",
			Sleep: func(context.Context, time.Duration) error { return nil }})
	}
	// The old installation fires and sends.
	before := &keepMessages{}
	c := &stepClock{now.Add(time.Second)}
	if err := evaluator(src, c, before).Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := before.take(); len(got) != 1 || got[0].Items[0].IssueID != issueID {
		t.Fatalf("the old installation sent %+v, want the firing with issue %s", got, issueID)
	}
	si := &hookwatch.Silence{ID: hookwatch.NewID("sil", now), Rule: "backlog-age", Comment: "drain", CreatedBy: "cli:alice", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := src.AddSilence(ctx, si); err != nil {
		t.Fatal(err)
	}
	src.Close()

	out, stderr, err := run(t, nil, "store", "copy", "--from", "sqlite:"+dbPath, "--to", url)
	if err != nil {
		t.Fatalf("store copy: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "1 of 1 issues, 1 alert states, 1 notifications, 1 silences") {
		t.Errorf("store copy said:\n%s", out)
	}
	dst, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	i, err := dst.GetIssue(ctx, issueID)
	if err != nil || i.DeadLetters != 1 || len(i.Comments) != 1 || i.Comments[0].Body != "looking" {
		t.Fatalf("issue after copy: %+v, %v", i, err)
	}
	if fs, err := dst.IssueFailures(ctx, issueID, 10); err != nil || len(fs) != 1 || fs[0].DeliveryID != ds[0].ID {
		t.Errorf("issue failures after copy: %+v, %v", fs, err)
	}
	if ss, err := dst.ListSilences(ctx, now); err != nil || len(ss) != 1 || ss[0].ID != si.ID {
		t.Errorf("silences after copy: %+v, %v", ss, err)
	}

	// The new installation starts: it knows the alert was sent.
	after := &keepMessages{}
	c = &stepClock{now.Add(40 * time.Second)}
	ev := evaluator(dst, c, after)
	if err := ev.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := after.take(); len(got) != 0 {
		t.Fatalf("the copy re-sent %+v", got)
	}
	c.t = now.Add(6 * time.Minute)
	if err := ev.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	got := after.take()
	if len(got) != 1 || got[0].Items[0].Kind != hookwatch.NotifyResolved || got[0].Items[0].IssueID != issueID ||
		got[0].Items[0].IssueURL != "https://hookwatch.example.com/issues/"+issueID {
		t.Fatalf("after clearing, the copy sent %+v; want resolved with the copied issue", got)
	}

	// Run again: nothing is copied twice.
	out, stderr, err = run(t, nil, "store", "copy", "--from", "sqlite:"+dbPath, "--to", url)
	if err != nil {
		t.Fatalf("second store copy: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "0 of 1 issues") {
		t.Errorf("second store copy said:\n%s", out)
	}
	if fs, _ := dst.IssueFailures(ctx, issueID, 10); len(fs) != 1 {
		t.Errorf("failures after a second copy: %d, want 1", len(fs))
	}
	if states, _ := dst.AlertStates(ctx); len(states) != 1 || states[0].Status != hookwatch.AlertOK {
		t.Errorf("the second copy overwrote the copy's alert state: %+v", states)
	}
}
