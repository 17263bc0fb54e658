package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/alert"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/ingest"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// alertHookSecret signs the alert webhook channel's requests.
const alertHookSecret = "whsec_YWxlcnQtd2ViaG9vay1zZWNyZXQtMDEyMzQ1Njc4OQ=="

// hookReceiver is the ops team's endpoint behind an alert webhook channel:
// it verifies each notification's Standard Webhooks signature and keeps
// the alerts it was told about.
type hookReceiver struct {
	t      *testing.T
	wh     *standardwebhooks.Webhook
	mu     sync.Mutex
	alerts []alert.WebhookAlerts
	bad    atomic.Int64
}

func newHookReceiver(t *testing.T) (*hookReceiver, *httptest.Server) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(alertHookSecret)
	if err != nil {
		t.Fatal(err)
	}
	h := &hookReceiver{t: t, wh: wh}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var p alert.WebhookPayload
	if err := h.wh.Verify(body, r.Header); err != nil || json.Unmarshal(body, &p) != nil || p.Type != "hookwatch.alerts" {
		h.bad.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.alerts = append(h.alerts, p.Alerts...)
	h.mu.Unlock()
}

// received returns the alerts received so far.
func (h *hookReceiver) received() []alert.WebhookAlerts {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]alert.WebhookAlerts(nil), h.alerts...)
}

// alertSetup is the real server with one stripe source routed to one
// destination "app" that answers whatever status appStatus holds, and
// one alert rule (any dead letter, per destination) notifying a webhook
// channel received by hooks.
type alertSetup struct {
	path      string
	m         *Main
	hooks     *hookReceiver
	appStatus atomic.Int64
	appCalls  atomic.Int64
}

// startAlertMain starts the setup; the destination's circuit opens after
// circuitFailures consecutive failures; extra is appended to the config.
func startAlertMain(t *testing.T, circuitFailures int, extra string) *alertSetup {
	t.Helper()
	s := &alertSetup{}
	s.appStatus.Store(http.StatusInternalServerError)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.appCalls.Add(1)
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(int(s.appStatus.Load()))
	}))
	t.Cleanup(app.Close)
	var hooksSrv *httptest.Server
	s.hooks, hooksSrv = newHookReceiver(t)
	dir := t.TempDir()
	s.path = writeYAML(t, dir, anyPortsYAML+fmt.Sprintf(`admin_token: %q
store: %q
log: {level: error}
sources:
  - name: stripe
    provider: stripe
    secrets: [%q]
destinations:
  - name: app
    url: %q
    secret: %q
    retry: {max_attempts: 2, initial: 10ms, max_backoff: 20ms}
    circuit: {failures: %d}
routes:
  - source: stripe
    destinations: [app]
alerts:
  base_url: http://hookwatch.test:8081
  interval: 1s
  group_window: 1ms
  rules:
    - {name: dead-letter, kind: dead_letters, per: destination, threshold: 0, window: 5m, notify_resolved: false}
  channels:
    - {name: ops-hooks, type: webhook, url: %q, secret: %q}
%s`, adminToken, "sqlite:"+filepath.Join(dir, "hw.db"), crashSecret, app.URL+"/hooks", destSecret, circuitFailures,
		hooksSrv.URL+"/alerts", alertHookSecret, extra))
	c, err := config.Load(s.path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	s.m = &Main{Config: c}
	if err := s.m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.m.Close() })
	return s
}

// stripeEvent describes one Stripe event to post.
type stripeEvent struct {
	id       string
	livemode bool
	// testHeader sets X-Hookwatch-Test, as `hookwatch send --test` does.
	testHeader bool
}

