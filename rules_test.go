package hookwatch_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// The rules both stores apply when they record a failure: the first opens
// an issue, later ones count into it, a dead letter counts as one, an
// event counts once, and the latest failure sets what the issue shows.
func TestRecordFailureCountsIntoIssue(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f := hookwatch.Failure{Kind: hookwatch.FailureAttempt, Source: "stripe", Destination: "app", Class: "http_5xx",
		EventID: "evt_1", DeliveryID: "dlv_1", At: t0, Message: "HTTP 500"}
	i := hookwatch.NewIssue(f)
	if !strings.HasPrefix(i.ID, "iss_") || i.Fingerprint != f.Fingerprint() || i.Status != hookwatch.IssueOpen ||
		i.Priority != hookwatch.PriorityMedium || i.Count != 0 || !i.FirstSeen.Equal(t0) {
		t.Fatalf("NewIssue = %+v", i)
	}
	c := hookwatch.RecordFailure(i, f, true, true)
	if !c.New || c.Regressed || c.Issue.Count != 1 || c.Issue.Events != 1 || c.Issue.DeadLetters != 0 ||
		c.Issue.LastMessage != "HTTP 500" || c.Issue.LastEventID != "evt_1" || !c.Issue.LastSeen.Equal(t0) {
		t.Fatalf("first failure: %+v %+v", c, c.Issue)
	}

	// The same event again, now dead-lettered: one more failure, no new
	// affected event.
	dead := f
	dead.Kind, dead.At, dead.Message = hookwatch.FailureDeadLetter, t0.Add(time.Minute), "gave up after 12 attempts"
	c = hookwatch.RecordFailure(i, dead, false, false)
	if c.New || c.Issue.Count != 2 || c.Issue.Events != 1 || c.Issue.DeadLetters != 1 || c.Issue.Kind != hookwatch.FailureDeadLetter ||
		c.Issue.LastMessage != dead.Message || !c.Issue.LastSeen.Equal(dead.At) || !c.Issue.UpdatedAt.Equal(dead.At) {
		t.Fatalf("dead letter: %+v", c.Issue)
	}

	// A failure recorded late (older than the last seen) counts but does
	// not move what the issue shows back in time.
	late := f
	late.EventID, late.At, late.Message = "evt_0", t0.Add(-time.Hour), "connection refused"
	c = hookwatch.RecordFailure(i, late, false, true)
	if c.Issue.Count != 3 || c.Issue.Events != 2 || !c.Issue.LastSeen.Equal(dead.At) || c.Issue.LastMessage != dead.Message ||
		c.Issue.LastEventID != "evt_1" {
		t.Fatalf("late failure: %+v", c.Issue)
	}

	// A failure without an event (a signature failure) never counts an
	// affected event, whatever the store says.
	sig := hookwatch.Failure{Kind: hookwatch.FailureSignature, Source: "stripe", Class: "bad_signature", At: t0.Add(2 * time.Minute)}
	c = hookwatch.RecordFailure(i, sig, false, true)
	if c.Issue.Events != 2 || c.Issue.Count != 4 {
		t.Fatalf("signature failure: %+v", c.Issue)
	}

	// The change holds a copy: what the store does to its issue next does
	// not rewrite a change already handed out.
	i.Count = 99
	if c.Issue.Count != 4 {
		t.Errorf("change aliases the store's issue")
	}
}

// A resolved issue opens again as a regression; acknowledged and ignored
// ones keep their status.
func TestRecordFailureRegression(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f := hookwatch.Failure{Kind: hookwatch.FailureAttempt, Source: "github", Destination: "ci", Class: "timeout", At: t0}
	for _, st := range []hookwatch.IssueStatus{hookwatch.IssueAcknowledged, hookwatch.IssueIgnored, hookwatch.IssueOpen} {
		i := hookwatch.NewIssue(f)
		i.Status = st
		if c := hookwatch.RecordFailure(i, f, false, false); c.Regressed || c.Issue.Status != st || c.Issue.Regression {
			t.Errorf("%s issue: %+v regressed=%v", st, c.Issue, c.Regressed)
		}
	}
	i := hookwatch.NewIssue(f)
	hookwatch.RecordFailure(i, f, true, false)
	i.Status, i.ResolvedAt = hookwatch.IssueResolved, t0.Add(time.Minute)
	again := f
	again.At = t0.Add(time.Hour)
	c := hookwatch.RecordFailure(i, again, false, false)
	if !c.Regressed || c.Issue.Status != hookwatch.IssueOpen || !c.Issue.Regression || !c.Issue.RegressedAt.Equal(again.At) {
		t.Errorf("resolved issue failing again: %+v regressed=%v", c.Issue, c.Regressed)
	}
}

