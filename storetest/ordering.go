package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// keyed returns n events per key, each routed to dest with that ordering
// key, received 1ms apart in rounds (k1#0, k2#0, ..., k1#1, ...) from at.
// byKey[k][i] is key k's i-th event.
func keyed(dest string, keys []string, n int, at time.Time) (all []*hookwatch.Event, byKey map[string][]*hookwatch.Event) {
	byKey = map[string][]*hookwatch.Event{}
	step := 0
	for i := 0; i < n; i++ {
		for _, k := range keys {
			e := NewEvent("stripe", fmt.Sprintf("%s-%d", k, i), at.Add(time.Duration(step)*time.Millisecond))
			step++
			e.Destinations = []string{dest}
			e.Orders = []hookwatch.DeliveryOrder{{Key: k}}
			all = append(all, e)
			byKey[k] = append(byKey[k], e)
		}
	}
	return all, byKey
}

func claimOrdered(t *testing.T, s hookwatch.Store, dest string, now time.Time, limit int, blockOnDead bool) []*hookwatch.Delivery {
	t.Helper()
	ds, err := s.ClaimDeliveries(context.Background(), hookwatch.ClaimRequest{Destination: dest, Owner: "w1", Now: now,
		Lease: time.Minute, Limit: limit, BlockOnDead: blockOnDead})
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	return ds
}

func outcome(d *hookwatch.Delivery, at time.Time, o hookwatch.Outcome, next time.Time) hookwatch.Finish {
	class, status := hookwatch.ClassNone, 200
	if o != hookwatch.OutcomeSucceeded {
		class, status = hookwatch.ClassServer, 500
	}
	return hookwatch.Finish{Owner: "w1", Attempt: attemptOf(d, "w1", at, class, status), Outcome: o, NextAttemptAt: next}
}

func eventIDs(ds []*hookwatch.Delivery) map[string]*hookwatch.Delivery {
	m := map[string]*hookwatch.Delivery{}
	for _, d := range ds {
		m[d.EventID] = d
	}
	return m
}

