package quarantine_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/provider"
	"github.com/hookwatch/hookwatch/quarantine"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// quarantineBytes is the StoredSize of everything the store keeps.
func quarantineBytes(t *testing.T, s hookwatch.QuarantineStore) (int, int64) {
	t.Helper()
	var n int
	var total int64
	f := hookwatch.QuarantineFilter{Limit: 500}
	for {
		qs, err := s.ListQuarantined(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			n++
			total += q.StoredSize()
		}
		if len(qs) < f.Limit {
			return n, total
		}
		f.Before = qs[len(qs)-1].ID
	}
}

// watchedStore records the most the quarantine ever held after a write.
type watchedStore struct {
	*sqlite.Store
	t    *testing.T
	mu   sync.Mutex
	most int64
}

func (w *watchedStore) AddQuarantined(ctx context.Context, qs []*hookwatch.Quarantined) error {
	if err := w.Store.AddQuarantined(ctx, qs); err != nil {
		return err
	}
	_, total := quarantineBytes(w.t, w.Store)
	w.mu.Lock()
	w.most = max(w.most, total)
	w.mu.Unlock()
	return nil
}

// A flood of unsigned large bodies through the real receive path and
// quarantine writer into a real SQLite file: the quarantine never holds
// much more than its byte budget, even between two prunes, and signed
// webhooks are still accepted during and after it.
func TestFloodStaysInByteBudget(t *testing.T) {
	const (
		budget  = 2 << 20
		maxBody = 64 << 10
	)
	store := &watchedStore{Store: openStore(t), t: t}
	reg := prometheus.NewRegistry()
	// No intake rate to speak of: the byte budget alone is tested.
	w := quarantine.NewWriter(quarantine.Options{Store: store, MaxBytes: budget, MaxBody: maxBody, Rate: 1e9, Burst: 1e9,
		Pace: time.Millisecond, Registerer: reg})
	committer := ingest.NewCommitter(store, 64, nil)
	src := source(t, "stripe", "stripe", provider.Config{Secrets: []string{rightSecret}})
	h := ingest.NewHandler(ingest.Options{Sources: []ingest.Source{src}, Committer: committer, Router: route, Reject: w.Keep})
	mux := http.NewServeMux()
	mux.Handle("POST /in/{source}", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer committer.Close()

	big := strings.Repeat("x", 300_000)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				resp, err := http.Post(srv.URL+"/in/stripe", "application/json", strings.NewReader(big))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("unsigned request %d/%d: %d", g, i, resp.StatusCode)
				}
			}
		}()
	}
	post := func(id string) int {
		body := stripeBody(id)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/in/stripe", strings.NewReader(body))
		stripeSign(t, rightSecret, body, time.Now())(req.Header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 20 {
		if code := post(fmt.Sprintf("evt_during_%d", i)); code != http.StatusOK {
			t.Errorf("signed webhook during the flood: %d, want 200", code)
		}
	}
	wg.Wait()
	w.Close() // writes what was queued
	for i := range 5 {
		if code := post(fmt.Sprintf("evt_after_%d", i)); code != http.StatusOK {
			t.Errorf("signed webhook after the flood: %d, want 200", code)
		}
	}

	kept := metric(t, reg, "hookwatch_quarantine_kept_total", "stripe")
	if kept < 100 {
		t.Fatalf("only %v of 400 kept: the flood did not test the budget", kept)
	}
	n, total := quarantineBytes(t, store.Store)
	// Between two prunes the writer adds at most a tenth of the budget
	// (plus the request that crosses it).
	bound := int64(budget + budget/10 + maxBody + 1024)
	store.mu.Lock()
	most := store.most
	store.mu.Unlock()
	if most > bound || total > bound {
		t.Errorf("the quarantine held up to %d bytes (%d now, %d requests), budget %d: more than %d", most, total, n, budget, bound)
	}
	if most < budget/2 {
		t.Errorf("the quarantine never held more than %d bytes: the budget was not reached", most)
	}
	qs, err := store.ListQuarantined(context.Background(), hookwatch.QuarantineFilter{Limit: 1})
	if err != nil || len(qs) != 1 || len(qs[0].Body) != maxBody || !qs[0].Truncated {
		t.Errorf("newest kept: %v, %v; want a body cut to %d", qs, err, maxBody)
	}
	if es := countEvents(t, store); len(es) != 25 {
		t.Errorf("%d events stored, want the 25 signed", len(es))
	}
}

// logLines collects log records.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logLines) WithGroup(string) slog.Handler      { return l }

func (l *logLines) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

// Each source's rejections are kept at most at the intake rate, with its
// burst; the rest are counted (rate_limited) and logged at most once a
// minute per source. The clock is the writer's: no sleeps.
func TestIntakeRatePerSource(t *testing.T) {
	store := openStore(t)
	reg := prometheus.NewRegistry()
	logs := &logLines{}
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
	}
	w := quarantine.NewWriter(quarantine.Options{Store: store, Rate: 2, Burst: 3, Now: clock, Pace: time.Microsecond,
		Registerer: reg, Logger: slog.New(logs)})
	keep := func(src string, n int) {
		for range n {
			w.Keep(context.Background(), ingest.Rejection{Source: src, Provider: "stripe", Reason: provider.ReasonBadSignature,
				Headers: http.Header{}, Body: []byte("{}"), ReceivedAt: clock()})
		}
	}
	keep("a", 5) // the burst: 3 kept
	keep("b", 4) // a source of its own: 3 kept
	lines := logs.take()
	if len(lines) != 2 || !strings.Contains(lines[0], "source=a rate_limited=1") || !strings.Contains(lines[1], "source=b rate_limited=1") {
		t.Errorf("log lines after the first drops: %q", lines)
	}
	advance(time.Second) // 2 tokens
	keep("a", 3)
	advance(10 * time.Second) // back to the burst, not 20
	keep("a", 5)
	if lines := logs.take(); len(lines) != 0 {
		t.Errorf("more than one line per source per minute: %q", lines)
	}
	advance(time.Minute)
	// 3 kept, 1 not: the line counts the 5 not kept since the first one
	// (1 at the start after it was logged, then 1, 2 and this 1).
	keep("a", 4)
	lines = logs.take()
	if len(lines) != 1 || !strings.Contains(lines[0], "source=a rate_limited=5") {
		t.Errorf("log line a minute later: %q", lines)
	}
	w.Close()

	byRate := metric(t, reg, "hookwatch_quarantine_dropped_total", quarantine.DropRateLimited)
	keptA := metric(t, reg, "hookwatch_quarantine_kept_total", "a")
	keptB := metric(t, reg, "hookwatch_quarantine_kept_total", "b")
	// a: 3 of 5, 2 of 3, 3 of 5, 3 of 4 = 11 kept, 6 not; b: 3 of 4.
	if keptA != 11 || keptB != 3 || byRate != 7 {
		t.Errorf("kept a=%v b=%v, rate_limited %v; want 11, 3, 7", keptA, keptB, byRate)
	}
	if n, _ := quarantineBytes(t, store); n != 14 {
		t.Errorf("%d stored, want 14", n)
	}
}

