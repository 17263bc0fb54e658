package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

func recordFailures(t *testing.T, s hookwatch.Store, fs ...hookwatch.Failure) []hookwatch.IssueChange {
	t.Helper()
	ch, err := s.RecordFailures(context.Background(), fs)
	if err != nil {
		t.Fatalf("RecordFailures: %v", err)
	}
	if len(ch) != len(fs) {
		t.Fatalf("RecordFailures returned %d changes for %d failures", len(ch), len(fs))
	}
	return ch
}

func failure(dest, class, eventID string, at time.Time) hookwatch.Failure {
	return hookwatch.Failure{Kind: hookwatch.FailureAttempt, Source: "stripe", Destination: dest, Class: class,
		EventID: eventID, DeliveryID: "dlv_" + eventID, At: at, Message: "HTTP 500"}
}

func testIssues(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("Grouping", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ch := recordFailures(t, s,
			failure("app", "server_error", "evt_1", base),
			failure("app", "server_error", "evt_1", base.Add(time.Second)), // a retry of the same event
			failure("app", "server_error", "evt_2", base.Add(2*time.Second)),
			failure("app", "timeout_error", "evt_3", base.Add(3*time.Second)),
			failure("crm", "server_error", "evt_1", base.Add(4*time.Second)),
		)
		if !ch[0].New || ch[1].New || ch[2].New || !ch[3].New || !ch[4].New {
			t.Errorf("New flags = %v %v %v %v %v, want true false false true true", ch[0].New, ch[1].New, ch[2].New, ch[3].New, ch[4].New)
		}
		if ch[0].Issue.ID != ch[2].Issue.ID || ch[0].Issue.ID == ch[3].Issue.ID || ch[0].Issue.ID == ch[4].Issue.ID {
			t.Errorf("grouping by (source, destination, class) is wrong: %s %s %s %s", ch[0].Issue.ID, ch[2].Issue.ID, ch[3].Issue.ID, ch[4].Issue.ID)
		}
		dead := failure("app", "server_error", "evt_2", base.Add(5*time.Second))
		dead.Kind, dead.Message = hookwatch.FailureDeadLetter, "gave up after 3 attempts"
		recordFailures(t, s, dead)
		i, err := s.GetIssue(ctx, ch[0].Issue.ID)
		if err != nil {
			t.Fatal(err)
		}
		if i.Count != 4 || i.Events != 2 || i.DeadLetters != 1 {
			t.Errorf("count, events, dead letters = %d, %d, %d; want 4, 2, 1", i.Count, i.Events, i.DeadLetters)
		}
		if !i.FirstSeen.Equal(base) || !i.LastSeen.Equal(base.Add(5*time.Second)) {
			t.Errorf("first/last seen = %v/%v", i.FirstSeen, i.LastSeen)
		}
		if i.Status != hookwatch.IssueOpen || i.Priority != hookwatch.PriorityMedium || i.Kind != hookwatch.FailureDeadLetter ||
			i.LastMessage != "gave up after 3 attempts" || i.LastEventID != "evt_2" || i.Source != "stripe" || i.Destination != "app" {
			t.Errorf("issue = %+v", i)
		}
		list, err := s.ListIssues(ctx, hookwatch.IssueFilter{Destination: "app"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != i.ID {
			t.Errorf("ListIssues(destination app) = %d issues, first %v; want 2, most recently seen first", len(list), list)
		}
		list, _ = s.ListIssues(ctx, hookwatch.IssueFilter{Class: "timeout_error"})
		if len(list) != 1 || list[0].ID != ch[3].Issue.ID {
			t.Errorf("ListIssues(class) = %v", list)
		}
		if _, err := s.GetIssue(ctx, "iss_nope"); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("GetIssue(unknown) = %v, want not_found", err)
		}

		// The issue's own failures, newest first: what happened to which
		// event and delivery, and when.
		fs, err := s.IssueFailures(ctx, i.ID, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 3 || fs[0].Kind != hookwatch.FailureDeadLetter || fs[0].EventID != "evt_2" || fs[0].DeliveryID != "dlv_evt_2" ||
			fs[0].Message != "gave up after 3 attempts" || !fs[0].At.Equal(base.Add(5*time.Second)) ||
			fs[1].EventID != "evt_2" || fs[2].EventID != "evt_1" || !fs[2].At.Equal(base.Add(time.Second)) {
			t.Errorf("IssueFailures(limit 3) = %+v", fs)
		}
		for _, f := range fs {
			if f.Destination != "app" || f.Class != "server_error" {
				t.Errorf("failure of another issue returned: %+v", f)
			}
		}
		if fs, err := s.IssueFailures(ctx, "iss_nope", 10); err != nil || len(fs) != 0 {
			t.Errorf("IssueFailures(unknown) = %v, %v; want none", fs, err)
		}
	})

	t.Run("TestEventsApart", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		prod := failure("app", "server_error", "evt_1", base)
		test := failure("app", "server_error", "evt_2", base)
		test.Test = true
		ch := recordFailures(t, s, prod, test)
		if ch[0].Issue.ID == ch[1].Issue.ID || !ch[1].Issue.Test || ch[0].Issue.Test {
			t.Fatalf("test failures must be grouped apart: %+v %+v", ch[0].Issue, ch[1].Issue)
		}
		no := false
		list, _ := s.ListIssues(ctx, hookwatch.IssueFilter{Test: &no})
		if len(list) != 1 || list[0].ID != ch[0].Issue.ID {
			t.Errorf("ListIssues(production) = %v", list)
		}
		counts, err := s.CountFailures(ctx, base, base.Add(time.Minute), false)
		if err != nil {
			t.Fatal(err)
		}
		if len(counts) != 1 || counts[0].Count != 1 {
			t.Errorf("CountFailures(production) = %+v, want one failure", counts)
		}
		counts, _ = s.CountFailures(ctx, base, base.Add(time.Minute), true)
		if len(counts) != 1 || counts[0].Count != 2 {
			t.Errorf("CountFailures(with test) = %+v, want 2 failures", counts)
		}
	})

	t.Run("RegressionAndWorkflow", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		id := recordFailures(t, s, failure("app", "server_error", "evt_1", base))[0].Issue.ID
		i, err := s.UpdateIssue(ctx, id, hookwatch.IssueUpdate{Status: hookwatch.IssueResolved, Priority: hookwatch.PriorityHigh,
			Comment: "fixed the handler", Actor: "cli:alice", Now: base.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if i.Status != hookwatch.IssueResolved || i.Priority != hookwatch.PriorityHigh || !i.ResolvedAt.Equal(base.Add(time.Minute)) {
			t.Errorf("after update: %+v", i)
		}
		if len(i.Comments) != 3 || i.Comments[2].Body != "fixed the handler" || i.Comments[0].Author != "cli:alice" {
			t.Errorf("comments = %v, want status change, priority change, comment", i.Comments)
		}
		ch := recordFailures(t, s, failure("app", "server_error", "evt_9", base.Add(time.Hour)))
		if !ch[0].Regressed || ch[0].New || ch[0].Issue.ID != id {
			t.Fatalf("change = %+v, want a regression of %s", ch[0], id)
		}
		i, _ = s.GetIssue(ctx, id)
		if i.Status != hookwatch.IssueOpen || !i.Regression || !i.RegressedAt.Equal(base.Add(time.Hour)) || i.Priority != hookwatch.PriorityHigh {
			t.Errorf("after regression: %+v", i)
		}
		if _, err := s.UpdateIssue(ctx, id, hookwatch.IssueUpdate{Status: hookwatch.IssueIgnored, Now: base.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		ch = recordFailures(t, s, failure("app", "server_error", "evt_10", base.Add(3*time.Hour)))
		if ch[0].Regressed || ch[0].Issue.Status != hookwatch.IssueIgnored {
			t.Errorf("an ignored issue stays ignored: %+v", ch[0].Issue)
		}
		for _, u := range []hookwatch.IssueUpdate{{Status: "closed"}, {Priority: "urgent"}, {}} {
			if _, err := s.UpdateIssue(ctx, id, u); hookwatch.ErrorCode(err) != hookwatch.EINVALID {
				t.Errorf("UpdateIssue(%+v) = %v, want invalid", u, err)
			}
		}
		if _, err := s.UpdateIssue(ctx, "iss_nope", hookwatch.IssueUpdate{Comment: "x", Now: base}); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("UpdateIssue(unknown) = %v, want not_found", err)
		}
	})

	t.Run("PruneFailures", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		total := func(since time.Time) int {
			t.Helper()
			counts, err := s.CountFailures(ctx, since, base.Add(24*time.Hour), true)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, c := range counts {
				n += c.Count
			}
			return n
		}
		prune := func(before time.Time, keep, want int) {
			t.Helper()
			n, err := s.PruneFailures(ctx, before, keep)
			if err != nil || n != want {
				t.Fatalf("PruneFailures(%v, %d) = %d, %v; want %d deleted", before, keep, n, err, want)
			}
		}
		// 5 old failures of evt_old, then 3 recent ones (one a test event's).
		var fs []hookwatch.Failure
		for i := range 5 {
			fs = append(fs, failure("app", "server_error", "evt_old", base.Add(time.Duration(i)*time.Second)))
		}
		for i := range 3 {
			f := failure("app", "server_error", "evt_new", base.Add(time.Hour+time.Duration(i)*time.Second))
			f.Test = i == 2
			fs = append(fs, f)
		}
		id := recordFailures(t, s, fs...)[0].Issue.ID
		prune(time.Time{}, 0, 0) // no bounds: nothing to do
		prune(base.Add(30*time.Minute), 0, 5)
		if n := total(base); n != 3 {
			t.Errorf("after the age bound %d failures remain, want 3", n)
		}
		prune(time.Time{}, 10, 0) // fewer than the count bound
		prune(time.Time{}, 2, 1)  // keeps the 2 most recently recorded
		if n := total(base.Add(time.Hour + time.Second)); n != 2 {
			t.Errorf("after the count bound the 2 most recent should remain, found %d", n)
		}
		// Issues keep their figures; only the rows behind window counts go.
		i, err := s.GetIssue(ctx, id)
		if err != nil || i.Count != 7 || i.Events != 2 {
			t.Fatalf("issue after pruning = %+v, %v; want count 7 and 2 events", i, err)
		}
		// evt_old's failures are gone: failing again counts it afresh.
		ch := recordFailures(t, s, failure("app", "server_error", "evt_old", base.Add(2*time.Hour)))
		if ch[0].Issue.Count != 8 || ch[0].Issue.Events != 3 {
			t.Errorf("after pruning, a failure of a pruned event: %+v", ch[0].Issue)
		}
		// Both bounds at once, over more than one delete batch.
		fs = fs[:0]
		for i := range 1200 { // more than one delete batch (1000)
			fs = append(fs, failure("crm", "timeout_error", "evt_bulk", base.Add(3*time.Hour+time.Duration(i)*time.Millisecond)))
		}
		recordFailures(t, s, fs...)
		prune(base.Add(90*time.Minute), 100, 2+1+1100)
		if n := total(base); n != 100 {
			t.Errorf("%d failures remain, want 100", n)
		}
	})

	t.Run("Signature", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		f := hookwatch.Failure{Kind: hookwatch.FailureSignature, Source: "github", Class: "bad_signature", At: base, Message: "no signature matched"}
		ch := recordFailures(t, s, f, f)
		if ch[0].Issue.ID != ch[1].Issue.ID || ch[1].Issue.Count != 2 || ch[1].Issue.Events != 0 {
			t.Errorf("signature failures: %+v", ch[1].Issue)
		}
	})
}

