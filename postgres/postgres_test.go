package postgres_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
	"github.com/hookwatch/hookwatch/postgres"
	"github.com/hookwatch/hookwatch/postgres/pgtest"
	"github.com/hookwatch/hookwatch/storetest"
	"github.com/jackc/pgx/v5"
)

// testURL returns a connection URL for a fresh schema of its own (dropped
// when the test ends), or skips the test when HOOKWATCH_TEST_POSTGRES is not
// set.
func testURL(t testing.TB) string { return pgtest.URL(t) }

// reusedURL is testURL for a test that does not migrate: a schema of its own,
// already migrated when an earlier test left it (pgtest.Reused).
func reusedURL(t testing.TB) string { return pgtest.Reused(t) }

func postgresOpen(t testing.TB) (*postgres.Store, error) {
	s, err := postgres.Open(context.Background(), testURL(t))
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// TestMain drops the schemas pgtest.Reused kept, and runs four tests per
// CPU: they wait on PostgreSQL.
func TestMain(m *testing.M) { pgtest.Main(m, 4) }

// open opens a store in a schema of its own, emptied of rows: the contract
// suite's tests do not migrate.
func open(t *testing.T) hookwatch.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), pgtest.Reused(t))
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

// Instances starting together apply each migration once.
func TestConcurrentMigrate(t *testing.T) {
	url := testURL(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := postgres.Open(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s, err := postgres.OpenNoMigrate(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	applied, err := s.Migrate(ctx)
	if err != nil || len(applied) != 0 {
		t.Fatalf("Migrate again = %v, %v; want nothing to apply", applied, err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v < 2 {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
}

// Two instances ingesting the same provider event IDs at once store each
// once: the dedupe key is taken by one transaction, the other sees it.
func TestConcurrentDedupeAcrossInstances(t *testing.T) {
	url := reusedURL(t)
	ctx := context.Background()
	a, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Now().UTC()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		stored = map[string]int{}
	)
	for w, s := range []*postgres.Store{a, b, a, b} {
		wg.Go(func() {
			for i := range 20 {
				var batch []*hookwatch.Event
				// Keys in opposite orders in alternate workers: locks must
				// still not deadlock.
				for k := range 10 {
					if w%2 == 1 {
						k = 9 - k
					}
					batch = append(batch, storetest.NewEvent("stripe", "evt_"+string(rune('a'+i))+string(rune('a'+k)), now))
				}
				res, err := s.InsertEvents(ctx, batch)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for j, r := range res {
					if !r.Duplicate {
						stored[batch[j].ProviderEventID]++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(stored) != 200 {
		t.Errorf("%d keys stored, want 200", len(stored))
	}
	for k, n := range stored {
		if n != 1 {
			t.Errorf("%s stored %d times", k, n)
		}
	}
}

// A store that cannot reach its database answers EUNAVAILABLE, so ingest
// answers 503 and the provider retries.
func TestUnavailable(t *testing.T) {
	url := reusedURL(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = s.InsertEvents(ctx, []*hookwatch.Event{storetest.NewEvent("stripe", "evt_x", time.Now())})
	if code := hookwatch.ErrorCode(err); code != hookwatch.EUNAVAILABLE {
		t.Errorf("InsertEvents on a closed store: code %q (%v), want %q", code, err, hookwatch.EUNAVAILABLE)
	}
	bad := strings.Replace(os.Getenv(pgtest.EnvURL), "5432", "1", 1)
	if _, err := postgres.Open(ctx, bad); hookwatch.ErrorCode(err) != hookwatch.EUNAVAILABLE {
		t.Errorf("Open on a closed port: code %q (%v), want %q", hookwatch.ErrorCode(err), err, hookwatch.EUNAVAILABLE)
	}
	if err := s.Ping(ctx); hookwatch.ErrorCode(err) != hookwatch.EUNAVAILABLE {
		t.Errorf("Ping on a closed store: %v", err)
	}
}

func TestStoreEncrypted(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) hookwatch.Store {
		s, err := postgres.Open(context.Background(), pgtest.Reused(t), postgres.WithCipher(storetest.NewCipher(t, storetest.NewKey(t))))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestEncryption(t *testing.T) {
	storetest.RunEncryption(t, func(t *testing.T) storetest.Encrypted {
		url := reusedURL(t)
		return storetest.Encrypted{
			Open: func(c *encrypt.Cipher) (hookwatch.Store, error) {
				return postgres.Open(context.Background(), url, postgres.WithCipher(c))
			},
			Exec: func(query string) error {
				conn, err := pgx.Connect(context.Background(), url)
				if err != nil {
					return err
				}
				defer conn.Close(context.Background())
				_, err = conn.Exec(context.Background(), query)
				return err
			},
		}
	})
}

// TestEncryptedRowsHoldNoPlaintext reads the stored columns as PostgreSQL
// holds them: no body or header value of an event or a quarantined request
// is in them.
func TestEncryptedRowsHoldNoPlaintext(t *testing.T) {
	ctx := context.Background()
	url := reusedURL(t)
	s, err := postgres.Open(ctx, url, postgres.WithCipher(storetest.NewCipher(t, storetest.NewKey(t))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := storetest.NewEvent("stripe", "evt_1", time.Now())
	e.Body, e.Headers["X-Note"] = []byte(`{"customer":"cus_BODYMARKER"}`), []string{"HEADERMARKER"}
	q := storetest.NewQuarantined("stripe", "bad_signature", time.Now())
	q.Body, q.Headers["X-Note"] = []byte(`{"customer":"cus_QBODYMARKER"}`), []string{"QHEADERMARKER"}
	if _, err := s.InsertEvents(ctx, []*hookwatch.Event{e}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddQuarantined(ctx, []*hookwatch.Quarantined{q}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, table := range []string{"events", "quarantine"} {
		var headers string
		var body []byte
		if err := conn.QueryRow(ctx, `SELECT headers, body FROM `+table).Scan(&headers, &body); err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"BODYMARKER", "HEADERMARKER", "application/json"} {
			if strings.Contains(headers, m) || bytes.Contains(body, []byte(m)) {
				t.Fatalf("%s holds %q in plaintext: headers %q", table, m, headers)
			}
		}
	}
}
