package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
)

const appJS = `addHandler("transform", (request, context) => {
  request.body = {kind: context.type, amount: request.body.data.object.amount_paid};
  request.headers["x-shape"] = "v1";
  request.path = "/hooks/invoices";
  return request;
});
`

// transformConfig writes a config whose destination app uses transforms/
// app.js (relative to the config file) with js, and returns its path.
func transformConfig(t *testing.T, js string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "transforms"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "transforms", "app.js"), []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "hw.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf(`store: %q
sources:
  - {name: stripe, provider: stripe, secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw]}
destinations:
  - name: app
    url: http://127.0.0.1:9/hooks
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    headers: {X-App-Key: app-key-s3cret}
    transform: transforms/app.js
routes:
  - {source: stripe, destinations: [app]}
`, "sqlite:"+filepath.Join(dir, "hw.db"))), 0o600)
	return dir, path
}

func TestConfigCheckReportsTransformSyntaxError(t *testing.T) {
	t.Parallel()
	_, path := transformConfig(t, "addHandler(\"transform\", (request) => {\n  return request;;\n  }});\n")
	_, _, err := run(t, nil, "config", "check", "--config", path)
	if err == nil {
		t.Fatal("config check passed a transform with a syntax error")
	}
	for _, w := range []string{"line 9: destinations[0].transform", "app.js: Line 3:4"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	_, path = transformConfig(t, appJS)
	if out, stderr, err := run(t, nil, "config", "check", "--config", path); err != nil || !strings.Contains(out, "is valid") {
		t.Fatalf("a good transform: %v\n%s%s", err, out, stderr)
	}
}

func TestTransformTestCommand(t *testing.T) {
	t.Parallel()
	dir, path := transformConfig(t, appJS)
	payload := `{"id":"evt_1","type":"invoice.paid","data":{"object":{"amount_paid":12000}}}`
	body := filepath.Join(dir, "body.json")
	os.WriteFile(body, []byte(payload), 0o600)

	check := func(out string) {
		t.Helper()
		for _, w := range []string{"POST http://127.0.0.1:9/hooks/invoices\n", "X-Shape: v1\n", "Webhook-Signature: v1,",
			"X-App-Key: [redacted]\n", `{"kind":"invoice.paid","amount":12000}`} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
		if strings.Contains(out, "app-key-s3cret") {
			t.Errorf("output shows the destination's header value:\n%s", out)
		}
	}
	out, stderr, err := run(t, nil, "transform", "test", "--config", path, "--destination", "app", "--file", body, "--type", "invoice.paid")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	check(out)

	// A stored event: the same request, and the stored event unchanged.
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	ev := &hookwatch.Event{ID: hookwatch.NewID("evt", time.Now()), Source: "stripe", Provider: "stripe", ProviderEventID: "evt_1",
		Type: "invoice.paid", Headers: http.Header{"Content-Type": {"application/json"}}, Body: []byte(payload), ReceivedAt: time.Now().UTC()}
	if _, err := s.InsertEvents(context.Background(), []*hookwatch.Event{ev}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	out, stderr, err = run(t, nil, "transform", "test", "--config", path, "--destination", "app", "--event", ev.ID)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	check(out)
	if !strings.Contains(out, "Webhook-Id: "+ev.ID) {
		t.Errorf("output lacks the event's webhook-id:\n%s", out)
	}

	// A transform that throws: the error, nothing printed as a request.
	os.WriteFile(filepath.Join(dir, "transforms", "app.js"), []byte(`addHandler("transform", (r) => { throw new Error("no amount") })`), 0o600)
	out, _, err = run(t, nil, "transform", "test", "--config", path, "--destination", "app", "--file", body)
	if err == nil || !strings.Contains(err.Error(), "transform_error") || !strings.Contains(err.Error(), "no amount") || strings.Contains(out, "POST") {
		t.Errorf("throwing transform: err %v, out %q", err, out)
	}
}
