package server_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/server"
	"github.com/hookwatch/hookwatch/sqlite"
)

// TestWaitsBehindHead: what `deliveries list` and the API say of an
// ordered delivery whose key's head failed: it waits behind the head (named),
// not "due"; the head says when its retry is.
func TestWaitsBehindHead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	var events []*hookwatch.Event
	for i := range 2 {
		at := start.Add(time.Duration(i) * time.Millisecond)
		events = append(events, &hookwatch.Event{ID: hookwatch.NewID("evt", at), Source: "stripe", Provider: "stripe", Type: "invoice.updated",
			Headers: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{}`), ReceivedAt: at,
			Destinations: []string{"app"}, Orders: []hookwatch.DeliveryOrder{{Key: "in_1"}}})
	}
	if _, err := s.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "w", Now: time.Now(), Lease: time.Minute, Limit: 10})
	if err != nil || len(ds) != 1 {
		t.Fatalf("claimed %d (%v), want the key's head only", len(ds), err)
	}
	head := ds[0]
	retry := time.Now().Add(time.Hour)
	if _, err := s.FinishDeliveries(ctx, []hookwatch.Finish{{Owner: "w", Outcome: hookwatch.OutcomeRetry, NextAttemptAt: retry,
		Attempt: hookwatch.Attempt{DeliveryID: head.ID, Owner: "w", At: time.Now(), Class: hookwatch.ClassServer, StatusCode: 500, Error: "HTTP 500"}}}); err != nil {
		t.Fatal(err)
	}
	pending, err := s.ListDeliveries(ctx, hookwatch.DeliveryFilter{Destination: "app", Status: hookwatch.DeliveryPending})
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending = %d (%v), want 2", len(pending), err)
	}
	wt, err := server.LoadWaits(ctx, s, []deliver.Destination{{Name: "app", Ordered: true}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range pending {
		w := wt.Of(d)
		if d.ID == head.ID {
			if w.Reason != deliver.WaitScheduled {
				t.Errorf("the head waits %q, want its retry (scheduled)", w.Reason)
			}
			continue
		}
		if w.Reason != deliver.WaitBehind || w.Head != head.ID || w.HeadEvent != head.EventID {
			t.Errorf("the second delivery waits %+v, want behind %s", w, head.ID)
		}
		j := server.NewWaiting(w)
		if !strings.Contains(j.Text, "behind "+head.ID) || !strings.Contains(j.Note, head.EventID) || j.Head != head.ID {
			t.Errorf("printed wait = %+v", j)
		}
	}
	// Unordered, the same delivery would just be due.
	plain, err := server.LoadWaits(ctx, s, []deliver.Destination{{Name: "app"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range pending {
		if d.ID != head.ID {
			if w := plain.Of(d); w.Reason != deliver.WaitDue {
				t.Errorf("without ordering the second delivery waits %q, want due", w.Reason)
			}
		}
	}
}
