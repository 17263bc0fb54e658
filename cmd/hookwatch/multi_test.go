package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/postgres/pgtest"
)

// sink is a destination app that records what it receives, by webhook-id,
// and notices two attempts of one delivery in flight at the same time.
type sink struct {
	mu        sync.Mutex
	inFlight  map[string]bool
	received  map[string]int
	overlaps  []string
	requests  atomic.Int64
	processMs time.Duration
}

func newSink(process time.Duration) *sink {
	return &sink{inFlight: map[string]bool{}, received: map[string]int{}, processMs: process}
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("webhook-id")
	s.requests.Add(1)
	s.mu.Lock()
	if s.inFlight[id] {
		s.overlaps = append(s.overlaps, id)
	}
	s.inFlight[id] = true
	s.mu.Unlock()
	time.Sleep(s.processMs)
	s.mu.Lock()
	delete(s.inFlight, id)
	s.received[id]++
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// missing returns how many of ids the sink has not received yet.
func (s *sink) missing(ids []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, id := range ids {
		if s.received[id] == 0 {
			n++
		}
	}
	return n
}

// TestMultiInstancePostgresDelivers: three `hookwatch serve` processes on one
// PostgreSQL schema deliver to one app. Events are ingested through all
// three, one instance is killed with SIGKILL mid-run, and every acknowledged
// event still reaches the app, with no delivery attempted by two instances
// at once (the claim's lease and SKIP LOCKED hold across processes).
func TestMultiInstancePostgresDelivers(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	app := newSink(5 * time.Millisecond)
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()

	var procs []*proc
	for range 3 {
		procs = append(procs, serve(t, t.TempDir(), stripeYAML(url)+fmt.Sprintf(`destinations:
  - name: app
    url: %q
    timeout: 1s
routes:
  - source: stripe
    destinations: [app]
`, appSrv.URL+"/hooks")))
	}

	var (
		mu     sync.Mutex
		acked  []string
		killed atomic.Bool
		wg     sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 8 {
		wg.Go(func() {
			for i := 0; i < 100; i++ {
				p := procs[(w+i)%3]
				if killed.Load() && p == procs[0] {
					p = procs[1+i%2]
				}
				status, id, err := sendStripe(client, p.public, fmt.Sprintf("evt_md%d_%d", w, i))
				if err != nil || status != http.StatusOK {
					if p == procs[0] {
						continue // the killed instance
					}
					t.Errorf("request to a live instance: %d %v", status, err)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				n := len(acked)
				mu.Unlock()
				if n == 300 && killed.CompareAndSwap(false, true) {
					procs[0].kill()
				}
			}
		})
	}
	wg.Wait()
	if !killed.Load() {
		t.Fatal("the kill did not happen")
	}

	// Deliveries leased by the killed instance come back after the lease
	// (timeout + 15s); everything else arrives at once.
	deadline := time.Now().Add(90 * time.Second)
	for app.missing(acked) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := app.missing(acked); n > 0 {
		t.Fatalf("%d of %d acknowledged events never reached the app", n, len(acked))
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	if len(app.overlaps) > 0 {
		t.Errorf("%d deliveries were attempted by two instances at once, e.g. %s", len(app.overlaps), app.overlaps[0])
	}
	again := 0
	for _, n := range app.received {
		again += n - 1
	}
	t.Logf("%d events acknowledged through 3 instances (one killed), all delivered; %d requests, %d redeliveries (at least once)",
		len(acked), app.requests.Load(), again)
}
