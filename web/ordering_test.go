package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/storetest"
)

// TestEventPageSaysWhatADeliveryWaitsBehind: of two pending deliveries of
// one ordering key, the later's event page says it waits behind the
// earlier and links to its event; the earlier's (the head) does not.
func TestEventPageSaysWhatADeliveryWaitsBehind(t *testing.T) {
	t.Parallel()
	e := setup(t)
	now := time.Now().UTC()
	var ids []string
	for i := range 2 {
		ev := storetest.NewEvent("stripe", "evt_ord_"+string(rune('a'+i)), now.Add(time.Duration(i)*time.Millisecond))
		ev.Destinations, ev.Orders = []string{"ordered"}, []hookwatch.DeliveryOrder{{Key: "inv_42"}}
		if _, err := e.store.InsertEvents(context.Background(), []*hookwatch.Event{ev}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	c := e.client()
	e.signIn(c)
	status, body := e.get(c, "/events/"+ids[1])
	if status != 200 {
		t.Fatalf("event page: %d", status)
	}
	for _, want := range []string{"waits behind", `href="/events/` + ids[0] + `"`, "ordering key", "inv_42"} {
		if !strings.Contains(body, want) {
			t.Errorf("the later event's page lacks %q", want)
		}
	}
	_, body = e.get(c, "/events/"+ids[0])
	if strings.Contains(body, "waits behind") {
		t.Errorf("the head's page says it waits behind another")
	}
	if !strings.Contains(body, "inv_42") {
		t.Errorf("the head's page does not show its ordering key")
	}
}
