package ingest_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
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
