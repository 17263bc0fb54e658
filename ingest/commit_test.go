package ingest_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

// switchStore fails every InsertEvents while fail is set.
type switchStore struct {
	hookwatch.EventStore
	fail atomic.Bool
}

func (s *switchStore) InsertEvents(_ context.Context, es []*hookwatch.Event) ([]hookwatch.InsertResult, error) {
	if s.fail.Load() {
		return nil, &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store cannot commit", Err: errors.New("disk full")}
	}
	out := make([]hookwatch.InsertResult, len(es))
	for i, e := range es {
		out[i] = hookwatch.InsertResult{ID: e.ID}
	}
	return out, nil
}

// LastCommit is the latest batch's number and outcome, for readiness.
func TestLastCommit(t *testing.T) {
	s := &switchStore{}
	c := ingest.NewCommitterN(s, 4, 2, nil)
	defer c.Close()
	if seq, err := c.LastCommit(); seq != 0 || err != nil {
		t.Fatalf("before any commit: %d, %v", seq, err)
	}
	commit := func() error {
		_, err := c.Commit(context.Background(), &hookwatch.Event{ID: hookwatch.NewID("evt", time.Now()), Headers: http.Header{}})
		return err
	}
	s.fail.Store(true)
	if commit() == nil {
		t.Fatal("commit succeeded on a failing store")
	}
	seq1, err := c.LastCommit()
	if seq1 == 0 || hookwatch.ErrorMessage(err) != "store cannot commit" {
		t.Errorf("after a failed commit: %d, %v", seq1, err)
	}
	s.fail.Store(false)
	if err := commit(); err != nil {
		t.Fatal(err)
	}
	if seq2, err := c.LastCommit(); seq2 <= seq1 || err != nil {
		t.Errorf("after a good commit: %d, %v (failed one was %d)", seq2, err, seq1)
	}
}

// A batch's observer learns the destinations its stored events go to, each
// once; a duplicate creates no delivery and wakes nothing.
func TestBatchNamesItsDestinations(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	batches := make(chan ingest.Batch, 10)
	c := ingest.NewCommitter(store, 64, func(b ingest.Batch) {
		b.Destinations = append([]string(nil), b.Destinations...)
		batches <- b
	})
	defer c.Close()
	now := time.Now()
	first := storetest.NewEvent("stripe", "evt_1", now)
	first.Destinations = []string{"billing", "audit"}
	if _, err := c.Commit(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	if b := <-batches; b.Err != nil || !slices.Equal(b.Destinations, []string{"billing", "audit"}) {
		t.Fatalf("batch of one event to billing and audit: %+v", b)
	}
	dup := storetest.NewEvent("stripe", "evt_1", now)
	dup.Destinations = []string{"billing"}
	if res, err := c.Commit(context.Background(), dup); err != nil || !res.Duplicate {
		t.Fatalf("second evt_1: %+v, %v; want a duplicate", res, err)
	}
	if b := <-batches; len(b.Destinations) != 0 {
		t.Fatalf("a batch of a duplicate names %v; want none", b.Destinations)
	}
}
