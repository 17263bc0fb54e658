package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/server"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const (
	destSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	adminToken = "test-admin-token"
)

// deliveryYAML is a config body with store and a stripe source routed to
// one destination at sinkURL, with extra keys of the destination.
func deliveryYAML(store, sinkURL, extra string) string {
	return fmt.Sprintf(`admin_token: %q
%s
destinations:
  - name: app
    url: %q
    secret: %q
%s
routes:
  - source: stripe
    destinations: [app]
`, adminToken, stripeYAML(store), sinkURL, destSecret, extra)
}

// appSink is the user's app: it verifies the signature and counts each
// webhook-id (the app dedupes on it).
type appSink struct {
	wh    *standardwebhooks.Webhook
	delay time.Duration
	mu    sync.Mutex
	seen  map[string]int
	bad   atomic.Int64
	total atomic.Int64
	// stallAfter, when positive, makes the app stop answering once it has
	// seen that many distinct events: later requests hang until release is
	// closed or the client goes away, so a kill finds deliveries in flight.
	stallAfter int
	release    chan struct{}
}

func newAppSink(t *testing.T, delay time.Duration) (*appSink, *httptest.Server) {
	wh, err := standardwebhooks.NewWebhook(destSecret)
	if err != nil {
		t.Fatal(err)
	}
	s := &appSink{wh: wh, delay: delay, seen: map[string]int{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *appSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := s.wh.Verify(body, r.Header); err != nil {
		s.bad.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if s.release != nil && s.distinct() >= s.stallAfter {
		select {
		case <-s.release:
		case <-r.Context().Done():
			return // the sender is gone: this delivery did not happen
		}
	}
	time.Sleep(s.delay)
	s.total.Add(1)
	s.mu.Lock()
	s.seen[r.Header.Get("webhook-id")]++
	s.mu.Unlock()
}

func (s *appSink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

func TestDeliveryEndToEndAndAdminAPI(t *testing.T) {
	t.Parallel()
	sink, srv := newAppSink(t, 0)
	dir := t.TempDir()
	path := writeYAML(t, dir, anyPortsYAML+deliveryYAML("sqlite:"+filepath.Join(dir, "hw.db"), srv.URL+"/hooks", ""))
	m := openMain(t, path)

	client := &http.Client{Timeout: 10 * time.Second}
	code, id, err := sendStripe(client, m.PublicAddr(), "evt_e2e_1")
	if err != nil || code != 200 {
		t.Fatalf("ingest: %d %v", code, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for sink.distinct() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sink.mu.Lock()
	n := sink.seen[id]
	sink.mu.Unlock()
	if n != 1 || sink.bad.Load() != 0 {
		t.Fatalf("app saw webhook-id %s %d times (%d bad signatures), want once", id, n, sink.bad.Load())
	}

	base := "http://" + m.AdminAddr()
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The delivery's ID, for the show endpoint. The app answered before
	// the outcome was recorded: wait for it.
	var (
		got struct {
			Deliveries []server.Delivery `json:"deliveries"`
		}
		list string
	)
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, list = call("GET", "/api/deliveries?event="+id, adminToken, "")
		err := json.Unmarshal([]byte(list), &got)
		if err == nil && len(got.Deliveries) == 1 && got.Deliveries[0].Status == "succeeded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /api/deliveries = %s (%v)", list, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	dlv := got.Deliveries[0].ID

	for _, tc := range []struct {
		method, path, body string
		status             int
		contains           string
	}{
		{"GET", "/api/deliveries", "", 200, `"deliveries"`},
		// Errors name the API's parameters, not the CLI's flags.
		{"GET", "/api/deliveries?status=bogus", "", 400, `status \"bogus\": use one of pending, succeeded, dead or any`},
		{"GET", "/api/deliveries?until=later", "", 400, `until \"later\": use a duration`},
		{"POST", "/api/replay", `{"until":"later"}`, 400, `until \"later\": use a duration`},
		{"POST", "/api/replay", `{"event_ids":["` + id + `"],"rate":-1}`, 400, "rate must not be negative"},
		{"GET", "/api/deliveries/" + dlv, "", 200, `"history"`},
		{"GET", "/api/deliveries/dlv_nope", "", 404, "not_found"},
		{"GET", "/api/destinations", "", 200, `"name": "app"`},
		{"POST", "/api/replay", `{"event_ids":["` + id + `"],"dry_run":true}`, 200, `"count": 1`},
		{"POST", "/api/replay", `{"status":"any"}`, 400, "needs a filter"},
		{"POST", "/api/destinations/app/pause", "", 200, `"paused": true`},
		{"POST", "/api/destinations/nope/pause", "", 404, "no destination"},
		{"POST", "/api/destinations/app/resume", "", 200, `"paused": false`},
		{"POST", "/api/replay", `{"event_ids":["` + id + `"],"actor":"alice"}`, 200, `"count": 1`},
	} {
		// Never reachable without the token, nor with a wrong one.
		if code, _ := call(tc.method, tc.path, "", tc.body); code != http.StatusUnauthorized {
			t.Errorf("%s %s without token: %d, want 401", tc.method, tc.path, code)
		}
		if code, _ := call(tc.method, tc.path, "wrong", tc.body); code != http.StatusUnauthorized {
			t.Errorf("%s %s with a wrong token: %d, want 401", tc.method, tc.path, code)
		}
		code, body := call(tc.method, tc.path, adminToken, tc.body)
		if code != tc.status || !strings.Contains(body, tc.contains) {
			t.Errorf("%s %s = %d %s; want %d containing %q", tc.method, tc.path, code, body, tc.status, tc.contains)
		}
	}
	// The replay re-sent the event with the same webhook-id.
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sink.mu.Lock()
		n = sink.seen[id]
		sink.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n != 2 {
		t.Errorf("after replay the app saw webhook-id %s %d times, want 2", id, n)
	}

	// The CLI reads the same store.
	out, _, err := run(t, nil, "destinations", "list", "--config", path)
	if err != nil || !strings.Contains(out, "app") || !strings.Contains(out, "active") {
		t.Errorf("destinations list: %v\n%s", err, out)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if out, _, err = run(t, nil, "deliveries", "list", "--config", path, "--json"); strings.Contains(out, `"status":"succeeded"`) {
			break
		}
	}
	if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"status":"succeeded"`) {
		t.Errorf("deliveries list --json: %v\n%s", err, out)
	}
	out, _, err = run(t, nil, "deliveries", "show", "--config", path, dlv)
	if err != nil || !strings.Contains(out, "Attempts:") || !strings.Contains(out, "200") {
		t.Errorf("deliveries show: %v\n%s", err, out)
	}
	out, _, err = run(t, nil, "replay", "--config", path, "--status", "any", "--destination", "app", "--dry-run")
	if err != nil || !strings.Contains(out, "1 deliveries would be replayed") {
		t.Errorf("replay --dry-run: %v\n%s", err, out)
	}
	if _, _, err := run(t, nil, "destinations", "pause", "--config", path, "nope"); err == nil {
		t.Errorf("pausing an unknown destination succeeded")
	}
}

// TestKill9MidDeliveryRedelivers: the process is killed while deliveries
// are in flight; after a restart every acknowledged event reaches the app
// at least once, and the app can dedupe on webhook-id.
func TestKill9MidDeliveryRedelivers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	sink, srv := newAppSink(t, 20*time.Millisecond)
	sink.stallAfter, sink.release = 20, make(chan struct{})
	dir := t.TempDir()
	// A 1s timeout makes the killed instance's leases expire 16s later.
	p := serve(t, dir, deliveryYAML("sqlite:"+filepath.Join(dir, "hw.db"), srv.URL+"/hooks",
		"    timeout: 1s\n    max_in_flight: 4"))

	const n = 300
	client := &http.Client{Timeout: 10 * time.Second}
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				code, id, err := sendStripe(client, p.public, fmt.Sprintf("evt_kill_%d", i))
				if err == nil && code == 200 {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(acked) < 2*sink.stallAfter {
		t.Fatalf("only %d of %d events were acknowledged: the test needs a backlog to kill mid-delivery", len(acked), n)
	}
	// The app answers the first stallAfter events, then holds every
	// request: the kill always finds deliveries in flight and a backlog.
	deadline := time.Now().Add(30 * time.Second)
	for sink.distinct() < sink.stallAfter && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	p.kill()
	before := sink.distinct()
	if before < sink.stallAfter || before >= len(acked) {
		t.Fatalf("killed with %d of %d events delivered: want %d delivered and a backlog", before, len(acked), sink.stallAfter)
	}
	close(sink.release)
	t.Logf("killed with %d of %d events delivered", before, len(acked))

	p.restart(t)
	deadline = time.Now().Add(90 * time.Second)
	for sink.distinct() < len(acked) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	var missing []string
	dups := 0
	for _, id := range acked {
		switch c := sink.seen[id]; {
		case c == 0:
			missing = append(missing, id)
		case c > 1:
			dups += c - 1
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d acknowledged events never reached the app (e.g. %s)", len(missing), len(acked), missing[0])
	}
	if sink.bad.Load() > 0 {
		t.Errorf("%d requests with a bad signature", sink.bad.Load())
	}
	t.Logf("all %d events delivered; %d duplicates, which the app drops by webhook-id", len(acked), dups)
}
