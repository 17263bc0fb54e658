package deliver_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

// gauge returns the value of the metric name for destination, or -1.
func gauge(t *testing.T, reg *prometheus.Registry, name, destination string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "destination" && l.GetValue() == destination {
					if m.GetGauge() != nil {
						return m.GetGauge().GetValue()
					}
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}

// TestOrderingGauges: a key whose head failed is counted as blocked, with
// the age of its head; an ordered destination with nothing blocked shows 0;
// an unordered one has no ordering gauges.
func TestOrderingGauges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC()
	var evs []*hookwatch.Event
	for i := range 2 {
		e := storetest.NewEvent("stripe", "evt_g"+string(rune('a'+i)), now.Add(time.Duration(i)*time.Millisecond))
		e.Destinations, e.Orders = []string{"app"}, []hookwatch.DeliveryOrder{{Key: "inv_1"}}
		evs = append(evs, e)
	}
	if _, err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	ds, err := st.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "w", Now: now.Add(time.Second), Lease: time.Minute, Limit: 10})
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %d, %v; want the head", len(ds), err)
	}
	if _, err := st.FinishDeliveries(ctx, []hookwatch.Finish{{Owner: "w", Outcome: hookwatch.OutcomeRetry, NextAttemptAt: now.Add(time.Hour),
		Attempt: hookwatch.Attempt{DeliveryID: ds[0].ID, Owner: "w", At: now, Class: hookwatch.ClassServer, StatusCode: 500}}}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	clock := fixedClock(now.Add(90 * time.Second))
	m := deliver.NewMetrics(reg, deliver.MetricsOptions{Store: st, Destinations: []string{"app", "calm", "plain"},
		Ordering: map[string]hookwatch.OnDead{"app": hookwatch.OnDeadSkip, "calm": hookwatch.OnDeadBlock}, Clock: clock})
	if got := gauge(t, reg, "hookwatch_ordering_blocked_keys", "app"); got != 1 {
		t.Errorf("blocked keys of app = %g, want 1", got)
	}
	if age := gauge(t, reg, "hookwatch_ordering_blocked_oldest_age_seconds", "app"); age < 60 || age > 120 {
		t.Errorf("oldest blocked age of app = %g s, want about 90", age)
	}
	if got := gauge(t, reg, "hookwatch_ordering_blocked_keys", "calm"); got != 0 {
		t.Errorf("blocked keys of calm = %g, want 0", got)
	}
	if got := gauge(t, reg, "hookwatch_ordering_blocked_keys", "plain"); got != -1 {
		t.Errorf("an unordered destination has a blocked-keys gauge (%g)", got)
	}
	m.Unordered("app")
	if got := gauge(t, reg, "hookwatch_ordering_unordered_total", "app"); got != 1 {
		t.Errorf("unordered total = %g, want 1", got)
	}
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }
