package alert

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/storetest"
)

// fail stores an event of source and type routed to dest, received at
// recv, whose one attempt at at failed with an HTTP status and answer
// body; the delivery is retried (due again a second later) or dead. The
// failure is recorded into its issue, as the engine's recorder does. It
// returns the delivery's ID.
func fail(t *testing.T, s hookwatch.Store, source, typ, dest string, recv, at time.Time, status int, body string, o hookwatch.Outcome) string {
	t.Helper()
	ctx := context.Background()
	e := storetest.NewEvent(source, "", recv)
	e.Type, e.Destinations = typ, []string{dest}
	if _, err := s.InsertEvents(ctx, []*hookwatch.Event{e}); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: dest, Owner: "w", Now: at, Lease: time.Minute, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, d := range ds {
		if d.EventID != e.ID {
			s.ReleaseDeliveries(ctx, "w", []string{d.ID})
			continue
		}
		id = d.ID
		a := hookwatch.Attempt{DeliveryID: d.ID, Owner: "w", At: at, Class: hookwatch.ClassServer, StatusCode: status,
			Error: "HTTP " + itoa(status), Response: []byte(body)}
		if _, err := s.FinishDeliveries(ctx, []hookwatch.Finish{{Owner: "w", Outcome: o, NextAttemptAt: at.Add(time.Second), Attempt: a}}); err != nil {
			t.Fatal(err)
		}
		kind := hookwatch.FailureAttempt
		if o == hookwatch.OutcomeDead {
			kind = hookwatch.FailureDeadLetter
		}
		if _, err := s.RecordFailures(ctx, []hookwatch.Failure{{Kind: kind, Source: source, Destination: dest, Class: string(a.Class),
			EventID: e.ID, DeliveryID: d.ID, At: at, Message: a.Error}}); err != nil {
			t.Fatal(err)
		}
	}
	if id == "" {
		t.Fatalf("the delivery of %s to %s was not claimed", e.ID, dest)
	}
	return id
}

// drain delivers every due delivery of dest successfully at at.
func drain(t *testing.T, s hookwatch.Store, dest string, at time.Time) int {
	t.Helper()
	ctx := context.Background()
	ds, err := s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: dest, Owner: "w", Now: at, Lease: time.Minute, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var fs []hookwatch.Finish
	for _, d := range ds {
		fs = append(fs, hookwatch.Finish{Owner: "w", Outcome: hookwatch.OutcomeSucceeded,
			Attempt: hookwatch.Attempt{DeliveryID: d.ID, Owner: "w", At: at, StatusCode: 200}})
	}
	if _, err := s.FinishDeliveries(ctx, fs); err != nil {
		t.Fatal(err)
	}
	return len(ds)
}

