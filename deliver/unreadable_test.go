package deliver_test

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/encrypt"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

// An event whose stored payload was altered does not hold up its
// destination: the others are delivered, it is dead-lettered with an error
// saying why and reported as a dead letter (issues, Sentry), never sent.
func TestUnreadableEventDoesNotStallDestination(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookwatch.db")
	key := storetest.NewKey(t)
	st, err := sqlite.Open(ctx, path, sqlite.WithCipher(storetest.NewCipher(t, key)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	var events []*hookwatch.Event
	for i, id := range []string{"evt_bad", "evt_good_1", "evt_good_2"} {
		ev := newEvent("stripe", id, now.Add(time.Duration(i)*time.Millisecond))
		ev.Destinations = []string{"app"}
		events = append(events, ev)
	}
	if _, err := st.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	// The oldest, first in the queue, is cut short behind the store's back.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET body = substr(body, 1, length(body) - 1) WHERE id = ?`, events[0].ID); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, srv := newSink(t)
	obs := &observer{}
	engine, err := deliver.New(deliver.Options{
		Store: st, Destinations: []deliver.Destination{{Name: "app", URL: srv.URL}}, Owner: "test",
		Clock: &clock{t: now.Add(time.Second)}, Observer: obs, Poll: 20 * time.Millisecond, DrainTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close(context.Background()) })
	e := &env{t: t, store: st, obs: obs, engine: engine}
	ds := e.wait("the good ones delivered and the bad one dead", all(func(d *hookwatch.Delivery) bool {
		return (d.EventID == events[0].ID && d.Status == hookwatch.DeliveryDead) ||
			(d.EventID != events[0].ID && d.Status == hookwatch.DeliverySucceeded)
	}))
	if s.count() != 2 {
		t.Fatalf("app received %d requests, want the 2 readable events", s.count())
	}
	s.mu.Lock()
	for _, b := range s.bodies {
		if !bytes.Equal(b, events[1].Body) && !bytes.Equal(b, events[2].Body) {
			t.Errorf("app received %q, not a readable event's body", b)
		}
	}
	s.mu.Unlock()
	var bad *hookwatch.Delivery
	for _, d := range ds {
		if d.EventID == events[0].ID {
			bad = d
		}
	}
	want := "event unreadable: payload does not open with key " + encrypt.KeyID(key) + " (tampered or wrong key); fix the key and replay"
	if bad.LastError != want {
		t.Fatalf("dead letter's error = %q, want %q", bad.LastError, want)
	}
	if as := attempts(t, st, bad.ID); len(as) != 1 || as[0].Error != want || as[0].Class != hookwatch.ClassUnknown {
		t.Fatalf("dead letter's attempts: %+v, want one of class %s saying %q", as, hookwatch.ClassUnknown, want)
	}
	// The observer hears it right after the claim commits.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		dead, _, _ := obs.snapshot()
		if len(dead) == 1 && dead[0] == bad.ID {
			break
		}
		if len(dead) > 1 || time.Now().After(deadline) {
			t.Fatalf("observer heard dead letters %v, want [%s]", dead, bad.ID)
		}
	}
}
