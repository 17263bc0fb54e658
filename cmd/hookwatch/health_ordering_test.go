package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
)

// TestHealthShowsBlockedKeys: `hookwatch health` says how many ordering
// keys of an ordered destination are blocked behind a failing head, and
// since when, in the table and in --json.
func TestHealthShowsBlockedKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "hw.db")
	cfgPath := writeYAML(t, dir, anyPortsYAML+orderedYAML("sqlite:"+dbPath, "http://127.0.0.1:9/"))
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	// Two keys, two events each; the head of key a fails once and waits
	// for its retry: key a is blocked, key b is not.
	start := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Microsecond)
	var events []*hookwatch.Event
	for i, k := range []string{"a", "b", "a", "b"} {
		e := &hookwatch.Event{ID: hookwatch.NewID("evt", start.Add(time.Duration(i)*time.Millisecond)), Source: "stripe", Provider: "stripe",
			Type: "invoice.updated", Headers: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{}`),
			ReceivedAt: start.Add(time.Duration(i) * time.Millisecond), Destinations: []string{"app"}, Orders: []hookwatch.DeliveryOrder{{Key: k}}}
		events = append(events, e)
	}
	if _, err := s.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "w", Now: time.Now(), Lease: time.Minute, Limit: 10})
	if err != nil || len(ds) != 2 {
		t.Fatalf("claimed %d heads (%v), want 2", len(ds), err)
	}
	var fs []hookwatch.Finish
	for _, d := range ds {
		a := hookwatch.Attempt{DeliveryID: d.ID, Owner: "w", At: time.Now(), Latency: time.Millisecond, StatusCode: 200}
		o := hookwatch.OutcomeSucceeded
		if d.EventID == events[0].ID {
			a.Class, a.StatusCode, a.Error, o = hookwatch.ClassServer, 500, "HTTP 500", hookwatch.OutcomeRetry
		}
		fs = append(fs, hookwatch.Finish{Owner: "w", Attempt: a, Outcome: o, NextAttemptAt: time.Now().Add(time.Hour)})
	}
	if _, err := s.FinishDeliveries(ctx, fs); err != nil {
		t.Fatal(err)
	}
	s.Close()

	out, _, err := run(t, nil, "health", "--config", cfgPath)
	if err != nil {
		t.Fatalf("health: %v\n%s", err, out)
	}
	if !strings.Contains(out, "ordering: destination app has 1 blocked key") {
		t.Errorf("health does not show the blocked key:\n%s", out)
	}
	out, _, err = run(t, nil, "health", "--config", cfgPath, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Ordering map[string]struct {
			Keys          int     `json:"keys"`
			OldestSeconds float64 `json:"oldest_seconds"`
		} `json:"ordering_blocked"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("health --json: %v\n%s", err, out)
	}
	if b := rep.Ordering["app"]; b.Keys != 1 || b.OldestSeconds < 0 || b.OldestSeconds > 3600 {
		t.Errorf("ordering_blocked = %+v, want app: 1 key, its head queued moments ago", rep.Ordering)
	}
}
