package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/alert"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/encrypt"
)

const wireYAML = `
sources:
  - name: stripe
    provider: stripe
    secrets: ["whsec_test"]
destinations:
  - name: app
    url: http://127.0.0.1:3000/webhooks
    secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers: {Authorization: "Bearer t0k3n"}
    rate_limit: 50
    retry:
      max_age: 1d
      initial: 2h
      classes:
        validation_error: {retry: false}
        permission_error: {max_attempts: 10}
  - name: audit
    url: https://audit.example.com/in
routes:
  - source: stripe
    destinations: [app]
    types: ["invoice.*", "customer.created"]
  - source: stripe
    destinations: [audit, app]
alerts:
  channels:
    - {name: ops, type: slack, url: "https://hooks.slack.com/services/T/B/x"}
    - {name: pd, type: pagerduty, routing_key: rk}
`

func parseWire(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The engine gets what config show prints: the destinations with their
// defaults, class overrides on top of the default class policies, and a
// policy the engine's own defaults leave unchanged.
func TestWireDestinations(t *testing.T) {
	t.Parallel()
	ds := destinations(parseWire(t, wireYAML))
	if len(ds) != 2 || ds[0].Timeout != 30*time.Second || ds[0].MaxInFlight != 32 || ds[0].RateLimit != 50 ||
		ds[0].Headers["Authorization"] != "Bearer t0k3n" || ds[0].Retry.MaxAge != 24*time.Hour {
		t.Fatalf("destinations = %+v", ds)
	}
	if cp := ds[0].Retry.Classes[hookwatch.ClassValidation]; cp.Retry {
		t.Errorf("validation_error: %+v, want retry off", cp)
	}
	if cp := ds[0].Retry.Classes[hookwatch.ClassPermission]; !cp.Retry || cp.MaxAttempts != 10 {
		t.Errorf("permission_error: %+v, want retry up to 10", cp)
	}
	for _, d := range ds {
		// gone is not a policy matter (it disables the destination): config
		// does not list it.
		eff := d.Retry.WithDefaults()
		delete(eff.Classes, hookwatch.ClassGone)
		if !reflect.DeepEqual(eff, d.Retry) {
			t.Errorf("%s: the engine runs %+v, config shows %+v", d.Name, eff, d.Retry)
		}
	}
	// The engine raises max_backoff to initial: config shows the raised one.
	if ds[0].Retry.MaxBackoff != 2*time.Hour {
		t.Errorf("max_backoff %v, want 2h", ds[0].Retry.MaxBackoff)
	}
	if ds[1].CircuitFailures != hookwatch.DefaultCircuitFailures || ds[1].CircuitCooldown != hookwatch.DefaultCircuitCooldown {
		t.Errorf("circuit defaults: %+v", ds[1])
	}
}

// The routes reach the router in config order, with their type globs
// (hookwatch.Router's own test covers the matching).
func TestWireRouter(t *testing.T) {
	t.Parallel()
	route, err := router(parseWire(t, wireYAML))
	if err != nil {
		t.Fatal(err)
	}
	dests := func(typ string) []string {
		d, _ := route(&hookwatch.Event{Source: "stripe", Type: typ})
		return d
	}
	if got := fmt.Sprint(dests("invoice.paid"), dests("charge.failed")); got != "[app audit] [audit app]" {
		t.Errorf("routes: %s, want [app audit] [audit app]", got)
	}
}

// The default rules reach the evaluator with every field the config
// filled, and notify_resolved: false becomes SkipResolved.
func TestWireAlertRules(t *testing.T) {
	t.Parallel()
	cfg := parseWire(t, wireYAML)
	rules := rulesOf(cfg)
	if len(rules) != len(cfg.Alerts.Rules) || len(rules) == 0 {
		t.Fatalf("%d rules from %d configured", len(rules), len(cfg.Alerts.Rules))
	}
	for i, r := range rules {
		c := cfg.Alerts.Rules[i]
		if string(r.Kind) != c.Kind || r.Name != c.Name || r.Window != c.Window.D() || r.Cooldown != c.Cooldown.D() || r.For != c.For.D() ||
			r.Threshold != c.Threshold || r.Per != c.Per || r.SkipResolved {
			t.Errorf("rule %d: %+v from %+v", i, r, c)
		}
	}
	var slo alert.Rule
	for _, r := range rules {
		if r.Kind == hookwatch.AlertSLOBurn {
			slo = r
		}
	}
	if slo.Kind != hookwatch.AlertSLOBurn || slo.LongWindow != time.Hour || slo.ShortWindow != 5*time.Minute || slo.Within != time.Minute ||
		slo.Objective != 0.999 || slo.BurnRate != 14.4 {
		t.Errorf("slo rule: %+v", slo)
	}
	quiet := parseWire(t, wireYAML+`  rules:
    - {name: dl, kind: dead_letters, notify_resolved: false, channels: [ops]}
    - {name: big, kind: store_size, size: 2GiB}
`)
	if r := rulesOf(quiet); len(r) != 2 || r[1].Size != 2<<30 {
		t.Errorf("store_size rule: %+v, want size 2 GiB", r)
	}
	if r := rulesOf(quiet); !r[0].SkipResolved || r[0].Resolved() || fmt.Sprint(r[0].Channels) != "[ops]" ||
		r[0].Window != 5*time.Minute || r[0].Cooldown != 30*time.Minute {
		t.Errorf("configured rule: %+v", r)
	}
}

// Every configured channel becomes its notifier, by name.
func TestWireNotifiers(t *testing.T) {
	t.Parallel()
	ns, err := notifiers(parseWire(t, wireYAML).Alerts.Channels)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := ns["ops"].(*alert.Slack); !ok || s.URL != "https://hooks.slack.com/services/T/B/x" {
		t.Errorf("ops = %#v", ns["ops"])
	}
	if p, ok := ns["pd"].(*alert.PagerDuty); !ok || p.RoutingKey != "rk" || p.EventsURL != config.DefaultPagerDutyURL {
		t.Errorf("pd = %#v", ns["pd"])
	}
}

// The stores' cipher seals with the first key and opens with every one;
// without keys there is none (plaintext).
func TestWireCipher(t *testing.T) {
	t.Parallel()
	raw, old := make([]byte, 32), make([]byte, 32)
	rand.Read(raw)
	rand.Read(old)
	b64 := base64.StdEncoding.EncodeToString
	c, err := newCipher(config.Encryption{Keys: []string{b64(raw), b64(old)}})
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyID() != encrypt.KeyID(raw) || !c.Has(encrypt.KeyID(old)) {
		t.Fatalf("cipher seals with %s (want the first key's %s), opens %v", c.KeyID(), encrypt.KeyID(raw), c.KeyIDs())
	}
	if c, err := newCipher(config.Encryption{}); c != nil || err != nil {
		t.Fatalf("no encryption section: cipher %v, %v", c, err)
	}
}
