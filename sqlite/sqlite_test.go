package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
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

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, open)
}

func TestReopenKeepsEventsAndMigratesOnce(t *testing.T) {
	t.Parallel()
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

// Concurrent group commits share the writer connection and the WAL fsync
// (the receive path runs two committers): every acknowledged batch is there
// after a reopen, once.
func TestConcurrentInsertsAllDurable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hw.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				batch := make([]*hookwatch.Event, 8)
				for j := range batch {
					batch[j] = storetest.NewEvent("stripe", fmt.Sprintf("evt_%d_%d_%d", w, i, j), now)
				}
				if _, err := s.InsertEvents(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.ListEvents(ctx, hookwatch.EventFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range got {
		if seen[e.ProviderEventID] {
			t.Fatalf("%s stored twice", e.ProviderEventID)
		}
		seen[e.ProviderEventID] = true
	}
	if len(seen) != 4*25*8 {
		t.Fatalf("%d events after reopen, want %d", len(seen), 4*25*8)
	}
}

func TestStoreEncrypted(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hookwatch.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookwatch.db"),
			sqlite.WithCipher(storetest.NewCipher(t, storetest.NewKey(t))))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestEncryption(t *testing.T) {
	storetest.RunEncryption(t, func(t *testing.T) storetest.Encrypted {
		path := filepath.Join(t.TempDir(), "hookwatch.db")
		return storetest.Encrypted{
			Open: func(c *encrypt.Cipher) (hookwatch.Store, error) {
				return sqlite.Open(context.Background(), path, sqlite.WithCipher(c))
			},
			Exec: func(query string) error {
				db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
				if err != nil {
					return err
				}
				defer db.Close()
				_, err = db.Exec(query)
				return err
			},
		}
	})
}
