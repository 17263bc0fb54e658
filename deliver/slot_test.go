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

// heldFinishes is a store whose FinishDeliveries waits until the test
// releases it: an outcome queued for the single writer, not yet recorded.
type heldFinishes struct {
	*sqlite.Store
	release chan struct{}
	calls   atomic.Int32
}

func (s *heldFinishes) FinishDeliveries(ctx context.Context, fs []hookwatch.Finish) ([]error, error) {
	s.calls.Add(1)
	<-s.release
	return s.Store.FinishDeliveries(ctx, fs)
}

// An attempt frees its max_in_flight slot once its outcome is queued for
// recording, so a writer busy with other commits does not hold the
// destination to max_in_flight deliveries per commit round; the outcome is
// still recorded.
func TestSlotFreesWhenOutcomeQueued(t *testing.T) {
	sk, srv := newSink(t)
	base, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	store := &heldFinishes{Store: base, release: make(chan struct{})}
	eng, err := deliver.New(deliver.Options{
		Store: store, Owner: "test", Poll: 20 * time.Millisecond, DrainTimeout: 2 * time.Second,
		Destinations: []deliver.Destination{{Name: "app", URL: srv.URL, Secret: secret, MaxInFlight: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			close(store.release)
		}
	}
	defer func() {
		release()
		eng.Close(context.Background())
	}()

	var events []*hookwatch.Event
	for i := range 2 {
		ev := newEvent("stripe", "evt_slot_"+string(rune('a'+i)), time.Now())
		ev.Destinations = []string{"app"}
		events = append(events, ev)
	}
	if _, err := base.InsertEvents(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	eng.Wake()

	// With one slot, the second delivery is sent while the first's outcome
	// still waits to be recorded.
	deadline := time.Now().Add(10 * time.Second)
	for sk.count() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the app got %d deliveries with the first outcome unrecorded (%d finish calls); want 2: the slot stayed held", sk.count(), store.calls.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if store.calls.Load() == 0 {
		t.Fatal("no outcome was handed to the store")
	}
	ds, err := base.ListDeliveries(context.Background(), hookwatch.DeliveryFilter{Destination: "app"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Status == hookwatch.DeliverySucceeded {
			t.Fatalf("delivery %s recorded delivered before the finisher was released", d.ID)
		}
	}

	release()
	deadline = time.Now().Add(10 * time.Second)
	for {
		ds, err := base.ListDeliveries(context.Background(), hookwatch.DeliveryFilter{Destination: "app"})
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, d := range ds {
			if d.Status == hookwatch.DeliverySucceeded {
				done++
			}
		}
		if done == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 deliveries recorded delivered after the finisher was released", done)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
