package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/provider"
)

const filterSecretGitHub = "gh-filter-secret"

// filterConfig is a config with filtered routes; the destinations point at
// a closed port (deliveries stay pending: these tests look at routing).
func filterConfig(t *testing.T, dir, routes string) string {
	t.Helper()
	path := writeYAML(t, dir, anyPortsYAML+fmt.Sprintf(`store: %q
log: {level: warn}
sources:
  - name: stripe
    provider: stripe
    secrets: [%q]
  - name: github
    provider: github
    secrets: [%q]
destinations:
  - {name: finance, url: "http://127.0.0.1:9/finance"}
  - {name: audit, url: "http://127.0.0.1:9/audit"}
  - {name: ci, url: "http://127.0.0.1:9/ci"}
routes:
%s`, "sqlite:"+filepath.Join(dir, "hw.db"), crashSecret, filterSecretGitHub, routes))
	return path
}

// config check names the line of each filter that does not compile and
// CEL's error with the column; a valid file passes.
func TestConfigCheckFilters(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filterConfig(t, dir, `  - source: stripe
    destinations: [finance]
    filter: 'body.data.object.amount_paid > 10000 && livemode'
  - source: stripe
    destinations: [audit]
    filter: 'type == 3'
  - source: github
    destinations: [ci]
    filter: 'body.ref'
`)
	_, _, err := run(t, nil, "config", "check", "--config", bad)
	if err == nil || exitCode(err) != 2 {
		t.Fatalf("config check: %v (exit %d), want invalid", err, exitCode(err))
	}
	// The routes start on line 17 of the file; "livemode" is at column 41.
	for _, want := range []string{
		"3 problems",
		"line 19: routes[0].filter: column 41: undeclared reference to 'livemode'",
		"line 22: routes[1].filter: column 6: found no matching overload for '_==_' applied to '(string, int)'",
		"line 25: routes[2].filter: column 1: a filter must be a bool expression, this one is dyn",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("config check error lacks %q:\n%v", want, err)
		}
	}
	good := filterConfig(t, t.TempDir(), `  - source: stripe
    destinations: [finance]
    filter: 'body.data.object.amount_paid > 10000 && body.livemode == true'
`)
	if out, _, err := run(t, nil, "config", "check", "--config", good); err != nil || !strings.Contains(out, "is valid") {
		t.Fatalf("config check of a valid filter: %v\n%s", err, out)
	}
}

// End to end through the real server: each event is stored and answered
// 200 whatever the filters; a filter that is false or fails (a missing
// field, a body that is not JSON) leaves its route's destinations out, and
// the event's record (the store, events show) says which route and why.
func TestFiltersEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filterConfig(t, dir, `  - source: stripe
    destinations: [finance]
    types: ["invoice.*"]
    filter: 'body.data.object.amount_paid > 10000 && body.livemode == true'
  - source: stripe
    destinations: [audit]
  - source: github
    destinations: [ci]
    filter: 'headers["x-github-event"] == "push" && body.ref == "refs/heads/main"'
`)
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })

	post := func(source, event string, body string) string {
		t.Helper()
		secret := crashSecret
		if source == "github" {
			secret = filterSecretGitHub
		}
		scheme, err := provider.New(source, provider.Config{Secrets: []string{secret}})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+m.PublicAddr()+"/in/"+source, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if event != "" {
			req.Header.Set("X-GitHub-Event", event)
			req.Header.Set("X-GitHub-Delivery", hookwatch.NewID("gh", time.Now()))
		}
		if err := scheme.(provider.Signer).Sign(req.Header, "", []byte(body), time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&a)
		if resp.StatusCode != http.StatusOK || a.ID == "" {
			t.Fatalf("POST %s: %d %+v, want 200 with the event's ID", source, resp.StatusCode, a)
		}
		return a.ID
	}
	ctx := context.Background()
	destinations := func(id string) string {
		t.Helper()
		ds, err := m.Store.ListDeliveries(ctx, hookwatch.DeliveryFilter{EventIDs: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range ds {
			names = append(names, d.Destination)
		}
		sort.Strings(names)
		return fmt.Sprint(names)
	}
	filtered := func(id string) string {
		t.Helper()
		fs, err := m.Store.EventFilters(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			out = append(out, f.String())
		}
		return fmt.Sprint(out)
	}

	stripe := func(id string, amount int, live bool) string {
		return fmt.Sprintf(`{"id":%q,"object":"event","type":"invoice.paid","livemode":%v,"data":{"object":{"amount_paid":%d}}}`, id, live, amount)
	}
	for _, tc := range []struct {
		name, source, ghEvent, body, dests, filtered string
	}{
		{"stripe paid above $100 live", "stripe", "", stripe("evt_f1", 25000, true), "[audit finance]", "[]"},
		{"stripe paid below $100", "stripe", "", stripe("evt_f2", 2000, true), "[audit]", "[filter of route 1 left out finance (false)]"},
		{"stripe missing field", "stripe", "", `{"id":"evt_f3","object":"event","type":"invoice.created","livemode":true,"data":{"object":{}}}`,
			"[audit]", "[filter of route 1 left out finance: no such key: amount_paid]"},
		{"stripe type not routed", "stripe", "", `{"id":"evt_f4","object":"event","type":"charge.failed","livemode":true}`, "[audit]", "[]"},
		{"github push to main", "github", "push", `{"ref":"refs/heads/main"}`, "[ci]", "[]"},
		{"github push to a branch", "github", "push", `{"ref":"refs/heads/dev"}`, "[]", "[filter of route 3 left out ci (false)]"},
		{"github not JSON", "github", "push", `ref=refs/heads/main`, "[]", "[filter of route 3 left out ci: no such key: ref]"},
	} {
		id := post(tc.source, tc.ghEvent, tc.body)
		if _, err := m.Store.GetEvent(ctx, id); err != nil {
			t.Errorf("%s: the event is not stored: %v", tc.name, err)
			continue
		}
		if got := destinations(id); got != tc.dests {
			t.Errorf("%s: deliveries to %s, want %s", tc.name, got, tc.dests)
		}
		if got := filtered(id); got != tc.filtered {
			t.Errorf("%s: filtered %s, want %s", tc.name, got, tc.filtered)
		}
		if tc.name == "stripe missing field" {
			out, _, err := run(t, nil, "events", "show", "--config", path, id)
			if err != nil || !strings.Contains(out, "Filtered:     filter of route 1 left out finance: no such key: amount_paid") {
				t.Errorf("events show: %v\n%s", err, out)
			}
			out, _, err = run(t, nil, "events", "show", "--json", "--config", path, id)
			if err != nil || !strings.Contains(out, `"filtered":[{"route":1,"destinations":["finance"],"error":"no such key: amount_paid"`) {
				t.Errorf("events show --json: %v\n%s", err, out)
			}
		}
	}
}