func setCircuit(t *testing.T, s hookwatch.Store, dest string, c hookwatch.CircuitState, at time.Time) {
	t.Helper()
	if err := s.SetCircuit(context.Background(), hookwatch.DestinationState{Name: dest, Circuit: c, Failures: 5, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
}

// defaults returns the default rules as config loading fills them.
// (cmd/hookwatch's wire.go translates them the same way; its tests check
// that translation field by field).
func defaults(t *testing.T) []Rule {
	var rules []Rule
	for _, r := range config.DefaultAlertRules() {
		rules = append(rules, Rule{Name: r.Name, Kind: hookwatch.AlertKind(r.Kind), Source: r.Source, Destination: r.Destination,
			Per: r.Per, Threshold: r.Threshold, Window: r.Window.D(), MinVolume: r.MinVolume, Percentile: r.Percentile,
			Latency: r.Latency.D(), Age: r.Age.D(), Size: int64(r.Size), Objective: r.Objective, Within: r.Within.D(), LongWindow: r.LongWindow.D(),
			ShortWindow: r.ShortWindow.D(), BurnRate: r.BurnRate, For: r.For.D(), Cooldown: r.Cooldown.D(),
			SkipResolved: !r.Resolved(), Channels: r.Channels})
	}
	return applyDefaults(rules)
}

// sent lists what the notifier got as "kind rule subject", in order.
func sent(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		for _, it := range m.Items {
			out = append(out, string(it.Kind)+" "+it.Rule+" "+it.Subject)
		}
	}
	return out
}

func history(t *testing.T, s hookwatch.Store, f hookwatch.NotificationFilter) []*hookwatch.Notification {
	t.Helper()
	f.Limit = 1000
	hist, err := s.ListNotifications(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return hist
}

// TestOneOutageOnePage: a destination's outage (failures, dead letters,
// its circuit open, a growing backlog, then a slow drain once it is back)
// pages once with the circuit alert and once when it clears. Every other
// rule on it is held back, and says so in the history, during the outage
// and its tail.
func TestOneOutageOnePage(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	c := &clock{}
	n := &recorder{}
	e := newEvaluator(s, c, n, defaults(t)...)
	ctx := context.Background()
	// The store stamps deliveries with the real time (the backlog's age
	// counts from it): the test's clock starts now.
	t0 := time.Now().UTC().Truncate(time.Second)

	// The app answers 500: 30 failed attempts, 3 dead letters, from two
	// sources, and its circuit opens.
	for i := range 30 {
		src, typ := "stripe", "invoice.paid"
		if i%3 == 0 {
			src, typ = "github", "push"
		}
		at := t0.Add(time.Duration(i) * time.Second)
		fail(t, s, src, typ, "app", at, at, 500, "Internal Server Error\ntrace...", hookwatch.OutcomeRetry)
	}
	for i := range 3 {
		at := t0.Add(time.Duration(40+i) * time.Second)
		fail(t, s, "stripe", "invoice.paid", "app", at, at, 500, "Internal Server Error", hookwatch.OutcomeDead)
	}
	setCircuit(t, s, "app", hookwatch.CircuitOpen, t0.Add(45*time.Second))

	// Twenty minutes of outage, ticking every 30s: the backlog grows old,
	// error rate and SLO burn hold for their `for`.
	at := t0.Add(time.Minute)
	for ; at.Before(t0.Add(20 * time.Minute)); at = at.Add(30 * time.Second) {
		tick(t, e, c, at)
	}
	if got := sent(n.take()); strings.Join(got, "|") != "firing circuit-open destination:app" {
		t.Fatalf("during the outage the channel got %q, want only the circuit-open page", got)
	}
	// The others fired, held back, each recorded once as inhibited.
	held := map[string]int{}
	for _, h := range history(t, s, hookwatch.NotificationFilter{Status: hookwatch.NotificationInhibited}) {
		held[h.Rule+" "+h.Subject]++
		if h.Details == nil || !strings.Contains(h.Details.HeldBack, "circuit of app is open") || h.Kind != hookwatch.NotifyFiring {
			t.Errorf("inhibited record %+v: details %+v", h, h.Details)
		}
	}
	for _, want := range []string{"error-rate destination:app", "failures-5m destination:app", "failures-1h destination:app",
		"dead-letter destination:app", "backlog-age destination:app", "delivery-slo all"} {
		if held[want] != 1 {
			t.Errorf("%s recorded %d times as inhibited, want once (all: %v)", want, held[want], held)
		}
	}
	states, _ := s.AlertStates(ctx)
	for _, st := range states {
		if st.Rule == "backlog-age" && (st.Status != hookwatch.AlertFiring || !strings.HasPrefix(st.HeldBack, "inhibited: circuit of app")) {
			t.Errorf("backlog-age state = %+v, want firing and held back", st)
		}
	}

	// The app is back: the circuit closes, and the backlog drains over
	// three minutes, old events delivered late (p95 far over 5s).
	closed := at.Add(5 * time.Second)
	setCircuit(t, s, "app", hookwatch.CircuitClosed, closed)
	at = at.Add(30 * time.Second)
	tick(t, e, c, at)
	if got := sent(n.take()); strings.Join(got, "|") != "resolved circuit-open destination:app" {
		t.Fatalf("after the circuit closed: %q, want the circuit-open resolved", got)
	}
	if d := history(t, s, hookwatch.NotificationFilter{Rule: "circuit-open", Status: hookwatch.NotificationSent})[0].Details; d == nil ||
		d.Lasted < 19*60 || !strings.Contains(d.Cleared, "circuit of app is closed") {
		t.Errorf("resolved details = %+v, want how long it lasted and what cleared it", d)
	}
	pending := 0
	for _, b := range mustBacklogs(t, s) {
		pending += b.Pending
	}
	// The drain: a third of the backlog per minute.
	for i := 0; pending > 0; i++ {
		at = at.Add(time.Minute)
		ds, err := s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "w", Now: at, Lease: time.Minute, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var fs []hookwatch.Finish
		for _, d := range ds {
			fs = append(fs, hookwatch.Finish{Owner: "w", Outcome: hookwatch.OutcomeSucceeded, Attempt: hookwatch.Attempt{DeliveryID: d.ID, Owner: "w", At: at, StatusCode: 200}})
		}
		if _, err := s.FinishDeliveries(ctx, fs); err != nil {
			t.Fatal(err)
		}
		pending -= len(ds)
		tick(t, e, c, at)
		tick(t, e, c, at.Add(30*time.Second))
	}
	// Then an hour and more of quiet, until every window has forgotten it.
	for end := at.Add(70 * time.Minute); at.Before(end); at = at.Add(30 * time.Second) {
		tick(t, e, c, at)
	}
	if got := sent(n.take()); len(got) != 0 {
		t.Fatalf("after recovery the channel got %q, want nothing: the drain is the outage's tail", got)
	}
	var slow bool
	for _, h := range history(t, s, hookwatch.NotificationFilter{Rule: "slow-processing"}) {
		slow = slow || (h.Status == hookwatch.NotificationInhibited && strings.Contains(h.Details.HeldBack, "delivering the backlog of its outage"))
	}
	if !slow {
		t.Errorf("slow-processing during the drain was not recorded as held back: %+v", history(t, s, hookwatch.NotificationFilter{Rule: "slow-processing"}))
	}
	states, _ = s.AlertStates(ctx)
	for _, st := range states {
		if st.Status != hookwatch.AlertOK && st.Subject == "destination:app" {
			t.Errorf("still %s after the outage: %+v", st.Status, st)
		}
	}

	// A new problem after the tail pages as usual.
	for i := range 12 {
		at := at.Add(time.Duration(i) * time.Second)
		fail(t, s, "stripe", "invoice.paid", "app", at, at, 500, "Internal Server Error", hookwatch.OutcomeRetry)
	}
	tick(t, e, c, at.Add(20*time.Second))
	if got := sent(n.take()); !strings.Contains(strings.Join(got, "|"), "firing failures-5m destination:app") {
		t.Errorf("a new problem after the outage: %q, want failures-5m to page", got)
	}
}

func mustBacklogs(t *testing.T, s hookwatch.Store) []hookwatch.Backlog {
	bl, err := s.Backlogs(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	return bl
}

// TestOtherDestinationStillPages: while app's circuit is open, crm failing
// is a page of its own, and so is the SLO of all traffic when crm alone
// burns it: only what the open circuit explains is held back.
func TestOtherDestinationStillPages(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	c := &clock{}
	n := &recorder{}
	e := newEvaluator(s, c, n, defaults(t)...)
	t0 := time.Now().UTC().Truncate(time.Second)
	for i := range 12 {
		at := t0.Add(time.Duration(i) * time.Second)
		fail(t, s, "stripe", "invoice.paid", "app", at, at, 500, "Internal Server Error", hookwatch.OutcomeRetry)
	}
	setCircuit(t, s, "app", hookwatch.CircuitOpen, t0.Add(15*time.Second))
	tick(t, e, c, t0.Add(20*time.Second))
	if got := sent(n.take()); strings.Join(got, "|") != "firing circuit-open destination:app" {
		t.Fatalf("app's outage: %q, want only its circuit-open page", got)
	}
	for i := range 12 {
		at := t0.Add(time.Duration(30+i) * time.Second)
		fail(t, s, "stripe", "invoice.paid", "crm", at, at, 502, "Bad Gateway", hookwatch.OutcomeRetry)
	}
	tick(t, e, c, t0.Add(50*time.Second))
	crm := sent(n.take())
	sort.Strings(crm)
	if got := strings.Join(crm, "|"); got != "firing failures-1h destination:crm|firing failures-5m destination:crm" {
		t.Errorf("crm failing during app's outage: %q, want crm's own pages", got)
	}
	// Much later both are still failing and late: the SLO of all traffic
	// burns without app too.
	for i := range 20 {
		at := t0.Add(8*time.Minute + time.Duration(i)*time.Second)
		fail(t, s, "stripe", "invoice.paid", "crm", at, at, 502, "Bad Gateway", hookwatch.OutcomeRetry)
	}
	tick(t, e, c, t0.Add(10*time.Minute))
	if got := strings.Join(sent(n.take()), "|"); !strings.Contains(got, "firing delivery-slo all") || strings.Contains(got, "destination:app") {
		t.Errorf("the SLO burnt by crm as well: %q, want delivery-slo to page and nothing about app", got)
	}
}

// TestBurnRateWhenTrafficStops: the app answers 500 and then nothing
// arrives any more. The short window judges no delivery, but the
// deliveries still waiting past the objective are undelivered: the SLO
// alert keeps firing until they are delivered, then resolves.
func TestBurnRateWhenTrafficStops(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	c := &clock{}
	n := &recorder{}
	e := newEvaluator(s, c, n, Rule{Name: "slo", Kind: hookwatch.AlertSLOBurn, Objective: 0.99, Within: d(time.Minute),
		LongWindow: d(time.Hour), ShortWindow: d(5 * time.Minute), BurnRate: 10})
	t0 := time.Now().UTC().Truncate(time.Second)
	// Ten minutes of traffic, every delivery failing and retried.
	for i := range 20 {
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		fail(t, s, "stripe", "invoice.paid", "app", at, at, 500, "Internal Server Error", hookwatch.OutcomeRetry)
	}
	tick(t, e, c, t0.Add(10*time.Minute))
	if got := sent(n.take()); strings.Join(got, "|") != "firing slo all" {
		t.Fatalf("while failing with traffic: %q, want the SLO to fire", got)
	}
	// Traffic stops; the app still fails every retry. Twenty minutes on,
	// the short window has nothing to judge.
	for at := t0.Add(10*time.Minute + 30*time.Second); at.Before(t0.Add(30 * time.Minute)); at = at.Add(30 * time.Second) {
		tick(t, e, c, at)
	}
	if got := sent(n.take()); len(got) != 0 {
		t.Fatalf("traffic stopped during the outage: %q, want the SLO alert to keep firing", got)
	}
	states, _ := s.AlertStates(context.Background())
	if len(states) != 1 || states[0].Status != hookwatch.AlertFiring || !strings.Contains(states[0].Summary, "counted as undelivered") {
		t.Fatalf("state = %+v, want firing, saying the waiting deliveries count", states)
	}
	// The app is back and the backlog delivered: resolved.
	drain(t, s, "app", t0.Add(30*time.Minute))
	tick(t, e, c, t0.Add(30*time.Minute+30*time.Second))
	if got := sent(n.take()); strings.Join(got, "|") != "resolved slo all" {
		t.Errorf("after the backlog was delivered: %q, want resolved", got)
	}
}

// TestSilences: a silence holds back a firing notification (recorded once
// as silenced, with who and why); removing it lets the alert, still
// firing, be sent at the next evaluation; a silence on another subject or
// an expired one holds nothing back.
func TestSilences(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	c := &clock{}
	n := &recorder{}
	ctx := context.Background()
	e := newEvaluator(s, c, n, Rule{Name: "dead-letter", Kind: hookwatch.AlertDeadLetters, Per: "destination", Window: d(5 * time.Minute)})
	t0 := time.Now().UTC().Truncate(time.Second)
	silence := func(subject string, from time.Time, d time.Duration) *hookwatch.Silence {
		si := &hookwatch.Silence{ID: hookwatch.NewID("sil", from), Rule: "dead-letter", Subject: subject, Comment: "deploying v2",
			CreatedBy: "cli:alice", CreatedAt: from, ExpiresAt: from.Add(d)}
		if err := s.AddSilence(ctx, si); err != nil {
			t.Fatal(err)
		}
		return si
	}
	si := silence("destination:app", t0, time.Hour)
	silence("destination:crm", t0, time.Hour)
	silence("destination:web", t0.Add(-2*time.Hour), time.Hour) // expired
	fail(t, s, "stripe", "invoice.paid", "app", t0, t0, 500, "Internal Server Error", hookwatch.OutcomeDead)
	fail(t, s, "stripe", "invoice.paid", "web", t0, t0, 500, "Internal Server Error", hookwatch.OutcomeDead)
	tick(t, e, c, t0.Add(time.Second))
	tick(t, e, c, t0.Add(31*time.Second))
	if got := strings.Join(sent(n.take()), "|"); got != "firing dead-letter destination:web" {
		t.Fatalf("with app silenced: %q, want only web's (its silence expired)", got)
	}
	held := history(t, s, hookwatch.NotificationFilter{Status: hookwatch.NotificationSilenced})
	if len(held) != 1 || held[0].Subject != "destination:app" || held[0].Details == nil ||
		!strings.Contains(held[0].Details.HeldBack, si.ID+" by cli:alice") || !strings.Contains(held[0].Details.HeldBack, "deploying v2") {
		t.Fatalf("silenced history = %+v, want app's recorded once with the silence, who and why", held)
	}
	if _, err := s.RemoveSilence(ctx, si.ID); err != nil {
		t.Fatal(err)
	}
	tick(t, e, c, t0.Add(61*time.Second))
	got := n.take()
	if strings.Join(sent(got), "|") != "firing dead-letter destination:app" {
		t.Fatalf("after unsilencing: %q, want app's alert sent now", sent(got))
	}
	if d := got[0].Items[0].Details; d == nil || d.HeldBack != "" || !d.Since.Equal(t0.Add(time.Second)) {
		t.Errorf("details = %+v, want no hold and the episode's start", d)
	}
}

// TestAlertNamesItsIssue: a dead-letter alert links to the issue of the
// dead letters that made it fire, not to the most recently seen issue of
// the destination, and its resolved notification names the same issue.
func TestAlertNamesItsIssue(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	c := &clock{}
	n := &recorder{}
	ctx := context.Background()
	e := newEvaluator(s, c, n, Rule{Name: "dead-letter", Kind: hookwatch.AlertDeadLetters, Per: "destination", Window: d(5 * time.Minute)})
	t0 := time.Now().UTC().Truncate(time.Second)
	fail(t, s, "github", "push", "app", t0, t0, 422, "Unprocessable Entity", hookwatch.OutcomeDead)
	// A Stripe event failing later (retried, not dead): a newer issue.
	fail(t, s, "stripe", "invoice.paid", "app", t0.Add(time.Second), t0.Add(time.Second), 500, "Internal Server Error", hookwatch.OutcomeRetry)
	issues, _ := s.ListIssues(ctx, hookwatch.IssueFilter{})
	ids := map[string]string{}
	for _, i := range issues {
		ids[i.Source] = i.ID
	}
	tick(t, e, c, t0.Add(2*time.Second))
	got := n.take()
	if len(got) != 1 || got[0].Items[0].Kind != hookwatch.NotifyFiring || got[0].Items[0].IssueID != ids["github"] {
		t.Fatalf("firing: %+v, want the GitHub issue %s (Stripe's is %s)", got, ids["github"], ids["stripe"])
	}
	if it := got[0].Items[0]; it.IssueURL != "https://hookwatch.example.com/issues/"+ids["github"] {
		t.Errorf("issue link = %q, want the dashboard's issue page", it.IssueURL)
	}
	// More Stripe failures, then the dead letter leaves the window.
	fail(t, s, "stripe", "invoice.paid", "app", t0.Add(4*time.Minute), t0.Add(4*time.Minute), 500, "Internal Server Error", hookwatch.OutcomeRetry)
	tick(t, e, c, t0.Add(6*time.Minute))
	got = n.take()
	if len(got) != 1 || got[0].Items[0].Kind != hookwatch.NotifyResolved || got[0].Items[0].IssueID != ids["github"] {
		t.Fatalf("resolved: %+v, want the same GitHub issue %s", got, ids["github"])
	}
}

// TestStartNeverResends: an evaluator starting on a store whose alert
// state is missing (a store copied by an older Hookwatch, say) but whose
// history says the alert's last notification was a firing one does not
// send it again, and still resolves it.
func TestStartNeverResends(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	c := &clock{}
	n := &recorder{}
	ctx := context.Background()
	rule := Rule{Name: "dead-letter", Kind: hookwatch.AlertDeadLetters, Per: "destination", Window: d(5 * time.Minute)}
	t0 := time.Now().UTC().Truncate(time.Second)
	fail(t, s, "stripe", "invoice.paid", "app", t0, t0, 500, "Internal Server Error", hookwatch.OutcomeDead)
	sentBefore := &hookwatch.Notification{ID: hookwatch.NewID("ntf", t0), Channel: "ops", Rule: "dead-letter", Subject: "destination:app",
		Kind: hookwatch.NotifyFiring, Summary: "1 dead letters over 5m", IssueID: "iss_old", Status: hookwatch.NotificationSent, Attempts: 1,
		CreatedAt: t0.Add(time.Second), SentAt: t0.Add(time.Second)}
	if err := s.RecordNotifications(ctx, []*hookwatch.Notification{sentBefore}); err != nil {
		t.Fatal(err)
	}
	e := newEvaluator(s, c, n, rule)
	tick(t, e, c, t0.Add(30*time.Second))
	if got := sent(n.take()); len(got) != 0 {
		t.Fatalf("a new evaluator re-sent %q", got)
	}
	tick(t, e, c, t0.Add(6*time.Minute))
	got := n.take()
	if strings.Join(sent(got), "|") != "resolved dead-letter destination:app" || got[0].Items[0].IssueID != "iss_old" {
		t.Errorf("after clearing: %+v, want resolved with the issue of the firing sent before", got)
	}
}
