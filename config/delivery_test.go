package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const deliveryYAML = `
sources:
  - name: stripe
    provider: stripe
    secrets: ["whsec_test"]
destinations:
  - name: app
    url: http://127.0.0.1:3000/webhooks
    secret: "${APP_SECRET}"
    headers: {Authorization: "Bearer ${APP_TOKEN:-t0k3n}"}
    keep_headers: [Stripe-Signature]
    rate_limit: 50
    retry:
      max_age: 1d
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
`

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDeliveryConfig(t *testing.T) {
	t.Parallel()
	cfg, err := Parse([]byte(deliveryYAML), env(map[string]string{"APP_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))
	if err != nil {
		t.Fatal(err)
	}
	// The engine's settings (cmd/hookwatch translates them, and tests the
	// routes): defaults filled, ${ENV} expanded.
	ds := cfg.Destinations
	if len(ds) != 2 || ds[0].Timeout.D() != 30*time.Second || ds[0].MaxInFlight != 32 || ds[0].RateLimit != 50 ||
		ds[0].Headers["Authorization"] != "Bearer t0k3n" || ds[0].Retry.MaxAge.D() != 24*time.Hour {
		t.Fatalf("destinations = %+v", ds)
	}
	if cr := ds[0].Retry.Classes["validation_error"]; cr.Retry == nil || *cr.Retry {
		t.Errorf("validation_error: %+v, want retry off", cr)
	}
	if cr := ds[0].Retry.Classes["permission_error"]; cr.Retry == nil || !*cr.Retry || cr.MaxAttempts != 10 {
		t.Errorf("permission_error: %+v, want retry up to 10", cr)
	}
	if len(cfg.Routes) != 2 || fmt.Sprint(cfg.Routes[0].Types) != "[invoice.* customer.created]" || fmt.Sprint(cfg.Routes[1].Destinations) != "[audit app]" {
		t.Errorf("routes = %+v", cfg.Routes)
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "MfKQ9r8") || strings.Contains(string(out), "t0k3n") {
		t.Errorf("config show leaks a destination secret or header:\n%s", out)
	}
}

func TestDeliveryConfigErrors(t *testing.T) {
	t.Parallel()
	bad := strings.NewReplacer(
		"url: http://127.0.0.1:3000/webhooks", "url: ftp://nope",
		`types: ["invoice.*", "customer.created"]`, `types: ["invoice.[*"]`,
		"destinations: [audit, app]", "destinations: [audit, missing]",
		"validation_error: {retry: false}", "validation_eror: {retry: false}",
	).Replace(deliveryYAML)
	_, err := Parse([]byte(bad), env(nil))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`line 8: destinations[0].url: "ftp://nope" is not an http:// or https:// URL`,
		"line 9: destinations[0].secret: environment variable APP_SECRET is not set",
		`line 25: routes[1].destinations[1]: no destination named "missing"`,
		`line 23: routes[0].types[0]: "invoice.[*" is not a valid glob`,
		`line 16: destinations[0].retry.classes.validation_eror: unknown error class "validation_eror"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestOrderingConfig(t *testing.T) {
	t.Parallel()
	ordered := strings.Replace(deliveryYAML, "  - name: audit\n    url: https://audit.example.com/in\n",
		"  - name: audit\n    url: https://audit.example.com/in\n    ordering: {key: 'body.data.object.id'}\n", 1)
	cfg, err := Parse([]byte(ordered), env(map[string]string{"APP_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Destinations[1].Ordering
	if o == nil || o.Key != "body.data.object.id" || o.OnDead != "skip" {
		t.Fatalf("ordering = %+v, want the key and on_dead skip (the default)", o)
	}
	if cfg.Destinations[0].Ordering != nil {
		t.Errorf("app has ordering without asking for it")
	}

	bad := strings.Replace(ordered, "ordering: {key: 'body.data.object.id'}", "ordering: {key: '', on_dead: drop}", 1)
	_, err = Parse([]byte(bad), env(map[string]string{"APP_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))
	if err == nil {
		t.Fatal("no error for an empty key and on_dead: drop")
	}
	for _, want := range []string{"destinations[1].ordering.key: missing", `destinations[1].ordering.on_dead: "drop": use skip`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
