package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/provider"
	"github.com/hookwatch/hookwatch/sqlite"
)

const crashSecret = "whsec_crash_test"

// writeConfig writes a config with one stripe source on the given addresses.
func writeConfig(t *testing.T, dir, public, admin, store string) string {
	t.Helper()
	path := filepath.Join(dir, "hookwatch.yaml")
	cfg := fmt.Sprintf(`listen: %q
admin_listen: %q
store: %q
log: {level: warn}
sources:
  - name: stripe
    provider: stripe
    secrets: [%q]
`, public, admin, store, crashSecret)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sendStripe posts a signed Stripe event and returns the status and the
// Hookwatch event ID of the answer.
func sendStripe(client *http.Client, addr, providerID string) (int, string, error) {
	body := fmt.Sprintf(`{"id":%q,"object":"event","type":"invoice.paid","livemode":true,"data":{"object":{"amount":%d}}}`, providerID, len(providerID))
	scheme, err := provider.New("stripe", provider.Config{Secrets: []string{crashSecret}})
	if err != nil {
		return 0, "", err
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/in/stripe", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if err := scheme.(provider.Signer).Sign(req.Header, "", []byte(body), time.Now()); err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var a struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a.ID, nil
}

// TestKill9LosesNothingAcknowledged is the durability promise: every
// request answered 2xx before a SIGKILL is in the store, exactly once.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "hw.db")
	public, admin := freeAddr(t), freeAddr(t)
	cfgPath := writeConfig(t, dir, public, admin, "sqlite:"+dbPath)
	p := startServe(t, cfgPath, public, admin)

	type ack struct{ providerID, id string }
	var (
		mu     sync.Mutex
		acked  []ack
		sent   atomic.Int64
		killed atomic.Bool
		wg     sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				pid := fmt.Sprintf("evt_w%d_%d", w, i)
				status, id, err := sendStripe(client, public, pid)
				sent.Add(1)
				if err != nil {
					if !killed.Load() {
						t.Errorf("request failed before the kill: %v", err)
					}
					return
				}
				if status/100 == 2 {
					mu.Lock()
					acked = append(acked, ack{pid, id})
					mu.Unlock()
				}
			}
		}()
	}
	// Kill once a good number of requests are acknowledged, mid-stream.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 500 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	killed.Store(true)
	p.kill()
	wg.Wait()
	t.Logf("sent %d requests, %d acknowledged before SIGKILL", sent.Load(), len(acked))
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}

	// Restart on the same file: it must come up (WAL recovery) and still
	// remember what it acknowledged.
	p2 := startServe(t, cfgPath, public, admin)
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
	status, id, err := sendStripe(client, public, acked[0].providerID)
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
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "hw.db")
	public, admin := freeAddr(t), freeAddr(t)
	p := startServe(t, writeConfig(t, dir, public, admin, "sqlite:"+dbPath), public, admin)

	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
		stop  atomic.Bool
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				status, id, err := sendStripe(client, public, fmt.Sprintf("evt_term_%d_%d", w, i))
				if err != nil {
					return // the listener is closed
				}
				if status == 200 {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		}()
	}
	// SIGTERM mid-stream, once traffic is flowing (a count, not a fixed
	// sleep: on a loaded machine half a second may be a handful of events).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d events acknowledged in 30s before the SIGTERM", n)
		}
	}
	p.stop(t)
	stop.Store(true)
	wg.Wait()
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
