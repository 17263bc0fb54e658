package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/sqlite"
)

// TestKill9LosesNothingAcknowledged is the durability promise: every
// request answered 2xx before a SIGKILL is in the store, exactly once.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dbPath := filepath.Join(t.TempDir(), "hw.db")
	p := serve(t, filepath.Dir(dbPath), stripeYAML("sqlite:"+dbPath))

	type ack struct{ providerID, id string }
	var acked []ack
	// Kill once a good number of requests are acknowledged, mid-stream.
	sent := floodUntilKill(t, p.public, "evt", 30*time.Second, func(pid, id string, status int) {
		if status/100 == 2 {
			acked = append(acked, ack{pid, id})
		}
	}, func() bool { return len(acked) >= 500 }, p.kill)
	t.Logf("sent %d requests, %d acknowledged before SIGKILL", sent, len(acked))
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}

	// Restart on the same file: it must come up (WAL recovery) and still
	// remember what it acknowledged.
	p2 := p.restart(t)
	store, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	stored := storedIDs(t, store, "stripe")
	for _, a := range acked {
		if got := stored[a.providerID]; len(got) != 1 || got[0] != a.id {
			t.Fatalf("acknowledged %s (%s): %d copies in the store after kill -9 (%v)", a.providerID, a.id, len(got), got)
		}
	}
	// A provider retry of an acknowledged event is absorbed as a duplicate.
	status, id, err := sendStripe(&http.Client{Timeout: 10 * time.Second}, p.public, acked[0].providerID)
	if err != nil || status != 200 || id != acked[0].id {
		t.Errorf("retry after restart: %d %s %v, want 200 duplicate of %s", status, id, err, acked[0].id)
	}
	p2.stop(t)
}

// TestSIGTERMDrains: on SIGTERM the server stops accepting, finishes the
// commits in flight, and exits cleanly; every acknowledged event is stored.
func TestSIGTERMDrains(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dbPath := filepath.Join(t.TempDir(), "hw.db")
	p := serve(t, filepath.Dir(dbPath), stripeYAML("sqlite:"+dbPath))

	var acked []string
	f := startFlood(t, p.public, "evt_term", 8, func(_, id string, status int) {
		if status == 200 {
			acked = append(acked, id)
		}
	})
	// SIGTERM mid-stream, once traffic is flowing (a count, not a fixed
	// sleep: on a loaded machine half a second may be a handful of events).
	if !f.waitUntil(30*time.Second, func() bool { return len(acked) >= 200 }) {
		f.mu.Lock()
		defer f.mu.Unlock()
		t.Fatalf("only %d events acknowledged in 30s before the SIGTERM", len(acked))
	}
	f.stop(func() { p.stop(t) })
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0\n%s", code, p.logs)
	}
	store, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	kept := map[string]bool{}
	for _, ids := range storedIDs(t, store, "stripe") {
		for _, id := range ids {
			kept[id] = true
		}
	}
	for _, id := range acked {
		if !kept[id] {
			t.Fatalf("acknowledged %s missing after SIGTERM", id)
		}
	}
	t.Logf("%d events acknowledged, all stored", len(acked))
}
