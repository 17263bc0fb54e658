package hookwatch_test

import (
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
		if got := fmt.Sprint(route(tc.source, tc.typ)); got != tc.want {
			t.Errorf("route(%s, %s) = %s, want %s", tc.source, tc.typ, got, tc.want)
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
