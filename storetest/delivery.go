package storetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// routed returns n events of source, each routed to dests, received one
// second apart from at.
func routed(source string, n int, at time.Time, dests ...string) []*hookwatch.Event {
	var out []*hookwatch.Event
	for i := 0; i < n; i++ {
		e := NewEvent(source, "", at.Add(time.Duration(i)*time.Second))
		e.Destinations = dests
		out = append(out, e)
	}
	return out
}

func claim(t *testing.T, s hookwatch.Store, dest, owner string, now time.Time, limit int) []*hookwatch.Delivery {
	t.Helper()
	ds, err := s.ClaimDeliveries(context.Background(), hookwatch.ClaimRequest{Destination: dest, Owner: owner, Now: now, Lease: time.Minute, Limit: limit})
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	return ds
}

func finish(t *testing.T, s hookwatch.Store, fs ...hookwatch.Finish) []error {
	t.Helper()
	res, err := s.FinishDeliveries(context.Background(), fs)
	if err != nil {
		t.Fatalf("FinishDeliveries: %v", err)
	}
	if len(res) != len(fs) {
		t.Fatalf("FinishDeliveries returned %d results for %d", len(res), len(fs))
	}
	return res
}

func attemptOf(d *hookwatch.Delivery, owner string, at time.Time, class hookwatch.ErrorClass, status int) hookwatch.Attempt {
	return hookwatch.Attempt{DeliveryID: d.ID, Owner: owner, At: at, Latency: 1500 * time.Microsecond, Class: class, StatusCode: status,
		Error: string(class), Response: []byte(strings.Repeat("x", 5000))}
}

func getDelivery(t *testing.T, s hookwatch.Store, id string) (*hookwatch.Delivery, []*hookwatch.Attempt) {
	t.Helper()
	d, as, err := s.GetDelivery(context.Background(), id)
	if err != nil {
		t.Fatalf("GetDelivery(%s): %v", id, err)
	}
	return d, as
}

