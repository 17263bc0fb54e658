package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
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
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "hw.db")
	public, admin := freeAddr(t), freeAddr(t)
	cfgPath := writeDeliveryConfig(t, dir, public, admin, "sqlite:"+dbPath, sink.URL, "")
	p := startServe(t, cfgPath, public, admin)

	var (
		mu     sync.Mutex
		acked  = map[string]string{} // Hookwatch event ID -> provider ID
		killed atomic.Bool
		wg     sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				pid := fmt.Sprintf("evt_fan_w%d_%d", w, i)
				status, id, err := sendStripe(client, public, pid)
				if err != nil {
					if !killed.Load() {
						t.Errorf("request failed before the kill: %v", err)
					}
					return
				}
				if status == http.StatusOK {
					mu.Lock()
					acked[id] = pid
					mu.Unlock()
				}
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 1500 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	killed.Store(true)
	p.kill()
	wg.Wait()
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
