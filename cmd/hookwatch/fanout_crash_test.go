package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
)

// TestKill9OwedDeliveriesCreatedOnce: delivery rows are created after the
// 200, from the fan-out cursor (sqlite/fanout.go). Killed with -9 under
// load, while events it acknowledged may still be owed their rows, the
// server restarts and every acknowledged event has exactly one delivery to
// its destination: none lost, none created twice.
func TestKill9OwedDeliveriesCreatedOnce(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	// The destination answers slowly, so that deliveries stay pending and
	// the fan-out is what creates the rows, not a claim that also sends.
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer sink.Close()
	dbPath := filepath.Join(t.TempDir(), "hw.db")
	p := serve(t, filepath.Dir(dbPath), deliveryYAML("sqlite:"+dbPath, sink.URL, ""))

	acked := map[string]string{} // Hookwatch event ID -> provider ID
	floodUntilKill(t, p.public, "evt_fan", 30*time.Second, func(pid, id string, status int) {
		if status == http.StatusOK {
			acked[id] = pid
		}
	}, func() bool { return len(acked) >= 1500 }, p.kill)
	t.Logf("%d events acknowledged before SIGKILL", len(acked))
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}

	// Opening the store is the restart's recovery: it fans out what was owed.
	store, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	per := map[string]int{}
	for before := ""; ; {
		page, err := store.ListDeliveries(context.Background(), hookwatch.DeliveryFilter{Destination: "app", Before: before, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, d := range page {
			per[d.EventID]++
		}
		before = page[len(page)-1].ID
	}
	for id, pid := range acked {
		if per[id] != 1 {
			t.Fatalf("acknowledged %s (%s): %d deliveries to app after kill -9 and restart, want 1", id, pid, per[id])
		}
	}
	for id, n := range per {
		if n != 1 {
			t.Fatalf("event %s: %d deliveries to app, want 1", id, n)
		}
	}
}
