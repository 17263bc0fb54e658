package main

import (
	"os"
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch/server"
)

// TestAPIDocMatchesRoutes checks that docs/api.md lists exactly the routes
// that a running Hookwatch registers (server.Routes over the Options that
// Main builds): a route added without documentation, or documented and
// gone, fails here.
func TestAPIDocMatchesRoutes(t *testing.T) {
	t.Parallel()
	s := startAlertMain(t, 0, "")
	b, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	key := func(r server.Route) string { return r.Listener + " " + r.Method + " " + r.Path }
	documented := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		// | listener | method | `path` | auth | what |
		cells := strings.Split(line, "|")
		if len(cells) < 6 || !strings.HasPrefix(strings.TrimSpace(cells[3]), "`") {
			continue
		}
		r := server.Route{Listener: strings.TrimSpace(cells[1]), Method: strings.TrimSpace(cells[2]),
			Path: strings.Trim(strings.TrimSpace(cells[3]), "`")}
		documented[key(r)] = true
	}
	registered := map[string]bool{}
	for _, r := range s.m.routes {
		registered[key(r)] = true
		if !documented[key(r)] {
			t.Errorf("route %s is served but not in docs/api.md: add a row | %s | %s | `%s` | ... |", key(r), r.Listener, r.Method, r.Path)
		}
	}
	for k := range documented {
		if !registered[k] {
			t.Errorf("docs/api.md lists %s, which is not served", k)
		}
	}
	if len(registered) < 20 {
		t.Fatalf("only %d routes registered: %v", len(registered), s.m.routes)
	}
}