func testAlerts(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("StatesAndOutbox", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		st := hookwatch.AlertState{Rule: "error-rate", Subject: "destination:app", Status: hookwatch.AlertFiring, Since: base,
			NotifiedAt: base.Add(time.Minute), Value: 0.25, Summary: "error rate 25%", UpdatedAt: base.Add(time.Minute),
			IssueID: "iss_1", HeldBack: "silenced: sil_1 by cli:alice", HeldUntil: base.Add(7 * time.Minute)}
		details := &hookwatch.AlertDetails{Headline: "app: error rate over 5%", Destination: "app", URL: "https://app.example.com/hooks?key=…",
			LastStatus: 500, LastError: "database is down", Backlog: 12, OldestWaiting: 300, Since: base, Sources: []string{"github", "stripe"},
			EventTypes: []string{"invoice.paid"}, NextStep: "Fix app", Command: "hookwatch replay --destination app --status dead --since 10m"}
		n := &hookwatch.Notification{ID: hookwatch.NewID("ntf", base), Channel: "ops", Rule: st.Rule, Subject: st.Subject,
			Kind: hookwatch.NotifyFiring, Summary: st.Summary, Value: 0.25, Threshold: 0.05, IssueID: "iss_1", Details: details, CreatedAt: base.Add(time.Minute)}
		if err := s.SaveAlerts(ctx, []hookwatch.AlertState{st}, []*hookwatch.Notification{n}); err != nil {
			t.Fatal(err)
		}
		states, err := s.AlertStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(states) != 1 || states[0] != st {
			t.Errorf("AlertStates = %+v, want %+v", states, st)
		}
		st.Status, st.Since = hookwatch.AlertOK, time.Time{}
		if err := s.SaveAlerts(ctx, []hookwatch.AlertState{st}, nil); err != nil {
			t.Fatal(err)
		}
		if states, _ = s.AlertStates(ctx); len(states) != 1 || states[0] != st {
			t.Errorf("after replace: %+v", states)
		}
		q, err := s.QueuedNotifications(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(q) != 1 || q[0].ID != n.ID || q[0].Status != hookwatch.NotificationQueued || q[0].IssueID != "iss_1" || !q[0].CreatedAt.Equal(n.CreatedAt) {
			t.Fatalf("QueuedNotifications = %+v", q)
		}
		if got := q[0].Details; got == nil || !reflect.DeepEqual(*got, *details) {
			t.Errorf("details = %+v, want %+v", got, details)
		}
		q[0].Status, q[0].Attempts, q[0].SentAt = hookwatch.NotificationSent, 2, base.Add(2*time.Minute)
		test := &hookwatch.Notification{ID: hookwatch.NewID("ntf", base.Add(time.Hour)), Channel: "mail", Rule: "test", Kind: hookwatch.NotifyTest,
			Status: hookwatch.NotificationFailed, Attempts: 3, Error: "dial tcp: refused", CreatedAt: base.Add(time.Hour)}
		if err := s.RecordNotifications(ctx, []*hookwatch.Notification{q[0], test}); err != nil {
			t.Fatal(err)
		}
		if q, _ = s.QueuedNotifications(ctx); len(q) != 0 {
			t.Errorf("outbox after sending = %v", q)
		}
		hist, err := s.ListNotifications(ctx, hookwatch.NotificationFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 2 || hist[0].ID != test.ID || hist[1].Status != hookwatch.NotificationSent || hist[1].Attempts != 2 ||
			!hist[1].SentAt.Equal(base.Add(2*time.Minute)) || hist[0].Error != "dial tcp: refused" {
			t.Errorf("history = %+v %+v", hist[0], hist[len(hist)-1])
		}
		if hist, _ = s.ListNotifications(ctx, hookwatch.NotificationFilter{Channel: "ops"}); len(hist) != 1 {
			t.Errorf("history of ops = %v", hist)
		}
		if hist, _ = s.ListNotifications(ctx, hookwatch.NotificationFilter{Subject: "destination:app"}); len(hist) != 1 || hist[0].ID != n.ID {
			t.Errorf("history of destination:app = %v", hist)
		}
	})

	t.Run("HeldBackOnlyRecorded", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		// An inhibited and a silenced notification are history, never
		// in the outbox.
		var ns []*hookwatch.Notification
		for i, status := range []hookwatch.NotificationStatus{hookwatch.NotificationInhibited, hookwatch.NotificationSilenced} {
			ns = append(ns, &hookwatch.Notification{ID: hookwatch.NewID("ntf", base.Add(time.Duration(i)*time.Second)), Channel: "ops", Rule: "failures-5m",
				Subject: "destination:app", Kind: hookwatch.NotifyFiring, Status: status, CreatedAt: base.Add(time.Duration(i) * time.Second),
				Details: &hookwatch.AlertDetails{HeldBack: "inhibited: circuit of app is open"}})
		}
		if err := s.SaveAlerts(ctx, nil, ns); err != nil {
			t.Fatal(err)
		}
		if q, err := s.QueuedNotifications(ctx); err != nil || len(q) != 0 {
			t.Errorf("outbox = %v, %v; want nothing to send", q, err)
		}
		hist, err := s.ListNotifications(ctx, hookwatch.NotificationFilter{})
		if err != nil || len(hist) != 2 || hist[0].Status != hookwatch.NotificationSilenced || hist[1].Status != hookwatch.NotificationInhibited ||
			hist[1].Details == nil || hist[1].Details.HeldBack != "inhibited: circuit of app is open" {
			t.Errorf("history = %+v, %v", hist, err)
		}
		if hist, _ := s.ListNotifications(ctx, hookwatch.NotificationFilter{Status: hookwatch.NotificationInhibited}); len(hist) != 1 {
			t.Errorf("inhibited history = %v", hist)
		}
	})

	t.Run("Silences", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mk := func(rule, subject string, at time.Time, d time.Duration) *hookwatch.Silence {
			return &hookwatch.Silence{ID: hookwatch.NewID("sil", at), Rule: rule, Subject: subject, Comment: "deploying", CreatedBy: "cli:alice",
				CreatedAt: at, ExpiresAt: at.Add(d)}
		}
		a := mk("error-rate", "destination:app", base, 2*time.Hour)
		b := mk("dead-letter", "", base.Add(time.Second), time.Hour)
		for _, si := range []*hookwatch.Silence{a, b} {
			if err := s.AddSilence(ctx, si); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ListSilences(ctx, base)
		if err != nil || len(got) != 2 || got[0].ID != b.ID || !reflect.DeepEqual(got[1], a) {
			t.Fatalf("ListSilences = %+v, %v; want b (soonest to expire) then a as stored", got, err)
		}
		if got, _ = s.ListSilences(ctx, base.Add(90*time.Minute)); len(got) != 1 || got[0].ID != a.ID {
			t.Errorf("silences still active after 90m = %+v, want a", got)
		}
		wantCode(t, "a silence added twice", s.AddSilence(ctx, a), hookwatch.ECONFLICT)
		wantCode(t, "a silence without rule", s.AddSilence(ctx, mk("", "", base, time.Hour)), hookwatch.EINVALID)
		wantCode(t, "a silence already expired", s.AddSilence(ctx, mk("error-rate", "", base, 0)), hookwatch.EINVALID)
		wantCode(t, "a silence of 31 days", s.AddSilence(ctx, mk("error-rate", "", base, 31*24*time.Hour)), hookwatch.EINVALID)
		wantCode(t, "a silence of a bad subject", s.AddSilence(ctx, mk("error-rate", "app", base, time.Hour)), hookwatch.EINVALID)

		removed, err := s.RemoveSilence(ctx, b.ID)
		if err != nil || removed.ID != b.ID || removed.Rule != "dead-letter" {
			t.Fatalf("RemoveSilence = %+v, %v", removed, err)
		}
		_, err = s.RemoveSilence(ctx, b.ID)
		wantCode(t, "removing a removed silence", err, hookwatch.ENOTFOUND)

		// Adding a silence forgets those expired long before.
		later := base.Add(2*time.Hour + hookwatch.SilenceRetention + time.Minute)
		if err := s.AddSilence(ctx, mk("failures-5m", "", later, time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.ListSilences(ctx, time.Time{}); len(got) != 1 || got[0].Rule != "failures-5m" {
			t.Errorf("all silences kept = %+v, want only the new one", got)
		}
	})

	t.Run("Lease", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		acquire := func(owner string, at time.Time) bool {
			ok, err := s.AcquireLease(ctx, "alerts", owner, at, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !acquire("a", base) || acquire("b", base.Add(30*time.Second)) || !acquire("a", base.Add(50*time.Second)) {
			t.Fatal("a takes and renews the lease; b cannot take it")
		}
		if !acquire("b", base.Add(111*time.Second)) || acquire("a", base.Add(112*time.Second)) {
			t.Fatal("b takes the expired lease")
		}
		if err := s.ReleaseLease(ctx, "alerts", "b"); err != nil {
			t.Fatal(err)
		}
		if !acquire("a", base.Add(113*time.Second)) {
			t.Fatal("a takes the released lease")
		}
	})
}