// room plays the readiness watcher.
type room struct {
	mu       sync.Mutex
	low      bool
	left     int64
	asked    int64
	refusals int
}

func (r *room) LowDisk() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.low
}

func (r *room) Room(n int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked += n
	if n > r.left {
		r.refusals++
		return false
	}
	r.left -= n
	return true
}

// Under the free-space floor the quarantine keeps nothing: rejections are
// counted as low_disk, whether the floor is seen on the receive path or by
// the writer before a batch.
func TestLowDiskKeepsNothing(t *testing.T) {
	store := openStore(t)
	reg := prometheus.NewRegistry()
	rm := &room{low: true}
	w := quarantine.NewWriter(quarantine.Options{Store: store, Room: rm, Pace: time.Microsecond, Registerer: reg})
	r := ingest.Rejection{Source: "stripe", Provider: "stripe", Reason: provider.ReasonBadSignature,
		Headers: http.Header{"Stripe-Signature": {"t=1,v1=00"}}, Body: bytes.Repeat([]byte("x"), 1000), ReceivedAt: time.Now()}
	for range 5 {
		w.Keep(context.Background(), r)
	}
	// The volume is above the floor, but the writer's batch does not fit.
	rm.mu.Lock()
	rm.low, rm.left = false, 10
	rm.mu.Unlock()
	for range 3 {
		w.Keep(context.Background(), r)
	}
	w.Close()
	if n, _ := quarantineBytes(t, store); n != 0 {
		t.Errorf("%d kept under the floor", n)
	}
	if got := metric(t, reg, "hookwatch_quarantine_dropped_total", quarantine.DropLowDisk); got != 8 {
		t.Errorf("low_disk drops = %v, want 8", got)
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if rm.refusals == 0 || rm.asked < 3*1000 {
		t.Errorf("the writer asked for %d bytes (%d refusals), want the batch's size", rm.asked, rm.refusals)
	}
}
