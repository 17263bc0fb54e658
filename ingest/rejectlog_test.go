package ingest_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/provider"
)

// syncBuffer is a log destination safe for the handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// A flood of unsigned requests is answered 401 every time but logged once
// per source per RejectLogInterval, with the count of the lines left out:
// an outsider cannot fill the log volume.
func TestRejectedFloodIsLoggedSampled(t *testing.T) {
	scheme, err := provider.New("stripe", provider.Config{Secrets: []string{stripeSecret}})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	logs := &syncBuffer{}
	h := ingest.NewHandler(ingest.Options{
		Sources: []ingest.Source{{Name: "stripe", Provider: "stripe", Scheme: scheme, MaxBody: 4096}},
		Logger:  slog.New(slog.NewJSONHandler(logs, nil)),
		Now:     clock,
	})
	flood := func(n int) {
		for range n {
			req := httptest.NewRequest(http.MethodPost, "/in/stripe", strings.NewReader(`{"id":"evt_forged"}`))
			req.SetPathValue("source", "stripe")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("unsigned request answered %d, want 401", rec.Code)
			}
		}
	}
	flood(500)
	advance(ingest.RejectLogInterval / 2)
	flood(100)
	if got := len(logs.lines(t)); got != 1 {
		t.Fatalf("600 rejections within one interval gave %d log lines, want 1", got)
	}
	advance(ingest.RejectLogInterval)
	flood(1)
	lines := logs.lines(t)
	if len(lines) != 2 {
		t.Fatalf("after the interval: %d log lines, want 2", len(lines))
	}
	if got := lines[1]["unlogged_since_last"]; got != float64(599) {
		t.Errorf("second line says %v unlogged, want 599", got)
	}
	if lines[1]["source"] != "stripe" || lines[1]["reason"] != "missing_signature" {
		t.Errorf("line lacks its source or reason: %v", lines[1])
	}
}
