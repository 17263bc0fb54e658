package main

import (
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch"
)

// An ordered destination's key is compiled once and computed per event
// for its delivery only; an event without the field goes unordered with
// the reason and is counted; a bad expression stops the start, naming
// the field.
func TestWireOrdering(t *testing.T) {
	t.Parallel()
	yaml := strings.Replace(wireYAML, "  - name: audit\n    url: https://audit.example.com/in\n",
		"  - name: audit\n    url: https://audit.example.com/in\n    ordering: {key: 'body.data.object.id', on_dead: block}\n", 1)
	cfg := parseWire(t, yaml)
	var unordered []string
	order, err := orderer(cfg, func(d string) { unordered = append(unordered, d) })
	if err != nil {
		t.Fatal(err)
	}
	e := &hookwatch.Event{Source: "stripe", Body: []byte(`{"data":{"object":{"id":"in_42"}}}`), Destinations: []string{"app", "audit"}}
	order(e)
	if len(e.Orders) != 2 || e.Orders[0] != (hookwatch.DeliveryOrder{}) || e.Orders[1].Key != "in_42" {
		t.Fatalf("orders = %+v, want app unordered and audit keyed in_42", e.Orders)
	}
	e = &hookwatch.Event{Source: "stripe", Body: []byte(`{"data":{}}`), Destinations: []string{"audit"}}
	order(e)
	if len(e.Orders) != 1 || e.Orders[0].Key != "" || !strings.Contains(e.Orders[0].Error, "ordering key not computed") {
		t.Fatalf("orders = %+v, want unordered with the reason", e.Orders)
	}
	if len(unordered) != 1 || unordered[0] != "audit" {
		t.Errorf("unordered heard %v, want [audit]", unordered)
	}
	for _, d := range destinations(cfg) {
		if d.Name == "audit" && (!d.Ordered || d.OnDead != hookwatch.OnDeadBlock) {
			t.Errorf("engine destination audit: ordered %v on_dead %q", d.Ordered, d.OnDead)
		}
	}
	if modes := orderingModes(cfg); len(modes) != 1 || modes["audit"] != hookwatch.OnDeadBlock {
		t.Errorf("ordering modes = %v", modes)
	}

	bad := parseWire(t, strings.Replace(yaml, "key: 'body.data.object.id'", "key: 'body.data.object.id +'", 1))
	if _, err := orderer(bad, nil); err == nil || !strings.Contains(err.Error(), "destinations[1].ordering.key (audit)") {
		t.Fatalf("bad expression: %v, want an error naming destinations[1].ordering.key", err)
	}
}
