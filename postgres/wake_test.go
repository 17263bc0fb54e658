package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/postgres"
	"github.com/jackc/pgx/v5"
)

func openStore(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A Wake on one instance reaches the subscribers of another, for that
// destination only.
func TestWakeAcrossInstances(t *testing.T) {
	t.Parallel()
	url := reusedURL(t)
	a, b := openStore(t, url), openStore(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app, other := b.Subscribe(ctx, "app"), b.Subscribe(ctx, "other")
	// The LISTEN connection starts in the background: wake until heard.
	deadline := time.After(10 * time.Second)
	for heard := false; !heard; {
		if err := a.Wake(ctx, "app"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-app:
			heard = true
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("no wake-up across instances within 10s")
		}
	}
	select {
	case <-other:
		t.Error("subscriber of another destination woken")
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	if _, ok := <-app; ok {
		// A signal may still be buffered; the channel must close after it.
		if _, ok := <-app; ok {
			t.Error("channel not closed after its context ended")
		}
	}
}

// One instance leads at a time; when the leader's session dies (kill -9
// of its process ends the session the same way), another takes over and
// the old leader learns it has lost.
func TestLeaderTakeOver(t *testing.T) {
	t.Parallel()
	url := reusedURL(t)
	a, b := openStore(t, url), openStore(t, url)
	ctx := context.Background()
	leadA, releaseA, err := a.Lead(ctx, "jobs")
	if err != nil {
		t.Fatal(err)
	}
	defer releaseA()

	got := make(chan context.Context, 1)
	go func() {
		lead, release, err := b.Lead(ctx, "jobs")
		if err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(release)
		got <- lead
	}()
	select {
	case <-got:
		t.Fatal("two leaders at once")
	case <-time.After(3 * time.Second):
	}

	// Kill A's lock session from outside.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var killed int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		  AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended('hookwatch/leader/jobs/' || current_schema(), 0)`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("killed %d leader sessions (%v), want 1", killed, err)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no take-over within 10s of the leader's death")
	}
	select {
	case <-leadA.Done():
		if !errors.Is(context.Cause(leadA), context.Canceled) && context.Cause(leadA) == nil {
			t.Errorf("cause = %v", context.Cause(leadA))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the dead leader was not told it lost")
	}

	// B leads now: A cannot.
	ctx2, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, _, err := a.Lead(ctx2, "jobs"); err == nil {
		t.Fatal("A leads again while B leads")
	}
}
