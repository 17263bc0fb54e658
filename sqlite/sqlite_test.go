package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

func open(t *testing.T) hookwatch.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) { storetest.Run(t, open) }

func TestReopenKeepsEventsAndMigratesOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dir", "hookwatch.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	e := storetest.NewEvent("stripe", "evt_keep", time.Now().UTC().Truncate(time.Microsecond))
	if _, err := s.InsertEvents(ctx, []*hookwatch.Event{e}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.GetEvent(ctx, e.ID); err != nil {
		t.Fatalf("event lost across reopen: %v", err)
	}
	res, err := s.InsertEvents(ctx, []*hookwatch.Event{storetest.NewEvent("stripe", "evt_keep", e.ReceivedAt)})
	if err != nil || !res[0].Duplicate {
		t.Fatalf("dedupe memory lost across reopen: %+v %v", res, err)
	}
}