func testDeliveries(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("ClaimRespectsDueTimeAndLease", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		events := routed("stripe", 3, base, "app", "audit")
		insert(t, s, events...)

		if got := claim(t, s, "app", "w1", base.Add(-time.Second), 10); len(got) != 0 {
			t.Fatalf("claimed %d deliveries before they were due", len(got))
		}
		got := claim(t, s, "app", "w1", base.Add(time.Second), 10)
		if len(got) != 2 {
			t.Fatalf("claimed %d at base+1s, want the 2 due", len(got))
		}
		if got[0].EventID != events[0].ID || got[1].EventID != events[1].ID {
			t.Errorf("claim order = %s, %s; want oldest due first", got[0].EventID, got[1].EventID)
		}
		d := got[0]
		if d.Destination != "app" || d.Status != hookwatch.DeliveryPending || d.LeaseOwner != "w1" ||
			!d.LeaseUntil.Equal(base.Add(time.Second+time.Minute)) {
			t.Errorf("claimed delivery = %+v", d)
		}
		if d.Event == nil || d.Event.ID != events[0].ID || string(d.Event.Body) != string(events[0].Body) ||
			d.Event.Headers.Get("Content-Type") != "application/json" {
			t.Fatalf("claimed delivery's event = %+v, want %s with body and headers", d.Event, events[0].ID)
		}
		// Leased: not claimable again, by anyone, until the lease expires.
		if again := claim(t, s, "app", "w2", base.Add(10*time.Second), 10); len(again) != 1 || again[0].EventID != events[2].ID {
			t.Fatalf("second claim = %d deliveries, want only the third event's", len(again))
		}
		// The other destination's deliveries are separate.
		if other := claim(t, s, "audit", "w1", base.Add(10*time.Second), 10); len(other) != 3 {
			t.Errorf("audit: claimed %d, want 3", len(other))
		}
	})

	t.Run("ExpiredLeaseIsReclaimed", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, routed("stripe", 1, base, "app")...)
		first := claim(t, s, "app", "crashed", base, 10)
		if len(first) != 1 {
			t.Fatalf("claimed %d, want 1", len(first))
		}
		if got := claim(t, s, "app", "w2", base.Add(59*time.Second), 10); len(got) != 0 {
			t.Fatalf("reclaimed before the lease expired")
		}
		got := claim(t, s, "app", "w2", base.Add(time.Minute), 10)
		if len(got) != 1 || got[0].ID != first[0].ID || got[0].LeaseOwner != "w2" {
			t.Fatalf("after expiry: %d claimed, want the crashed worker's delivery", len(got))
		}
		// The crashed worker's late finish conflicts; the new owner's wins.
		res := finish(t, s, hookwatch.Finish{Owner: "crashed", Outcome: hookwatch.OutcomeSucceeded, Attempt: attemptOf(first[0], "crashed", base, "", 200)})
		if hookwatch.ErrorCode(res[0]) != hookwatch.ECONFLICT {
			t.Errorf("finish by the old owner: %v, want conflict", res[0])
		}
		res = finish(t, s, hookwatch.Finish{Owner: "w2", Outcome: hookwatch.OutcomeSucceeded, Attempt: attemptOf(got[0], "w2", base.Add(time.Minute), "", 200)})
		if res[0] != nil {
			t.Errorf("finish by the new owner: %v", res[0])
		}
	})

	t.Run("ConcurrentClaimersNeverShare", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		const n = 300
		insert(t, s, routed("stripe", n, base, "app")...)
		var (
			mu   sync.Mutex
			seen = map[string]string{}
			dups []string
			wg   sync.WaitGroup
		)
		now := base.Add(time.Hour)
		for w := 0; w < 6; w++ {
			owner := fmt.Sprintf("w%d", w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					ds, err := s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: owner, Now: now, Lease: time.Minute, Limit: 7})
					if err != nil {
						t.Errorf("claim: %v", err)
						return
					}
					if len(ds) == 0 {
						return
					}
					mu.Lock()
					for _, d := range ds {
						if prev, ok := seen[d.ID]; ok {
							dups = append(dups, d.ID+" by "+prev+" and "+owner)
						}
						seen[d.ID] = owner
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(dups) > 0 {
			t.Fatalf("%d deliveries claimed twice: %v", len(dups), dups[:min(3, len(dups))])
		}
		if len(seen) != n {
			t.Fatalf("claimed %d distinct deliveries, want %d", len(seen), n)
		}
	})

	t.Run("FinishSucceeded", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, routed("stripe", 1, base, "app")...)
		d := claim(t, s, "app", "w1", base, 1)[0]
		at := base.Add(time.Second)
		res := finish(t, s, hookwatch.Finish{Owner: "w1", Outcome: hookwatch.OutcomeSucceeded, Attempt: attemptOf(d, "w1", at, "", 204)})
		if res[0] != nil {
			t.Fatal(res[0])
		}
		got, attempts := getDelivery(t, s, d.ID)
		if got.Status != hookwatch.DeliverySucceeded || got.Attempts != 1 || got.LeaseOwner != "" || got.CompletedAt.IsZero() || got.LastStatus != 204 {
			t.Errorf("after success: %+v", got)
		}
		if len(attempts) != 1 {
			t.Fatalf("%d attempts recorded, want 1", len(attempts))
		}
		a := attempts[0]
		if a.N != 1 || !a.At.Equal(at) || a.StatusCode != 204 || a.Latency != 1500*time.Microsecond || len(a.Response) != hookwatch.MaxResponseBody {
			t.Errorf("attempt = n %d at %v status %d latency %v response %d bytes; want 1, %v, 204, 1.5ms, 4096",
				a.N, a.At, a.StatusCode, a.Latency, len(a.Response), at)
		}
		if got := claim(t, s, "app", "w1", base.Add(time.Hour), 10); len(got) != 0 {
			t.Errorf("a succeeded delivery was claimed again")
		}
		res = finish(t, s, hookwatch.Finish{Owner: "w1", Outcome: hookwatch.OutcomeSucceeded, Attempt: hookwatch.Attempt{DeliveryID: "dlv_nope", At: at}})
		if hookwatch.ErrorCode(res[0]) != hookwatch.ENOTFOUND {
			t.Errorf("finish of a missing delivery: %v, want not_found", res[0])
		}
		if _, _, err := s.GetDelivery(ctx, "dlv_nope"); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("GetDelivery(missing): %v, want not_found", err)
		}
	})

	t.Run("Reschedule", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, routed("stripe", 1, base, "app")...)
		d := claim(t, s, "app", "w1", base, 1)[0]
		next := base.Add(time.Minute)
		res := finish(t, s, hookwatch.Finish{Owner: "w1", Outcome: hookwatch.OutcomeRetry, NextAttemptAt: next,
			Attempt: attemptOf(d, "w1", base, hookwatch.ClassServer, 503)})
		if res[0] != nil {
			t.Fatal(res[0])
		}
		got, _ := getDelivery(t, s, d.ID)
		if got.Status != hookwatch.DeliveryPending || got.Attempts != 1 || !got.NextAttemptAt.Equal(next) ||
			got.LastClass != hookwatch.ClassServer || got.LastStatus != 503 || got.LeaseOwner != "" {
			t.Errorf("after retry: %+v", got)
		}
		if c := claim(t, s, "app", "w2", next.Add(-time.Microsecond), 1); len(c) != 0 {
			t.Fatalf("claimed before its next attempt time")
		}
		c := claim(t, s, "app", "w2", next, 1)
		if len(c) != 1 || c[0].Attempts != 1 {
			t.Fatalf("at next attempt time: %d claimed", len(c))
		}
		// An attempt that does not count (410) leaves Attempts alone.
		finish(t, s, hookwatch.Finish{Owner: "w2", Outcome: hookwatch.OutcomeRetry, NextAttemptAt: next, NoCount: true,
			Attempt: attemptOf(c[0], "w2", next, hookwatch.ClassGone, 410)})
		got, attempts := getDelivery(t, s, d.ID)
		if got.Attempts != 1 || len(attempts) != 2 || attempts[1].N != 2 || attempts[1].Class != hookwatch.ClassGone {
			t.Errorf("after an uncounted attempt: attempts=%d, history %d", got.Attempts, len(attempts))
		}
	})

	// Claims come oldest due first even when that is not the order the
	// deliveries were made in (a retry rescheduled sooner than another's).
	t.Run("ClaimOrderIsDueTimeNotCreation", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		events := routed("stripe", 4, base, "app")
		insert(t, s, events...)
		ds := claim(t, s, "app", "w1", base.Add(10*time.Second), 10)
		if len(ds) != 4 {
			t.Fatalf("claimed %d, want 4", len(ds))
		}
		// Due again in the reverse order of creation.
		var fs []hookwatch.Finish
		for i, d := range ds {
			next := base.Add(time.Hour - time.Duration(i)*time.Minute)
			fs = append(fs, hookwatch.Finish{Owner: "w1", Outcome: hookwatch.OutcomeRetry, NextAttemptAt: next,
				Attempt: attemptOf(d, "w1", base.Add(10*time.Second), hookwatch.ClassServer, 503)})
		}
		for i, err := range finish(t, s, fs...) {
			if err != nil {
				t.Fatalf("finish %d: %v", i, err)
			}
		}
		got := claim(t, s, "app", "w2", base.Add(2*time.Hour), 3)
		if len(got) != 3 {
			t.Fatalf("claimed %d, want 3 (the limit)", len(got))
		}
		for i, d := range got {
			if want := ds[len(ds)-1-i].ID; d.ID != want {
				t.Errorf("claim %d = %s (due %s), want %s: oldest due first", i, d.ID, d.NextAttemptAt.Format(time.TimeOnly), want)
			}
		}
	})

	t.Run("DeadLetterThenReplayKeepsEvent", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		events := routed("stripe", 3, base, "app")
		insert(t, s, events...)
		var dead *hookwatch.Delivery
		for i, d := range claim(t, s, "app", "w1", base.Add(time.Hour), 10) {
			o := hookwatch.OutcomeSucceeded
			if i == 0 {
				o, dead = hookwatch.OutcomeDead, d
			}
			finish(t, s, hookwatch.Finish{Owner: "w1", Outcome: o, Attempt: attemptOf(d, "w1", base.Add(time.Hour), hookwatch.ClassServer, 500)})
		}
		got, _ := getDelivery(t, s, dead.ID)
		if got.Status != hookwatch.DeliveryDead || got.CompletedAt.IsZero() {
			t.Fatalf("after dead-letter: %+v", got)
		}
		if c := claim(t, s, "app", "w1", base.Add(48*time.Hour), 10); len(c) != 0 {
			t.Fatalf("a dead delivery was claimed")
		}
		list, err := s.ListDeliveries(ctx, hookwatch.DeliveryFilter{Status: hookwatch.DeliveryDead})
		if err != nil || len(list) != 1 || list[0].ID != dead.ID {
			t.Fatalf("list dead = %d (%v), want the one", len(list), err)
		}

		if _, err := s.ReplayDeliveries(ctx, hookwatch.ReplayRequest{Actor: "test", Now: base}); hookwatch.ErrorCode(err) != hookwatch.EINVALID {
			t.Errorf("replay without a filter: %v, want invalid", err)
		}
		now := base.Add(2 * time.Hour)
		dry, err := s.ReplayDeliveries(ctx, hookwatch.ReplayRequest{Filter: hookwatch.DeliveryFilter{Status: hookwatch.DeliveryDead}, Actor: "test", Now: now, DryRun: true})
		if err != nil || dry.Count != 1 {
			t.Fatalf("dry run = %+v, %v; want count 1", dry, err)
		}
		if got, _ := getDelivery(t, s, dead.ID); got.Status != hookwatch.DeliveryDead {
			t.Fatalf("dry run changed the delivery: %s", got.Status)
		}
		rep, err := s.ReplayDeliveries(ctx, hookwatch.ReplayRequest{Filter: hookwatch.DeliveryFilter{EventIDs: []string{dead.EventID}}, Actor: "alice", Now: now})
		if err != nil || rep.Count != 1 {
			t.Fatalf("replay = %+v, %v; want count 1", rep, err)
		}
		c := claim(t, s, "app", "w2", now, 10)
		if len(c) != 1 || c[0].ID != dead.ID || c[0].Attempts != 0 || c[0].Event.ID != dead.EventID || !c[0].QueuedAt.Equal(now) {
			t.Fatalf("after replay claimed %d: %+v", len(c), c)
		}
		finish(t, s, hookwatch.Finish{Owner: "w2", Outcome: hookwatch.OutcomeSucceeded, Attempt: attemptOf(c[0], "w2", now, "", 200)})
		_, attempts := getDelivery(t, s, dead.ID)
		if len(attempts) != 2 || attempts[1].N != 2 {
			t.Errorf("history after replay: %d attempts, want 2 (numbering continues)", len(attempts))
		}
		reps, err := s.ListReplays(ctx, 10)
		if err != nil || len(reps) != 1 {
			t.Fatalf("ListReplays = %d, %v; want 1 (dry runs are not recorded)", len(reps), err)
		}
		if r := reps[0]; r.Actor != "alice" || r.Count != 1 || !r.At.Equal(now) || len(r.Filter.EventIDs) != 1 || r.Filter.EventIDs[0] != dead.EventID {
			t.Errorf("replay record = %+v", r)
		}
	})

	t.Run("ReplayRateSpreadsDueTimes", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, routed("stripe", 4, base, "app")...)
		for _, d := range claim(t, s, "app", "w1", base.Add(time.Hour), 10) {
			finish(t, s, hookwatch.Finish{Owner: "w1", Outcome: hookwatch.OutcomeDead, Attempt: attemptOf(d, "w1", base.Add(time.Hour), hookwatch.ClassServer, 500)})
		}
		now := base.Add(2 * time.Hour)
		rep, err := s.ReplayDeliveries(ctx, hookwatch.ReplayRequest{Filter: hookwatch.DeliveryFilter{Destination: "app", Status: hookwatch.DeliveryDead}, Actor: "t", Now: now, Rate: 2})
		if err != nil || rep.Count != 4 {
			t.Fatalf("replay = %+v, %v", rep, err)
		}
		for i := 0; i < 4; i++ {
			at := now.Add(time.Duration(i) * 500 * time.Millisecond)
			if got := claim(t, s, "app", "w2", at, 10); len(got) != 1 {
				t.Fatalf("at +%v: claimed %d, want 1 (rate 2/s: one due every 500ms)", at.Sub(now), len(got))
			}
		}
	})

	t.Run("PauseKeepsDeliveriesWaiting", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, routed("stripe", 2, base, "app")...)
		if err := s.SetDestinationPaused(ctx, "app", true, base); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, s, "app", "w1", base.Add(time.Hour), 10); len(got) != 0 {
			t.Fatalf("claimed %d from a paused destination", len(got))
		}
		counts, err := s.CountDeliveries(ctx, hookwatch.DeliveryFilter{Destination: "app"})
		if err != nil || counts["app"][hookwatch.DeliveryPending] != 2 {
			t.Fatalf("while paused: counts %v (%v), want 2 pending", counts, err)
		}
		states, err := s.DestinationStates(ctx)
		if err != nil || !states["app"].Paused || !states["app"].Blocked() {
			t.Fatalf("state = %+v, %v; want paused", states["app"], err)
		}
		if err := s.SetDestinationPaused(ctx, "app", false, base); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, s, "app", "w1", base.Add(time.Hour), 10); len(got) != 2 {
			t.Fatalf("after resume claimed %d, want 2", len(got))
		}
	})

	t.Run("DisabledUntilResumed", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, routed("stripe", 1, base, "app")...)
		if err := s.DisableDestination(ctx, "app", "410 Gone", base); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, s, "app", "w1", base.Add(time.Hour), 10); len(got) != 0 {
			t.Fatalf("claimed from a disabled destination")
		}
		states, _ := s.DestinationStates(ctx)
		if st := states["app"]; st.DisabledAt.IsZero() || st.DisabledReason != "410 Gone" || st.Paused {
			t.Fatalf("state = %+v", st)
		}
		if err := s.SetDestinationPaused(ctx, "app", false, base); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, s, "app", "w1", base.Add(time.Hour), 10); len(got) != 1 {
			t.Fatalf("after resume claimed %d, want 1", len(got))
		}
	})

	t.Run("Release", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, routed("stripe", 2, base, "app")...)
		got := claim(t, s, "app", "w1", base.Add(time.Hour), 10)
		if err := s.ReleaseDeliveries(ctx, "other", []string{got[0].ID}); err != nil {
			t.Fatal(err)
		}
		if again := claim(t, s, "app", "w2", base.Add(time.Hour), 10); len(again) != 0 {
			t.Fatalf("release by a non-owner freed the lease")
		}
		if err := s.ReleaseDeliveries(ctx, "w1", []string{got[0].ID, got[1].ID}); err != nil {
			t.Fatal(err)
		}
		if again := claim(t, s, "app", "w2", base.Add(time.Hour), 10); len(again) != 2 {
			t.Fatalf("after release claimed %d, want 2", len(again))
		}
		d, attempts := getDelivery(t, s, got[0].ID)
		if d.Attempts != 0 || len(attempts) != 0 {
			t.Errorf("release recorded an attempt")
		}
	})

	t.Run("Circuit", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if err := s.SetDestinationPaused(ctx, "app", true, base); err != nil {
			t.Fatal(err)
		}
		st := hookwatch.DestinationState{Name: "app", Circuit: hookwatch.CircuitOpen, Failures: 10, ProbeAt: base.Add(time.Minute),
			NotBefore: base.Add(2 * time.Minute), UpdatedAt: base.Add(time.Second)}
		if err := s.SetCircuit(ctx, st); err != nil {
			t.Fatal(err)
		}
		states, err := s.DestinationStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := states["app"]
		if got.Circuit != hookwatch.CircuitOpen || got.Failures != 10 || !got.ProbeAt.Equal(st.ProbeAt) || !got.Paused ||
			!got.NotBefore.Equal(st.NotBefore) || !got.UpdatedAt.Equal(st.UpdatedAt) {
			t.Errorf("state = %+v; want open, 10 failures, probe and not-before kept, updated at %v, still paused", got, st.UpdatedAt)
		}
		// Closing clears the probe time and the wait.
		if err := s.SetCircuit(ctx, hookwatch.DestinationState{Name: "app", Circuit: hookwatch.CircuitClosed, UpdatedAt: base.Add(2 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		states, _ = s.DestinationStates(ctx)
		if got := states["app"]; got.Circuit != hookwatch.CircuitClosed || !got.ProbeAt.IsZero() || !got.NotBefore.IsZero() || !got.Paused {
			t.Errorf("state after closing = %+v; want closed, no probe time, no wait, still paused", got)
		}
	})

	t.Run("ListAndCount", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		a := routed("stripe", 3, base, "app", "audit")
		b := routed("github", 2, base.Add(time.Hour), "app")
		b[0].Type = "push"
		insert(t, s, append(a, b...)...)
		check := func(name string, f hookwatch.DeliveryFilter, want int) {
			t.Helper()
			got, err := s.ListDeliveries(ctx, f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(got) != want {
				t.Errorf("%s: %d deliveries, want %d", name, len(got), want)
			}
			if !sort.SliceIsSorted(got, func(i, j int) bool { return got[i].ID > got[j].ID }) {
				t.Errorf("%s: not newest first", name)
			}
		}
		check("all", hookwatch.DeliveryFilter{}, 8)
		check("destination", hookwatch.DeliveryFilter{Destination: "audit"}, 3)
		check("source", hookwatch.DeliveryFilter{Source: "github"}, 2)
		check("type", hookwatch.DeliveryFilter{Type: "push"}, 1)
		check("since", hookwatch.DeliveryFilter{Since: base.Add(30 * time.Minute)}, 2)
		check("until", hookwatch.DeliveryFilter{Until: base.Add(30 * time.Minute)}, 6)
		check("event", hookwatch.DeliveryFilter{EventIDs: []string{a[0].ID}}, 2)
		check("status", hookwatch.DeliveryFilter{Status: hookwatch.DeliveryDead}, 0)
		check("limit", hookwatch.DeliveryFilter{Limit: 3}, 3)
		first, _ := s.ListDeliveries(ctx, hookwatch.DeliveryFilter{Limit: 3})
		check("cursor", hookwatch.DeliveryFilter{Before: first[2].ID}, 5)
		counts, err := s.CountDeliveries(ctx, hookwatch.DeliveryFilter{Source: "stripe"})
		if err != nil || counts["app"][hookwatch.DeliveryPending] != 3 || counts["audit"][hookwatch.DeliveryPending] != 3 || len(counts) != 2 {
			t.Errorf("counts = %v, %v", counts, err)
		}
	})
}