// post signs e with the source's secret the way Stripe does, posts it to
// the public listener and returns Hookwatch's event ID.
func (s *alertSetup) post(t *testing.T, e stripeEvent) string {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"object":"event","type":"invoice.paid","livemode":%v,"data":{"object":{"id":"in_1"}}}`, e.id, e.livemode)
	req := mustStripeRequest(t, s.m.PublicAddr(), crashSecret, body)
	if e.testHeader {
		req.Header.Set(ingest.TestHeader, "1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&a)
	if resp.StatusCode != http.StatusOK || a.ID == "" {
		t.Fatalf("posting %s: %d", e.id, resp.StatusCode)
	}
	return a.ID
}

// issue returns the issue of the fingerprint's (destination app, class,
// test) group, or nil.
func (s *alertSetup) issue(t *testing.T, class hookwatch.ErrorClass, test bool) *hookwatch.Issue {
	t.Helper()
	is, err := s.m.Store.ListIssues(context.Background(), hookwatch.IssueFilter{Destination: "app", Class: string(class), Test: &test})
	if err != nil {
		t.Fatal(err)
	}
	switch len(is) {
	case 0:
		return nil
	case 1:
		return is[0]
	}
	t.Fatalf("%d issues of (stripe, app, %s, test=%v): failures are not grouped", len(is), class, test)
	return nil
}

// waitIssue waits until the group's issue satisfies ok, and returns it.
func (s *alertSetup) waitIssue(t *testing.T, class hookwatch.ErrorClass, test bool, what string, ok func(*hookwatch.Issue) bool) *hookwatch.Issue {
	t.Helper()
	var i *hookwatch.Issue
	deadline := time.Now().Add(60 * time.Second) // generous: a loaded CI machine
	for time.Now().Before(deadline) {
		if i = s.issue(t, class, test); i != nil && ok(i) {
			return i
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("issue (stripe, app, %s, test=%v) never got %s; last: %+v", class, test, what, i)
	return nil
}

// waitAlerts waits until the receiver holds n alerts.
func waitAlerts(t *testing.T, h *hookReceiver, n int) []alert.WebhookAlerts {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if got := h.received(); len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the alert receiver got %d alerts, want %d: %+v", len(h.received()), n, h.received())
	return nil
}

// TestIssuesEndToEnd drives failures through the real receive and delivery
// path (signed Stripe requests over HTTP, a real SQLite store, an app that
// answers 500) and checks what an operator sees: failures grouped into one
// issue per (source, destination, class), a resolved issue reopened as a
// regression, and test events' failures kept apart, never notified.
func TestIssuesEndToEnd(t *testing.T) {
	t.Parallel()
	s := startAlertMain(t, 100, "")

	// Test events first: a Stripe livemode:false event and one sent with
	// X-Hookwatch-Test. Both dead-letter (2 attempts each).
	s.post(t, stripeEvent{id: "evt_test_livemode", livemode: false})
	s.post(t, stripeEvent{id: "evt_test_header", livemode: true, testHeader: true})
	testIssue := s.waitIssue(t, hookwatch.ClassServer, true, "2 dead letters", func(i *hookwatch.Issue) bool { return i.DeadLetters == 2 })
	if !testIssue.Test || testIssue.Count != 4 || testIssue.Events != 2 || testIssue.Source != "stripe" || testIssue.Status != hookwatch.IssueOpen {
		t.Fatalf("test issue: %+v", testIssue)
	}
	if i := s.issue(t, hookwatch.ClassServer, false); i != nil {
		t.Fatalf("test events' failures made a production issue: %+v", i)
	}
	// Run the evaluator a few times (as its ticker would, and past the 1ms
	// group window): test failures are left out of every figure rules
	// read, so nothing fires and nothing is sent.
	for range 3 {
		time.Sleep(2 * time.Millisecond)
		if err := s.m.alerting.evaluator.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.hooks.received(); len(got) != 0 {
		t.Fatalf("test events notified: %+v", got)
	}
	states, err := s.m.Store.AlertStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range states {
		if st.Status != hookwatch.AlertOK {
			t.Fatalf("test events moved an alert: %+v", st)
		}
	}

	// Production events: one issue for the group, and a notification
	// linking to it.
	first := s.post(t, stripeEvent{id: "evt_live_1", livemode: true})
	second := s.post(t, stripeEvent{id: "evt_live_2", livemode: true})
	prod := s.waitIssue(t, hookwatch.ClassServer, false, "2 dead letters", func(i *hookwatch.Issue) bool { return i.DeadLetters == 2 })
	if prod.ID == testIssue.ID || prod.Test || prod.Count != 4 || prod.Events != 2 || prod.Kind != hookwatch.FailureDeadLetter ||
		prod.Fingerprint != "stripe|app|server_error" || prod.LastMessage == "" || (prod.LastEventID != first && prod.LastEventID != second) {
		t.Fatalf("production issue: %+v", prod)
	}
	got := waitAlerts(t, s.hooks, 1)
	if a := got[0]; a.Status != "firing" || a.Rule != "dead-letter" || a.Subject != "destination:app" || a.IssueID != prod.ID ||
		a.IssueURL != "http://hookwatch.test:8081/issues/"+prod.ID || a.Value < 1 {
		t.Errorf("notification: %+v", a)
	}
	if s.hooks.bad.Load() != 0 {
		t.Errorf("%d notifications with a bad signature", s.hooks.bad.Load())
	}

	// The operator resolves it from the CLI; it fails again: the same
	// issue is open again, flagged a regression.
	out, _, err := run(t, nil, "issues", "resolve", "--config", s.path, "--comment", "deployed the fix", prod.ID)
	if err != nil || !strings.Contains(out, prod.ID+" is resolved") {
		t.Fatalf("issues resolve: %v\n%s", err, out)
	}
	s.post(t, stripeEvent{id: "evt_live_3", livemode: true})
	reg := s.waitIssue(t, hookwatch.ClassServer, false, "a regression", func(i *hookwatch.Issue) bool { return i.DeadLetters == 3 })
	if reg.ID != prod.ID || reg.Status != hookwatch.IssueOpen || !reg.Regression || reg.RegressedAt.IsZero() || reg.Count != 6 || reg.Events != 3 {
		t.Fatalf("after failing again: %+v", reg)
	}
	full, err := s.m.Store.GetIssue(context.Background(), prod.ID)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, c := range full.Comments {
		bodies = append(bodies, c.Body)
	}
	if strings.Join(bodies, "|") != "status: open → resolved|deployed the fix" {
		t.Errorf("comments: %q", bodies)
	}
	out, _, err = run(t, nil, "issues", "list", "--config", s.path, "--status", "open")
	if err != nil || !strings.Contains(out, prod.ID) || !strings.Contains(out, "regression") || !strings.Contains(out, testIssue.ID) {
		t.Errorf("issues list: %v\n%s", err, out)
	}

	// Another error class is another issue.
	s.appStatus.Store(http.StatusUnprocessableEntity)
	s.post(t, stripeEvent{id: "evt_live_4", livemode: true})
	val := s.waitIssue(t, hookwatch.ClassValidation, false, "a dead letter", func(i *hookwatch.Issue) bool { return i.DeadLetters == 1 })
	if val.ID == prod.ID || val.Count != 2 || val.Events != 1 {
		t.Errorf("validation issue: %+v", val)
	}
	if i := s.issue(t, hookwatch.ClassServer, false); i.Count != 6 {
		t.Errorf("a 422 was counted into the 500 issue: %+v", i)
	}
	// Still nothing about the test issue was ever sent.
	for _, a := range s.hooks.received() {
		if a.IssueID == testIssue.ID {
			t.Errorf("a notification links to the test issue: %+v", a)
		}
	}
}
