package quarantine_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/expr"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/provider"
	"github.com/hookwatch/hookwatch/quarantine"
)

// A release routes through the same router as the receive path: route
// filters run on the released event, and what they left out is recorded.
func TestReleaseRoutesThroughFilters(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	scheme, err := provider.New("stripe", provider.Config{Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	received := time.Now().UTC().Truncate(time.Microsecond)
	var ids []string
	for i, live := range []bool{true, false} {
		body := []byte(fmt.Sprintf(`{"id":"evt_rel_%d","object":"event","type":"invoice.paid","livemode":%v}`, i, live))
		h := http.Header{"Content-Type": {"application/json"}}
		if err := scheme.(provider.Signer).Sign(h, "", body, received); err != nil {
			t.Fatal(err)
		}
		id := hookwatch.NewID("qrn", received.Add(time.Duration(i)*time.Millisecond))
		ids = append(ids, id)
		if err := store.AddQuarantined(ctx, []*hookwatch.Quarantined{{ID: id, Source: "stripe", Provider: "stripe", Reason: "bad_signature",
			Method: "POST", URL: "http://127.0.0.1/in/stripe", Headers: h, Body: body, ReceivedAt: received}}); err != nil {
			t.Fatal(err)
		}
	}
	live, err := expr.CompileFilter(`body.livemode == true`)
	if err != nil {
		t.Fatal(err)
	}
	rl := &quarantine.Releaser{Store: store, Sources: []ingest.Source{source(t, "stripe", "stripe", provider.Config{Secrets: []string{secret}})},
		Router: hookwatch.Router([]hookwatch.Route{
			{Source: "stripe", Destinations: []string{"finance"}, Filter: expr.RouteFilter(live)},
			{Source: "stripe", Destinations: []string{"audit"}},
		})}
	rep, err := rl.Release(ctx, quarantine.Request{Filter: hookwatch.QuarantineFilter{IDs: ids}, By: "test"})
	if err != nil || rep.Counts[quarantine.Released] != 2 {
		t.Fatalf("release: %+v, %v", rep, err)
	}
	for _, r := range rep.Results {
		ds, err := store.ListDeliveries(ctx, hookwatch.DeliveryFilter{EventIDs: []string{r.EventID}})
		if err != nil {
			t.Fatal(err)
		}
		var dests []string
		for _, d := range ds {
			dests = append(dests, d.Destination)
		}
		fs, err := store.EventFilters(ctx, r.EventID)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := store.GetEvent(ctx, r.EventID)
		want, wantFiltered := "[audit finance]", "[]"
		if e.ProviderEventID == "evt_rel_1" {
			want, wantFiltered = "[audit]", "[filter of route 1 left out finance (false)]"
		}
		if got := fmt.Sprint(slices.Sorted(slices.Values(dests))); got != want {
			t.Errorf("%s: deliveries to %s, want %s", e.ProviderEventID, got, want)
		}
		var got []string
		for _, f := range fs {
			got = append(got, f.String())
		}
		if fmt.Sprint(got) != wantFiltered {
			t.Errorf("%s: filtered %v, want %s", e.ProviderEventID, got, wantFiltered)
		}
	}
}
