package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/readiness"
	"github.com/hookwatch/hookwatch/sqlite"
)

// `hookwatch health` shows the store's size and its oldest finished event,
// in text and JSON.
func TestHealthReportsStoreSize(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "hw.db")
	s, err := sqlite.Open(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	received := time.Now().Add(-50 * time.Hour).UTC()
	e := &hookwatch.Event{ID: hookwatch.NewID("evt", received), Source: "stripe", Provider: "stripe", Headers: http.Header{},
		Body: make([]byte, 3000), ReceivedAt: received}
	if _, err := s.InsertEvents(context.Background(), []*hookwatch.Event{e}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	path := writeStoreConfig(t, "sqlite:"+file, "")
	out, _, err := run(t, nil, "health", "--config", path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Size:    ") || !strings.Contains(out, "used); oldest finished event 2d 2h old ("+e.ID+", 2.9 KiB)") {
		t.Errorf("health lacks the store's size:\n%s", out)
	}
	out, _, err = run(t, nil, "health", "--config", path, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Readiness readiness.Status `json:"readiness"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	st := rep.Readiness.Storage.Store
	if st == nil || st.Bytes <= 0 || st.Used <= 0 || st.Oldest == nil || st.Oldest.ID != e.ID || st.OldestAgeSeconds < 50*3600 {
		t.Errorf("health --json store: %+v\n%s", st, out)
	}
}

// `hookwatch store vacuum` converts a SQLite file and says so, in text and
// JSON; --help explains when to run it; PostgreSQL is refused with why.
func TestStoreVacuumCommand(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "hw.db")
	out, _, err := run(t, nil, "store", "vacuum", "--store", "sqlite:"+file)
	if err != nil || !strings.Contains(out, "vacuuming "+file) || !strings.Contains(out, "auto_vacuum incremental") {
		t.Fatalf("store vacuum: %v\n%s", err, out)
	}
	out, _, err = run(t, nil, "store", "vacuum", "--store", "sqlite:"+file, "--json")
	var rep vacuumReport
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || rep.AutoVacuumAfter != "incremental" || rep.Path != file || rep.BytesAfter <= 0 {
		t.Errorf("store vacuum --json: %v\n%s", err, out)
	}
	if _, stderr, err := run(t, nil, "store", "vacuum", "--help"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "Stop hookwatch serve first") || !strings.Contains(stderr, "-json") {
		t.Errorf("store vacuum --help: %v\n%s", err, stderr)
	}
	if _, _, err := run(t, nil, "store", "vacuum", "--store", "postgres://localhost/x"); hookwatch.ErrorCode(err) != hookwatch.EINVALID || !strings.Contains(err.Error(), "autovacuum") {
		t.Errorf("store vacuum on PostgreSQL: %v", err)
	}
}
