package maintain_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/maintain"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// ingestDelivered stores n events of source received from at on, each
// with a body of size bytes routed to "app", and delivers them at at+1m.
func ingestDelivered(t *testing.T, s hookwatch.Store, source string, n, size int, at time.Time) []*hookwatch.Event {
	t.Helper()
	ctx := context.Background()
	var es []*hookwatch.Event
	for i := range n {
		e := storetest.NewEvent(source, fmt.Sprintf("%s_%d_%d", source, at.Unix(), i), at.Add(time.Duration(i)*time.Millisecond))
		e.Body = []byte(fmt.Sprintf(`{"id":%q,"pad":%q}`, e.ProviderEventID, strings.Repeat("x", size)))
		e.Destinations = []string{"app"}
		es = append(es, e)
	}
	for i := 0; i < len(es); i += 256 {
		if _, err := s.InsertEvents(ctx, es[i:min(i+256, len(es))]); err != nil {
			t.Fatal(err)
		}
	}
	done := at.Add(time.Minute)
	for {
		ds, err := s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "w", Now: done, Lease: time.Minute, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return es
		}
		fs := make([]hookwatch.Finish, len(ds))
		for i, d := range ds {
			fs[i] = hookwatch.Finish{Owner: "w", Outcome: hookwatch.OutcomeSucceeded,
				Attempt: hookwatch.Attempt{DeliveryID: d.ID, Owner: "w", At: done, StatusCode: 200}}
		}
		if _, err := s.FinishDeliveries(ctx, fs); err != nil {
			t.Fatal(err)
		}
	}
}

func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestRetentionSteadyState: ingest N, let retention remove them, ingest N
// again: the SQLite file grows by less than 10 % the second time, and the
// pass gives the freed pages back to the file system (auto_vacuum).
func TestRetentionSteadyState(t *testing.T) {
	const n, body = steadyEvents, 1024
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hw.db")
	s := openSQLite(t, path)
	if mode, err := s.AutoVacuum(ctx); err != nil || mode != "incremental" {
		t.Fatalf("a new file's auto_vacuum = %q, %v; want incremental", mode, err)
	}
	ingestDelivered(t, s, "stripe", n, body, t0)
	s.Close() // checkpoints: the database file holds everything
	first := fileSize(t, path)

	s = openSQLite(t, path)
	defer s.Close()
	r := &maintain.Retention{Store: s, Default: maintain.Policy{Events: 24 * time.Hour, DeadLetters: 48 * time.Hour}}
	rep, err := r.RunOnce(ctx, t0.Add(25*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != n || rep.Deliveries != n || rep.Attempts != n {
		t.Fatalf("retention removed %+v; want %d events, deliveries and attempts", rep, n)
	}
	if rep.Reclaimed < int64(n*body)/2 {
		t.Errorf("retention gave back %d bytes to the file system; want at least half of the %d bytes of bodies", rep.Reclaimed, n*body)
	}
	ingestDelivered(t, s, "stripe", n, body, t0.Add(26*time.Hour))
	s.Close()
	second := fileSize(t, path)
	t.Logf("file after %d events: %d bytes; after retention and %d more: %d bytes (%+.1f%%)", n, first, n, second, 100*float64(second-first)/float64(first))
	if second > first+first/10 {
		t.Errorf("the file grew from %d to %d bytes for the same %d events: more than 10%%", first, second, n)
	}
}

// TestRetentionPolicies: a source's own policy applies to it, the default
// to the others; over the budget, the oldest finished events go first.
func TestRetentionPolicies(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t, filepath.Join(t.TempDir(), "hw.db"))
	defer s.Close()
	stripe := ingestDelivered(t, s, "stripe", 3, 10, t0)
	github := ingestDelivered(t, s, "github", 3, 10, t0)
	r := &maintain.Retention{Store: s, Default: maintain.Policy{Events: 30 * 24 * time.Hour, DeadLetters: 90 * 24 * time.Hour},
		Sources: map[string]maintain.Policy{"github": {Events: 24 * time.Hour, DeadLetters: 24 * time.Hour}}}
	rep, err := r.RunOnce(ctx, t0.Add(2*24*time.Hour))
	if err != nil || rep.Events != 3 || rep.OverBudget != 0 {
		t.Fatalf("RunOnce = %+v, %v; want github's 3 events removed", rep, err)
	}
	for _, e := range github {
		if _, err := s.GetEvent(ctx, e.ID); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("github event %s: %v, want removed (its source keeps 1 day)", e.ID, err)
		}
	}
	// A budget just under the size: the oldest finished event goes, one
	// batch of one, and nothing else.
	size, err := s.StoreSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.MaxStoreSize, r.Batch = size.Used-1, 1
	rep, err = r.RunOnce(ctx, t0.Add(2*24*time.Hour))
	if err != nil || rep.Events != 1 || rep.OverBudget != 1 {
		t.Fatalf("over budget RunOnce = %+v, %v; want 1 byte over, 1 event removed", rep, err)
	}
	if _, err := s.GetEvent(ctx, stripe[0].ID); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
		t.Errorf("the oldest finished event is still there: %v", err)
	}
	for _, e := range stripe[1:] {
		if _, err := s.GetEvent(ctx, e.ID); err != nil {
			t.Errorf("a younger event %s was removed: %v", e.ID, err)
		}
	}
}

// BenchmarkDeleteFinished measures one retention batch on SQLite: how long
// it holds the single writer (and so the receive path's commits). Run:
// go test -run - -bench DeleteFinished ./maintain/
func BenchmarkDeleteFinished(b *testing.B) {
	ctx := context.Background()
	t := &testing.T{}
	s := openSQLite(t, filepath.Join(b.TempDir(), "hw.db"))
	defer s.Close()
	batch := hookwatch.DefaultRetentionBatch
	ingestDelivered(t, s, "stripe", b.N*batch, 1024, t0)
	b.ResetTimer()
	c := hookwatch.RetentionCutoff{Finished: t0.Add(time.Hour), Dead: t0.Add(time.Hour), Limit: batch}
	for range b.N {
		res, err := s.DeleteFinished(ctx, c)
		if err != nil || res.Events != batch {
			b.Fatalf("DeleteFinished = %+v, %v", res, err)
		}
		c.After = res.Last
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/batch")
}
