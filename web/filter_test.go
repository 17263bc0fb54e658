package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// The event page says which route's filter left a destination out, and
// why when the filter failed; what the error quotes is escaped.
func TestEventPageFiltered(t *testing.T) {
	t.Parallel()
	e := setup(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	ev := &hookwatch.Event{ID: hookwatch.NewID("evt", now), Source: "stripe", Provider: "stripe", Type: "invoice.paid",
		Headers: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"id":"evt_filtered"}`), ReceivedAt: now,
		Filtered: []hookwatch.Filtered{
			{Route: 1, Destinations: []string{"finance"}, Err: "no such key: <amount_paid>"},
			{Route: 3, Destinations: []string{"ledger", "audit"}},
		}}
	if _, err := e.store.InsertEvents(context.Background(), []*hookwatch.Event{ev}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c)
	status, body := e.get(c, "/events/"+ev.ID)
	if status != http.StatusOK {
		t.Fatalf("event page: %d\n%s", status, body)
	}
	for _, want := range []string{
		"filter of route 1 left out finance: no such key: &lt;amount_paid&gt;",
		"filter of route 3 left out ledger, audit (false)",
		"Not routed to any destination.",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("event page lacks %q", want)
		}
	}
	if strings.Contains(body, "<amount_paid>") {
		t.Error("the filter's error is not escaped")
	}
}
