package deliver_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/sqlite"
)

// countedClaims is a store that counts ClaimDeliveries calls.
type countedClaims struct {
	*sqlite.Store
	claims atomic.Int32
}

func (s *countedClaims) ClaimDeliveries(ctx context.Context, r hookwatch.ClaimRequest) ([]*hookwatch.Delivery, error) {
	s.claims.Add(1)
	return s.Store.ClaimDeliveries(ctx, r)
}

// A paused destination is not claimed on every wake (each claim is a write
// transaction beside the group commit), and a resume written by another
// process is still seen within a fraction of a second; a resume through
// the engine takes effect at once.
func TestPausedDestinationIsNotClaimed(t *testing.T) {
	sk, srv := newSink(t)
	base, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	store := &countedClaims{Store: base}
	eng, err := deliver.New(deliver.Options{
		Store: store, Owner: "test", Poll: 20 * time.Millisecond, DrainTimeout: 2 * time.Second,
		Destinations: []deliver.Destination{{Name: "app", URL: srv.URL, Secret: secret}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := eng.SetPaused(ctx, "app", true); err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)

	insert := func(id string) {
		t.Helper()
		ev := newEvent("stripe", id, time.Now())
		ev.Destinations = []string{"app"}
		if _, err := base.InsertEvents(ctx, []*hookwatch.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	insert("evt_paused_a")
	// 200 wakes and 25 polls over half a second: at most the first claim
	// (which reads the stored state) reaches the store.
	for range 200 {
		eng.Wake()
		time.Sleep(2500 * time.Microsecond)
	}
	if n := store.claims.Load(); n > 1 {
		t.Fatalf("a paused destination was claimed %d times over 200 wakes; want at most 1", n)
	}
	if sk.count() != 0 {
		t.Fatalf("a paused destination got %d deliveries", sk.count())
	}

	// Resumed by another process: the store only.
	if err := base.SetDestinationPaused(ctx, "app", false, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitCount(t, sk, 1, "after a resume written by another process")

	// Paused and resumed through the engine.
	if err := eng.SetPaused(ctx, "app", true); err != nil {
		t.Fatal(err)
	}
	insert("evt_paused_b")
	time.Sleep(300 * time.Millisecond)
	if sk.count() != 1 {
		t.Fatalf("the app got %d deliveries while paused again; want still 1", sk.count())
	}
	if err := eng.SetPaused(ctx, "app", false); err != nil {
		t.Fatal(err)
	}
	waitCount(t, sk, 2, "after a resume through the engine")
}

func waitCount(t *testing.T, sk interface{ count() int }, want int, when string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sk.count() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the app got %d deliveries; want %d", when, sk.count(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