// Messages are kept to MaxFailureMessage bytes.
func TestRecordFailureBoundsMessage(t *testing.T) {
	f := hookwatch.Failure{Kind: hookwatch.FailureAttempt, Source: "s", Destination: "d", Class: "http_4xx",
		At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Message: strings.Repeat("x", 2000)}
	c := hookwatch.RecordFailure(hookwatch.NewIssue(f), f, true, false)
	if len(c.Issue.LastMessage) != hookwatch.MaxFailureMessage {
		t.Errorf("LastMessage is %d bytes, want %d", len(c.Issue.LastMessage), hookwatch.MaxFailureMessage)
	}
}

// Claimed deliveries come oldest due first, ties by ID.
func TestSortDue(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ds := []*hookwatch.Delivery{
		{ID: "dlv_c", NextAttemptAt: t0.Add(time.Minute)},
		{ID: "dlv_b", NextAttemptAt: t0},
		{ID: "dlv_d", NextAttemptAt: t0.Add(-time.Hour)},
		{ID: "dlv_a", NextAttemptAt: t0},
	}
	hookwatch.SortDue(ds)
	var got []string
	for _, d := range ds {
		got = append(got, d.ID)
	}
	if want := []string{"dlv_d", "dlv_a", "dlv_b", "dlv_c"}; !slices.Equal(got, want) {
		t.Errorf("SortDue = %v, want %v", got, want)
	}
}

// rowScan is what a driver's Rows.Scan does with one row of values.
func rowScan(vals ...any) func(...any) error {
	return func(dest ...any) error {
		for i, d := range dest {
			switch p := d.(type) {
			case *string:
				*p = vals[i].(string)
			case *bool:
				*p = vals[i].(bool)
			case *int:
				*p = vals[i].(int)
			case *int64:
				*p = vals[i].(int64)
			}
		}
		return nil
	}
}

// The stores' grouped counts assemble into one row per (source,
// destination, test), in the order first met, with the latency histogram
// per bucket.
func TestTrafficRows(t *testing.T) {
	var rows hookwatch.TrafficRows
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rows.ScanAccepted(rowScan("stripe", false, 10)))
	must(rows.ScanAccepted(rowScan("stripe", true, 2)))
	// 8 delivered: 3 within the first bound, 5 within the second, 7
	// within every later one, so one was slower than every bound.
	cum := []any{"stripe", "app", false, 8, int64(8_000_000)}
	for i := range hookwatch.LatencyBuckets {
		switch i {
		case 0:
			cum = append(cum, 3)
		case 1:
			cum = append(cum, 5)
		default:
			cum = append(cum, 7)
		}
	}
	must(rows.ScanDelivered(rowScan(cum...)))
	must(rows.ScanFailed(rowScan("stripe", "app", false, "http_5xx", 4)))
	must(rows.ScanFailed(rowScan("stripe", "app", false, "timeout", 1)))
	must(rows.ScanDeadLetters(rowScan("stripe", "billing", false, 1)))
	must(rows.ScanSLO(rowScan("stripe", "app", false, 9, 7)))

	got := rows.List()
	if len(got) != 4 {
		t.Fatalf("%d rows, want 4: %+v", len(got), got)
	}
	if r := got[0]; r.Source != "stripe" || r.Destination != "" || r.Test || r.Accepted != 10 {
		t.Errorf("row 0 = %+v, want stripe's accepted", r)
	}
	if r := got[1]; !r.Test || r.Accepted != 2 {
		t.Errorf("row 1 = %+v, want stripe's test events apart", r)
	}
	app := got[2]
	if app.Destination != "app" || app.Delivered != 8 || app.LatencySum != 8*time.Second ||
		app.Failed["http_5xx"] != 4 || app.Failed["timeout"] != 1 || app.SLOTotal != 9 || app.SLOGood != 7 {
		t.Errorf("app row = %+v", app)
	}
	want := make([]int, len(hookwatch.LatencyBuckets)+1)
	want[0], want[1], want[2], want[len(want)-1] = 3, 2, 2, 1
	if !slices.Equal(app.Latency, want) {
		t.Errorf("Latency = %v, want %v", app.Latency, want)
	}
	if r := got[3]; r.Destination != "billing" || r.DeadLetters != 1 || r.Delivered != 0 {
		t.Errorf("billing row = %+v", r)
	}
}
