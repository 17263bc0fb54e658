package hookwatch_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch"
)

// An event goes to every route of its source whose type globs match (or
// that has none), each destination once, in the routes' order.
func TestRouter(t *testing.T) {
	route := hookwatch.Router([]hookwatch.Route{
		{Source: "stripe", Destinations: []string{"app"}, Types: []string{"invoice.*", "customer.created"}},
		{Source: "stripe", Destinations: []string{"audit", "app"}},
		{Source: "github", Destinations: []string{"ci"}, Types: []string{"push"}},
	})
	for _, tc := range []struct{ source, typ, want string }{
		{"stripe", "invoice.paid", "[app audit]"},
		{"stripe", "customer.created", "[app audit]"},
		{"stripe", "charge.failed", "[audit app]"},
		{"github", "push", "[ci]"},
		{"github", "issues", "[]"},
		{"gitlab", "push", "[]"},
	} {
		dests, filtered := route(&hookwatch.Event{Source: tc.source, Type: tc.typ})
		if filtered != nil {
			t.Errorf("route(%s, %s) filtered %v without filters", tc.source, tc.typ, filtered)
		}
		if got := fmt.Sprint(dests); got != tc.want {
			t.Errorf("route(%s, %s) = %s, want %s", tc.source, tc.typ, got, tc.want)
		}
	}
}

// fieldFilter passes events whose body equals want; a body "boom" is an
// error. It counts the inputs built.
type fieldFilter struct {
	want   string
	inputs *int
}

func (f fieldFilter) NewInput(ev *hookwatch.Event) any { *f.inputs++; return string(ev.Body) }
func (f fieldFilter) Match(in any) (bool, error) {
	if in.(string) == "boom" {
		return false, errors.New("no such key: boom")
	}
	return in.(string) == f.want, nil
}

// A route's filter runs after its types; a false or failing filter leaves
// the route's destinations out, recorded with the route's number unless
// another route delivered them; the input is built once per event.
func TestRouterFilters(t *testing.T) {
	var inputs int
	route := hookwatch.Router([]hookwatch.Route{
		{Source: "gh", Destinations: []string{"ci"}, Types: []string{"push"}, Filter: fieldFilter{"main", &inputs}},
		{Source: "stripe", Destinations: []string{"finance", "audit"}, Filter: fieldFilter{"paid", &inputs}},
		{Source: "stripe", Destinations: []string{"audit"}},
		{Source: "stripe", Destinations: []string{"ledger"}, Filter: fieldFilter{"paid", &inputs}},
	})
	for _, tc := range []struct{ source, typ, body, want, filtered string }{
		{"gh", "push", "main", "[ci]", "[]"},
		{"gh", "push", "dev", "[]", "[filter of route 1 left out ci (false)]"},
		{"gh", "issues", "dev", "[]", "[]"}, // the types exclude it before the filter runs
		{"stripe", "x", "paid", "[finance audit ledger]", "[]"},
		{"stripe", "x", "open", "[audit]", "[filter of route 2 left out finance (false) filter of route 4 left out ledger (false)]"},
		{"stripe", "x", "boom", "[audit]", "[filter of route 2 left out finance: no such key: boom filter of route 4 left out ledger: no such key: boom]"},
	} {
		inputs = 0
		dests, filtered := route(&hookwatch.Event{Source: tc.source, Type: tc.typ, Body: []byte(tc.body)})
		if got := fmt.Sprint(dests); got != tc.want {
			t.Errorf("%s %s %s: destinations %s, want %s", tc.source, tc.typ, tc.body, got, tc.want)
		}
		if got := fmt.Sprint(filtered); got != tc.filtered {
			t.Errorf("%s %s %s: filtered %s, want %s", tc.source, tc.typ, tc.body, got, tc.filtered)
		}
		if inputs > 1 {
			t.Errorf("%s %s %s: %d inputs built for one event", tc.source, tc.typ, tc.body, inputs)
		}
	}
}

// A signing secret is whsec_ and at least 16 bytes of base64; the errors
// say how to make one and never repeat the secret.
func TestParseSigningSecret(t *testing.T) {
	key, err := hookwatch.ParseSigningSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil || len(key) != 24 {
		t.Fatalf("key %d bytes, err %v", len(key), err)
	}
	for _, bad := range []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not*base64", "whsec_c2hvcnQ="} {
		_, err := hookwatch.ParseSigningSecret(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if len(bad) > 6 && strings.Contains(err.Error(), bad[6:]) {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
}