func testOrdering(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("ClaimsOnlyHeadsInReceiveOrder", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		all, byKey := keyed("app", []string{"a", "b"}, 3, base)
		// Stored in reverse: the order is the receive order, not the
		// insertion order.
		for i := len(all) - 1; i >= 0; i-- {
			insert(t, s, all[i])
		}
		now := base.Add(time.Minute)
		got := claimOrdered(t, s, "app", now, 100, false)
		if len(got) != 2 {
			t.Fatalf("claimed %d deliveries of 2 keys with 3 each, want the 2 heads", len(got))
		}
		m := eventIDs(got)
		if m[byKey["a"][0].ID] == nil || m[byKey["b"][0].ID] == nil {
			t.Fatalf("claimed %v, want the first event of each key", got)
		}
		if got[0].OrderKey == "" {
			t.Errorf("claimed delivery has no OrderKey")
		}
		// While the heads are leased, their keys give nothing more.
		if more := claimOrdered(t, s, "app", now, 100, false); len(more) != 0 {
			t.Fatalf("claimed %d more while every head is in flight", len(more))
		}
		for i := 1; i <= 2; i++ {
			finish(t, s, outcome(got[0], now, hookwatch.OutcomeSucceeded, time.Time{}), outcome(got[1], now, hookwatch.OutcomeSucceeded, time.Time{}))
			got = claimOrdered(t, s, "app", now, 100, false)
			m = eventIDs(got)
			if len(got) != 2 || m[byKey["a"][i].ID] == nil || m[byKey["b"][i].ID] == nil {
				t.Fatalf("round %d: claimed %d, want event %d of each key", i, len(got), i)
			}
		}
	})

	t.Run("OrderKeptUnderRetriesWithBackoff", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		all, byKey := keyed("app", []string{"k"}, 3, base)
		insert(t, s, all...)
		now := base.Add(time.Second)
		var sent []string
		for step := 0; step < 20 && len(sent) < 3; step++ {
			got := claimOrdered(t, s, "app", now, 100, false)
			if len(got) > 1 {
				t.Fatalf("claimed %d deliveries of one key at once", len(got))
			}
			if len(got) == 1 {
				d := got[0]
				// Each delivery fails its first two attempts, with a backoff
				// that leaves the later ones due long before it.
				if d.Attempts < 2 {
					finish(t, s, outcome(d, now, hookwatch.OutcomeRetry, now.Add(30*time.Second)))
				} else {
					finish(t, s, outcome(d, now, hookwatch.OutcomeSucceeded, time.Time{}))
					sent = append(sent, d.EventID)
				}
			}
			now = now.Add(31 * time.Second)
		}
		want := []string{byKey["k"][0].ID, byKey["k"][1].ID, byKey["k"][2].ID}
		if fmt.Sprint(sent) != fmt.Sprint(want) {
			t.Fatalf("delivered %v, want %v", sent, want)
		}
	})

	t.Run("FailingKeyDoesNotDelayOthers", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		all, byKey := keyed("app", []string{"bad", "g1", "g2"}, 4, base)
		plain := routed("stripe", 2, base, "app") // unordered
		insert(t, s, append(all, plain...)...)
		now := base.Add(time.Minute)
		delivered := map[string]int{}
		for step := 0; step < 10; step++ {
			for _, d := range claimOrdered(t, s, "app", now, 100, false) {
				if d.OrderKey == "bad" {
					finish(t, s, outcome(d, now, hookwatch.OutcomeRetry, now.Add(time.Hour)))
					delivered["bad-attempts"]++
					continue
				}
				finish(t, s, outcome(d, now, hookwatch.OutcomeSucceeded, time.Time{}))
				delivered[d.OrderKey]++
			}
		}
		if delivered["g1"] != 4 || delivered["g2"] != 4 || delivered[""] != 2 {
			t.Fatalf("delivered %v while key bad fails: want all 4 of g1 and g2 and both unordered", delivered)
		}
		if delivered["bad-attempts"] != 1 {
			t.Fatalf("key bad had %d attempts, want 1 (its head waits for its retry in an hour)", delivered["bad-attempts"])
		}
		head, err := s.OrderHead(ctx, "app", "bad", false)
		if err != nil {
			t.Fatalf("OrderHead: %v", err)
		}
		if head.EventID != byKey["bad"][0].ID {
			t.Errorf("head of bad = %s, want its first event %s", head.EventID, byKey["bad"][0].ID)
		}
		ws, err := s.WaitingHeads(ctx)
		if err != nil {
			t.Fatalf("WaitingHeads: %v", err)
		}
		b := hookwatch.TallyBlocked(ws, nil)["app"]
		if b.Keys != 1 || !b.Oldest.Equal(head.QueuedAt) {
			t.Errorf("blocked = %+v, want 1 key waiting since %s", b, head.QueuedAt)
		}
		if _, err := s.OrderHead(ctx, "app", "g1", false); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("OrderHead of a drained key: %v, want ENOTFOUND", err)
		}
	})

	for _, mode := range []hookwatch.OnDead{hookwatch.OnDeadSkip, hookwatch.OnDeadBlock} {
		t.Run("OnDead_"+string(mode), func(t *testing.T) {
			t.Parallel()
			s := open(t)
			block := mode == hookwatch.OnDeadBlock
			all, byKey := keyed("app", []string{"k", "other"}, 2, base)
			insert(t, s, all...)
			now := base.Add(time.Minute)
			got := claimOrdered(t, s, "app", now, 100, block)
			m := eventIDs(got)
			first := m[byKey["k"][0].ID]
			if first == nil {
				t.Fatalf("the head of k was not claimed")
			}
			finish(t, s, outcome(first, now, hookwatch.OutcomeDead, time.Time{}))
			finish(t, s, outcome(m[byKey["other"][0].ID], now, hookwatch.OutcomeSucceeded, time.Time{}))

			got = claimOrdered(t, s, "app", now, 100, block)
			m = eventIDs(got)
			if m[byKey["other"][1].ID] == nil {
				t.Fatalf("key other did not go on after key k's head died")
			}
			second := m[byKey["k"][1].ID]
			ws, err := s.WaitingHeads(ctx)
			if err != nil {
				t.Fatalf("WaitingHeads: %v", err)
			}
			blocked := hookwatch.TallyBlocked(ws, map[string]hookwatch.OnDead{"app": mode})["app"]
			head, err := s.OrderHead(ctx, "app", "k", block)
			if err != nil {
				t.Fatalf("OrderHead: %v", err)
			}
			if !block {
				if second == nil {
					t.Fatalf("on_dead skip: k's second event was not claimed after its head died")
				}
				if head.ID != second.ID {
					t.Errorf("on_dead skip: head = %s, want the second delivery %s", head.ID, second.ID)
				}
				return
			}
			if second != nil {
				t.Fatalf("on_dead block: k's second event was claimed while its head is dead")
			}
			if head.ID != first.ID || head.Status != hookwatch.DeliveryDead {
				t.Errorf("on_dead block: head = %s (%s), want the dead delivery %s", head.ID, head.Status, first.ID)
			}
			if blocked.Keys != 1 {
				t.Errorf("on_dead block: blocked keys = %d, want 1", blocked.Keys)
			}
			// A replay of the dead one unblocks the key, in order.
			if _, err := s.ReplayDeliveries(ctx, hookwatch.ReplayRequest{Filter: hookwatch.DeliveryFilter{EventIDs: []string{byKey["k"][0].ID}},
				Actor: "test", Now: now}); err != nil {
				t.Fatalf("ReplayDeliveries: %v", err)
			}
			got = claimOrdered(t, s, "app", now, 100, block)
			if len(got) != 1 || got[0].ID != first.ID {
				t.Fatalf("after the replay claimed %d, want only the replayed head", len(got))
			}
			finish(t, s, outcome(got[0], now, hookwatch.OutcomeSucceeded, time.Time{}))
			got = claimOrdered(t, s, "app", now, 100, block)
			if len(got) != 1 || got[0].EventID != byKey["k"][1].ID {
				t.Fatalf("after the replayed head succeeded claimed %d, want k's second event", len(got))
			}
		})
	}

	t.Run("ReplayKeepsOrder", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		all, byKey := keyed("app", []string{"k"}, 4, base)
		insert(t, s, all...)
		now := base.Add(time.Minute)
		for range 4 {
			got := claimOrdered(t, s, "app", now, 100, false)
			if len(got) != 1 {
				t.Fatalf("claimed %d, want 1", len(got))
			}
			finish(t, s, outcome(got[0], now, hookwatch.OutcomeSucceeded, time.Time{}))
		}
		// Replayed with a spread that makes them due in reverse order of
		// their IDs would not matter: the order is the receive order.
		if _, err := s.ReplayDeliveries(ctx, hookwatch.ReplayRequest{Filter: hookwatch.DeliveryFilter{Destination: "app"},
			Actor: "test", Now: now, Rate: 1}); err != nil {
			t.Fatalf("ReplayDeliveries: %v", err)
		}
		later := now.Add(time.Hour) // all due
		var sent []string
		for range 6 {
			got := claimOrdered(t, s, "app", later, 100, false)
			if len(got) > 1 {
				t.Fatalf("claimed %d replayed deliveries of one key at once", len(got))
			}
			for _, d := range got {
				finish(t, s, outcome(d, later, hookwatch.OutcomeSucceeded, time.Time{}))
				sent = append(sent, d.EventID)
			}
		}
		var want []string
		for _, e := range byKey["k"] {
			want = append(want, e.ID)
		}
		if fmt.Sprint(sent) != fmt.Sprint(want) {
			t.Fatalf("replayed in order %v, want %v", sent, want)
		}
	})

	t.Run("LeaseExpiryKeepsHead", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		all, byKey := keyed("app", []string{"k"}, 2, base)
		insert(t, s, all...)
		now := base.Add(time.Minute)
		if got := claimOrdered(t, s, "app", now, 100, false); len(got) != 1 {
			t.Fatalf("claimed %d, want the head", len(got))
		}
		// Its owner dies: after the lease, the same head is claimed again,
		// and its follower still waits.
		got := claimOrdered(t, s, "app", now.Add(2*time.Minute), 100, false)
		if len(got) != 1 || got[0].EventID != byKey["k"][0].ID {
			t.Fatalf("after the lease expired claimed %v, want only the head again", got)
		}
	})

	t.Run("UnorderedWhenKeyFails", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		e := NewEvent("stripe", "x", base)
		e.Destinations = []string{"app"}
		e.Orders = []hookwatch.DeliveryOrder{{Error: "ordering key not computed: no such key 'id'"}}
		insert(t, s, e)
		got := claimOrdered(t, s, "app", base.Add(time.Second), 10, false)
		if len(got) != 1 {
			t.Fatalf("claimed %d, want the unordered delivery", len(got))
		}
		d, _ := getDelivery(t, s, got[0].ID)
		if d.OrderKey != "" || d.OrderError != e.Orders[0].Error {
			t.Errorf("delivery OrderKey %q OrderError %q, want none and %q", d.OrderKey, d.OrderError, e.Orders[0].Error)
		}
	})
}
