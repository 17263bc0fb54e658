package ingest_test

import (
	"context"
	"testing"
)

// The source's subject path (Stripe's default, data.object.customer) is
// extracted into the stored event; a body without it stores none.
func TestReceiveExtractsSubject(t *testing.T) {
	t.Parallel()
	e := setup(t)
	body := `{"id":"evt_subj","object":"event","type":"invoice.paid","data":{"object":{"id":"in_1","customer":"cus_Subj1"}}}`
	r := e.post(t, "/in/stripe", signed(t, "stripe", stripeSecret, body, e.now), body)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	ev, err := e.store.GetEvent(context.Background(), r.body["id"].(string))
	if err != nil || ev.Subject != "cus_Subj1" {
		t.Fatalf("stored event = %+v, %v; want subject cus_Subj1", ev, err)
	}
	r = e.post(t, "/in/stripe", signed(t, "stripe", stripeSecret, stripeEvent("evt_nosubj"), e.now), stripeEvent("evt_nosubj"))
	if ev, err := e.store.GetEvent(context.Background(), r.body["id"].(string)); err != nil || ev.Subject != "" {
		t.Fatalf("event without a customer = %+v, %v; want no subject", ev, err)
	}
}
