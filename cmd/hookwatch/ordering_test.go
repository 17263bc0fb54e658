package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/postgres/pgtest"
	"github.com/hookwatch/hookwatch/provider"
)

// orderedApp is a destination app that checks the order of what it
// receives per key: each body carries data.object.id (the key) and seq (0,
// 1, ... per key). It fails the first attempt of a delivery (by webhook-id)
// with a 500 at random, failRate of the time. A success must carry the
// key's next seq, or repeat the last one (at least once: an attempt whose
// answer was lost); anything else is an order violation.
type orderedApp struct {
	failRate float64

	mu         sync.Mutex
	seen       map[string]bool // webhook-ids attempted
	next       map[string]int  // key -> next seq expected
	violations []string
	failed     int
	repeats    int
	delivered  atomic.Int64
}

func newOrderedApp(failRate float64) *orderedApp {
	return &orderedApp{failRate: failRate, seen: map[string]bool{}, next: map[string]int{}}
}

func (a *orderedApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev struct {
		Data struct {
			Object struct {
				ID  string `json:"id"`
				Seq int    `json:"seq"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	id, key, seq := r.Header.Get("webhook-id"), ev.Data.Object.ID, ev.Data.Object.Seq
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.seen[id] {
		a.seen[id] = true
		if rand.Float64() < a.failRate {
			a.failed++
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
	}
	switch want := a.next[key]; {
	case seq == want:
		a.next[key] = seq + 1
		a.delivered.Add(1)
	case seq == want-1:
		a.repeats++ // the last one again: at least once
	default:
		if len(a.violations) < 20 {
			a.violations = append(a.violations, fmt.Sprintf("key %s: got seq %d, want %d", key, seq, want))
		} else {
			a.violations[19] = "..."
		}
	}
	w.WriteHeader(http.StatusOK)
}

// orderedYAML is a config body with one Stripe source and one ordered
// destination, keyed on data.object.id, retrying fast.
func orderedYAML(store, appURL string) string {
	return stripeYAML(store) + fmt.Sprintf(`destinations:
  - name: app
    url: %q
    timeout: 2s
    max_in_flight: 64
    retry: {initial: 100ms, max_backoff: 500ms}
    circuit: {failures: 1000000}
    ordering:
      key: 'body.data.object.id'
routes:
  - source: stripe
    destinations: [app]
`, appURL)
}

// sendKeyed sends seq of key to addr, signed like Stripe.
func sendKeyed(client *http.Client, scheme provider.Scheme, addr, key string, seq int) (int, error) {
	body := fmt.Sprintf(`{"id":"evt_%s_%d","object":"event","type":"invoice.updated","data":{"object":{"id":%q,"seq":%d}}}`, key, seq, key, seq)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/in/stripe", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if err := scheme.(provider.Signer).Sign(req.Header, "", []byte(body), time.Now()); err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// sendRounds sends n events for each of keys over workers connections:
// each worker sends its keys' events back to back, each key's one after
// the other (the next once the previous was acknowledged), so a key's
// next event arrives well within the retry backoff of a failed one. addr picks the
// instance for a request; a request that fails is retried on the next
// (the provider's retry), so every event is acknowledged once.
func sendRounds(t *testing.T, keys, n, workers int, addr func(attempt int) string, afterAck func(total int)) {
	t.Helper()
	scheme, err := provider.New("stripe", provider.Config{Secrets: []string{crashSecret}})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var acked atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := w; k < keys; k += workers {
				key := fmt.Sprintf("k%04d", k)
				for seq := range n {
					for try := 0; ; try++ {
						status, err := sendKeyed(client, scheme, addr(k+try), key, seq)
						if err == nil && status == http.StatusOK {
							break
						}
						if try > 20 {
							t.Errorf("event %s/%d not acknowledged: %d %v", key, seq, status, err)
							return
						}
						time.Sleep(50 * time.Millisecond)
					}
					if afterAck != nil {
						afterAck(int(acked.Add(1)))
					}
				}
			}
		})
	}
	wg.Wait()
}

// waitOrdered waits until app has every event of keys×n, then checks that
// none came out of order.
func waitOrdered(t *testing.T, app *orderedApp, keys, n int, within time.Duration) {
	t.Helper()
	total := int64(keys * n)
	deadline := time.Now().Add(within)
	for app.delivered.Load() < total && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	if len(app.violations) > 0 {
		t.Fatalf("%d events delivered out of order, e.g.:\n%s", len(app.violations), strings.Join(app.violations, "\n"))
	}
	if got := app.delivered.Load(); got < total {
		short := 0
		for k := range keys {
			if app.next[fmt.Sprintf("k%04d", k)] < n {
				short++
			}
		}
		t.Fatalf("%d of %d events delivered in order within %s; %d keys incomplete", got, total, within, short)
	}
	t.Logf("%d events of %d keys delivered in order; %d first attempts failed, %d repeated", total, keys, app.failed, app.repeats)
}

// TestOrderedDeliveryEndToEnd: 1,000 keys × 10 events through the real
// binary on SQLite to an app that fails 10%% of first attempts at random:
// every key's events arrive in the order they were received.
func TestOrderedDeliveryEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	app := newOrderedApp(0.10)
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()
	dir := t.TempDir()
	p := serve(t, dir, orderedYAML("sqlite:"+filepath.Join(dir, "hw.db"), appSrv.URL+"/hooks"))
	const keys, n = 1000, 10
	sendRounds(t, keys, n, 16, func(int) string { return p.public }, nil)
	waitOrdered(t, app, keys, n, 120*time.Second)
}

// TestOrderedDeliveryPostgresInstanceKilled: three instances on one
// PostgreSQL schema share an ordered destination; one is killed with
// SIGKILL mid-run (its leased heads come back when their leases expire):
// every key's events still arrive in order.
func TestOrderedDeliveryPostgresInstanceKilled(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	app := newOrderedApp(0.10)
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()
	var procs []*proc
	for range 3 {
		procs = append(procs, serve(t, t.TempDir(), orderedYAML(url, appSrv.URL+"/hooks")))
	}
	const keys, n = 300, 10
	var killed atomic.Bool
	sendRounds(t, keys, n, 12, func(i int) string {
		if killed.Load() {
			return procs[1+i%2].public
		}
		return procs[i%3].public
	}, func(total int) {
		if total == keys*n/3 && killed.CompareAndSwap(false, true) {
			procs[0].kill()
		}
	})
	if !killed.Load() {
		t.Fatal("the kill did not happen")
	}
	waitOrdered(t, app, keys, n, 120*time.Second)
}
