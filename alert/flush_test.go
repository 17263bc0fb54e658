package alert

import (
	"context"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// slowIssues makes the recorder's writes take a while, as a busy store's
// do, so that a read right after Record would miss the failure.
type slowIssues struct {
	hookwatch.Store
}

func (s slowIssues) RecordFailures(ctx context.Context, fs []hookwatch.Failure) ([]hookwatch.IssueChange, error) {
	time.Sleep(300 * time.Millisecond)
	return s.Store.RecordFailures(ctx, fs)
}

// TestRecorderFlush: after Flush, every failure recorded before it is in
// an issue, however slow the store's writes; Flush gives up with ctx.
func TestRecorderFlush(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	rec := NewRecorder(slowIssues{store}, nil)
	defer rec.Close()
	ctx := context.Background()
	rec.Record(hookwatch.Failure{Kind: hookwatch.FailureDeadLetter, Source: "stripe", Destination: "app", Class: "server_error",
		EventID: "evt_1", DeliveryID: "dlv_1", At: time.Now(), Message: "HTTP 500"})
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	is, err := store.ListIssues(ctx, hookwatch.IssueFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(is) != 1 || is[0].DeadLetters != 1 {
		t.Fatalf("issues right after Flush = %+v, want the dead letter's issue", is)
	}
	// A flush with nothing queued returns at once; one cut short by its
	// context says so.
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rec.Record(hookwatch.Failure{Kind: hookwatch.FailureDeadLetter, Source: "stripe", Destination: "app", Class: "server_error",
		EventID: "evt_2", DeliveryID: "dlv_2", At: time.Now(), Message: "HTTP 500"})
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := rec.Flush(short); err == nil {
		t.Error("Flush returned before a 300ms write, with a 10ms context")
	}
}

// TestEvaluatorFlushesFirst: each evaluation writes the recorded failures
// before it measures, so a firing alert can link their issue.
func TestEvaluatorFlushesFirst(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	rec := NewRecorder(slowIssues{store}, nil)
	defer rec.Close()
	var issuesAtEvaluation int
	ev := New(Options{Store: store, Interval: time.Second, Flush: func(ctx context.Context) error {
		err := rec.Flush(ctx)
		is, _ := store.ListIssues(ctx, hookwatch.IssueFilter{})
		issuesAtEvaluation = len(is)
		return err
	}})
	defer ev.Close()
	rec.Record(hookwatch.Failure{Kind: hookwatch.FailureDeadLetter, Source: "stripe", Destination: "app", Class: "server_error",
		EventID: "evt_1", DeliveryID: "dlv_1", At: time.Now(), Message: "HTTP 500"})
	if err := ev.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if issuesAtEvaluation != 1 {
		t.Errorf("the evaluation saw %d issues, want the one the recorded failure opened", issuesAtEvaluation)
	}
}
