package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/postgres"
	"github.com/hookwatch/hookwatch/postgres/pgtest"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

// TestStoreCopyRoundTrip copies a SQLite installation into PostgreSQL, reads
// everything back from PostgreSQL, and runs the copy again: the second run
// copies nothing and still verifies.
func TestStoreCopyRoundTrip(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "hw.db")
	src, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	var events []*hookwatch.Event
	for i := range 1203 { // more than two pages of 500
		e := storetest.NewEvent("stripe", fmt.Sprintf("evt_copy_%d", i), now.Add(time.Duration(i-1203)*time.Second))
		if i%7 == 0 {
			e.ProviderEventID = ""
		}
		e.Body = append(e.Body, 0xff, 0x00) // byte-exact
		e.Destinations = []string{"app"}
		events = append(events, e)
	}
	// A GitHub event of a source that dedupes on the body.
	pushBody := []byte(`{"ref":"refs/heads/main"}`)
	push := storetest.NewEvent("github", "delivery-1", now)
	push.Body, push.DedupeKey = pushBody, ingest.BodyDedupeKey(pushBody)
	if _, err := src.InsertEvents(ctx, append(events, push)); err != nil {
		t.Fatal(err)
	}
	claimed, err := src.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "w1", Now: now, Lease: time.Minute, Limit: 3})
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim: %d, %v", len(claimed), err)
	}
	var fins []hookwatch.Finish
	for _, d := range claimed {
		fins = append(fins, hookwatch.Finish{Owner: "w1", Outcome: hookwatch.OutcomeRetry, NextAttemptAt: now.Add(time.Hour),
			Attempt: hookwatch.Attempt{DeliveryID: d.ID, Owner: "w1", At: now, Latency: 12 * time.Millisecond,
				Class: hookwatch.ClassServer, StatusCode: 503, Error: "HTTP 503", Response: []byte("busy")}})
	}
	if _, err := src.FinishDeliveries(ctx, fins); err != nil {
		t.Fatal(err)
	}
	if err := src.SetDestinationPaused(ctx, "app", true, now); err != nil {
		t.Fatal(err)
	}
	kept := &hookwatch.Quarantined{ID: hookwatch.NewID("qrn", now), Source: "stripe", Provider: "stripe", Reason: "bad_signature",
		Headers: http.Header{"Stripe-Signature": {"t=1,v1=ab"}}, Body: []byte(`{"id":"evt_rejected"}`), ReceivedAt: now}
	// A GitLab request kept with its token sealed under the source's key.
	srcKey, err := src.InstallationKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keptGitLab := &hookwatch.Quarantined{ID: hookwatch.NewID("qrn", now.Add(-time.Second)), Source: "gitlab", Provider: "gitlab", Reason: "bad_signature",
		Headers: hookwatch.SealHeaders(http.Header{"X-Gitlab-Token": {"glpat-copied"}}, srcKey), Body: []byte(`{}`), ReceivedAt: now.Add(-time.Second)}
	if err := src.AddQuarantined(ctx, []*hookwatch.Quarantined{kept, keptGitLab}); err != nil {
		t.Fatal(err)
	}
	if err := src.CreateUser(ctx, &hookwatch.User{Name: "alice", PasswordHash: []byte("$2a$10$not-a-real-hash"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	token := &hookwatch.APIToken{ID: hookwatch.NewID("tok", now), User: "alice", Name: "ci", Hash: hookwatch.HashToken("secret-token"), CreatedAt: now}
	if err := src.CreateAPIToken(ctx, token); err != nil {
		t.Fatal(err)
	}
	src.Close()

	cfgPath := filepath.Join(t.TempDir(), "hookwatch.yaml")
	os.WriteFile(cfgPath, []byte("sources:\n  - name: github\n    provider: github\n    secrets: [x]\n    dedupe: body\n"), 0o600)
	out, stderr, err := runBinary(t, "store", "copy", "--from", "sqlite:"+dbPath, "--to", url, "--config", cfgPath)
	if err != nil {
		t.Fatalf("store copy: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "copied 1204 of 1204 events") || !strings.Contains(out, "1203 of 1203 deliveries") || !strings.Contains(out, "with 3 attempts") {
		t.Errorf("store copy said:\n%s", out)
	}
	if !strings.Contains(stderr, "events: 1000 read") {
		t.Errorf("no progress output:\n%s", stderr)
	}

	dst, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	for _, i := range []int{0, 1, 600, 1202} {
		want := events[i]
		got, err := dst.GetEvent(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Body, want.Body) || !got.ReceivedAt.Equal(want.ReceivedAt) || got.ProviderEventID != want.ProviderEventID {
			t.Errorf("event %d differs after copy: %+v", i, got)
		}
	}
	d, attempts, err := dst.GetDelivery(ctx, claimed[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Attempts != 1 || d.LastStatus != 503 || len(attempts) != 1 || string(attempts[0].Response) != "busy" || attempts[0].Latency != 12*time.Millisecond {
		t.Errorf("delivery after copy: %+v, attempts %+v", d, attempts)
	}
	states, err := dst.DestinationStates(ctx)
	if err != nil || !states["app"].Paused {
		t.Errorf("destination state after copy: %+v, %v", states, err)
	}
	// The quarantine, users and their API tokens came along.
	if q, err := dst.GetQuarantined(ctx, kept.ID); err != nil || string(q.Body) != string(kept.Body) || q.Reason != "bad_signature" {
		t.Errorf("quarantined request after copy: %+v, %v", q, err)
	}
	if u, err := dst.GetUser(ctx, "alice"); err != nil || string(u.PasswordHash) != "$2a$10$not-a-real-hash" {
		t.Errorf("user after copy: %+v, %v", u, err)
	}
	if tok, err := dst.GetAPIToken(ctx, hookwatch.HashToken("secret-token"), now); err != nil || tok.User != "alice" {
		t.Errorf("API token after copy: %+v, %v", tok, err)
	}
	// The installation key came along: the GitLab token's seal still
	// matches the secret.
	if dstKey, err := dst.InstallationKey(ctx); err != nil || !bytes.Equal(dstKey, srcKey) {
		t.Errorf("installation key after copy = %x, %v; want the source's %x", dstKey, err, srcKey)
	}
	if q, err := dst.GetQuarantined(ctx, keptGitLab.ID); err != nil || !hookwatch.SealMatches(srcKey, q.Headers.Get("X-Gitlab-Token"), "glpat-copied") {
		t.Errorf("GitLab request after copy: %+v, %v; want its token sealed under the copied key", q, err)
	}
	if strings.Contains(stderr, "warning") {
		t.Errorf("a copy into a new database warned:\n%s", stderr)
	}
	if !strings.Contains(out, "2 of 2 quarantined requests, 1 users, 1 API tokens") {
		t.Errorf("store copy did not report the quarantine and users:\n%s", out)
	}

	// The dedupe memory came along: a provider retry is a duplicate, and so
	// is the same GitHub body with a new delivery ID (dedupe: body).
	resent := storetest.NewEvent("github", "delivery-2", now)
	resent.Body, resent.DedupeKey = pushBody, ingest.BodyDedupeKey(pushBody)
	res, err := dst.InsertEvents(ctx, []*hookwatch.Event{storetest.NewEvent("stripe", "evt_copy_1", now), resent})
	if err != nil || !res[0].Duplicate || res[0].ID != events[1].ID || !res[1].Duplicate || res[1].ID != push.ID {
		t.Errorf("retries after copy: %+v, %v; want duplicates of %s and %s", res, err, events[1].ID, push.ID)
	}

	out, stderr, err = runBinary(t, "store", "copy", "--from", "sqlite:"+dbPath, "--to", url)
	if err != nil {
		t.Fatalf("second store copy: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "copied 0 of 1204 events (1204 already there)") || !strings.Contains(out, "0 of 1203 deliveries (1203 already there)") {
		t.Errorf("second store copy said:\n%s", out)
	}
}

// TestMultiInstancePostgres runs three real `hookwatch serve` processes on
// one PostgreSQL schema, ingests through all three at once (the same
// provider event IDs sent to different instances), kills one with SIGKILL
// mid-run, and checks that every acknowledged event is stored exactly once.
func TestMultiInstancePostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	var procs []*proc
	for range 3 {
		procs = append(procs, serve(t, t.TempDir(), stripeYAML(url)))
	}

	var (
		mu     sync.Mutex
		acked  = map[string]string{} // provider ID -> event ID
		killed atomic.Bool
		wg     sync.WaitGroup
		sent   atomic.Int64
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 12 {
		wg.Go(func() {
			for i := 0; i < 400; i++ {
				// Each provider ID goes to two instances: a provider retry
				// landing elsewhere behind the load balancer.
				pid := fmt.Sprintf("evt_m%d_%d", w/2, i)
				p := procs[(w+i)%3]
				if killed.Load() && p == procs[0] {
					p = procs[1+i%2]
				}
				status, id, err := sendStripe(client, p.public, pid)
				sent.Add(1)
				if err != nil {
					if p == procs[0] {
						continue // the killed instance
					}
					t.Errorf("request to a live instance failed: %v", err)
					return
				}
				if status/100 != 2 {
					continue
				}
				mu.Lock()
				if prev, ok := acked[pid]; ok && prev != id {
					t.Errorf("%s acknowledged as %s and as %s", pid, prev, id)
				}
				acked[pid] = id
				n := len(acked)
				mu.Unlock()
				if n == 600 && !killed.Load() {
					killed.Store(true)
					procs[0].kill()
				}
			}
		})
	}
	wg.Wait()
	t.Logf("sent %d requests through 3 instances, %d provider events acknowledged", sent.Load(), len(acked))
	if !killed.Load() {
		t.Fatal("the kill did not happen")
	}

	ctx := context.Background()
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stored := map[string]int{}
	for before := ""; ; {
		page, err := s.ListEvents(ctx, hookwatch.EventFilter{Before: before, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			stored[e.ProviderEventID]++
		}
		before = page[len(page)-1].ID
	}
	for pid, n := range stored {
		if n != 1 {
			t.Errorf("%s stored %d times", pid, n)
		}
	}
	for pid, id := range acked {
		if _, err := s.GetEvent(ctx, id); err != nil {
			t.Errorf("acknowledged %s (%s) not stored: %v", pid, id, err)
		}
	}
	for _, p := range procs[1:] {
		p.stop(t)
	}
}
