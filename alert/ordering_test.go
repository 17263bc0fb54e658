package alert

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/storetest"
)

// blockKey stores two events of ordering key k for app and fails the
// first's attempt at now with outcome o (retry in an hour, or dead).
func blockKey(t *testing.T, s hookwatch.Store, k string, now time.Time, o hookwatch.Outcome) {
	t.Helper()
	ctx := context.Background()
	var evs []*hookwatch.Event
	for i := range 2 {
		e := storetest.NewEvent("stripe", k+string(rune('a'+i)), now.Add(time.Duration(i)*time.Millisecond))
		e.Destinations, e.Orders = []string{"app"}, []hookwatch.DeliveryOrder{{Key: k}}
		evs = append(evs, e)
	}
	if _, err := s.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "w", Now: now.Add(time.Second), Lease: time.Minute, Limit: 10,
		BlockOnDead: true})
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %d deliveries, %v; want the head", len(ds), err)
	}
	f := hookwatch.Finish{Owner: "w", Outcome: o, NextAttemptAt: now.Add(time.Hour),
		Attempt: hookwatch.Attempt{DeliveryID: ds[0].ID, Owner: "w", At: now, Class: hookwatch.ClassServer, StatusCode: 500}}
	if _, err := s.FinishDeliveries(ctx, []hookwatch.Finish{f}); err != nil {
		t.Fatal(err)
	}
}

func TestOrderingBlocked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		outcome hookwatch.Outcome
		onDead  hookwatch.OnDead
		fires   bool
	}{
		{"failing head", hookwatch.OutcomeRetry, hookwatch.OnDeadSkip, true},
		{"dead head, on_dead block", hookwatch.OutcomeDead, hookwatch.OnDeadBlock, true},
		{"dead head, on_dead skip", hookwatch.OutcomeDead, hookwatch.OnDeadSkip, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			// Queue times are the store's (wall) clock: the evaluator's
			// clock starts from it.
			now := time.Now().UTC()
			blockKey(t, s, "inv_1", now, tc.outcome)
			c := &clock{}
			n := &recorder{}
			e := newEvaluator(s, c, n, Rule{Name: "ordering-blocked", Kind: hookwatch.AlertOrderingBlocked, Per: "destination",
				Age: d(10 * time.Minute)})
			e.opts.Ordering = map[string]hookwatch.OnDead{"app": tc.onDead}
			tick(t, e, c, now.Add(5*time.Minute))
			if got := n.take(); len(got) != 0 {
				t.Fatalf("notified before the key waited 10m: %+v", got)
			}
			tick(t, e, c, now.Add(11*time.Minute))
			got := n.take()
			if !tc.fires {
				if len(got) != 0 {
					t.Fatalf("notified for a key that is not blocked: %+v", got)
				}
				return
			}
			if len(got) != 1 || len(got[0].Items) != 1 || got[0].Items[0].Kind != hookwatch.NotifyFiring {
				t.Fatalf("after 11m: %+v, want one firing notification", got)
			}
			it := got[0].Items[0]
			if it.Subject != "destination:app" || !strings.Contains(it.Summary, "1 ordering keys blocked") || it.Value < 600 {
				t.Errorf("item = subject %q summary %q value %g", it.Subject, it.Summary, it.Value)
			}
		})
	}
}
