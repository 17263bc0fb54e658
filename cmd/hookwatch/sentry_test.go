package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/monitor/monitortest"
)

const (
	sentryAdminToken = "admin-token-sentry-test-0123456789"
	sentryDestSecret = "whsec_c2VudHJ5LWRlc3Qtc2VjcmV0LWtleS0xMjM0NTY="
	sentryHeaderKey  = "app-api-key-9f8e7d6c5b4a"
)

// brokenApp answers 500 and remembers the sentry-trace headers it got.
type brokenApp struct {
	mu     sync.Mutex
	traces []string
}

func (a *brokenApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.traces = append(a.traces, r.Header.Get("Sentry-Trace")+"|"+r.Header.Get("Baggage"))
	a.mu.Unlock()
	http.Error(w, "boom", http.StatusInternalServerError)
}

func startSentryMain(t *testing.T, dsn, env, sinkURL string, sentryKeys ...string) *Main {
	t.Helper()
	dir := t.TempDir()
	path := writeYAML(t, dir, anyPortsYAML+fmt.Sprintf(`admin_token: %q
store: %q
log: {level: info}
sources:
  - name: stripe
    provider: stripe
    secrets: [%q]
destinations:
  - name: app
    url: %q
    secret: %q
    headers: {X-Api-Key: %q}
    retry: {max_attempts: 2, initial: 10ms, max_backoff: 20ms}
routes:
  - source: stripe
    destinations: [app]
sentry:
  dsn: %q
  environment: %q
  traces_sample_rate: 1
  logs: true
  users: {stripe: data.object.customer}
`+strings.Join(sentryKeys, "")+``, sentryAdminToken, "sqlite:"+filepath.Join(dir, "hw.db"), crashSecret, sinkURL, sentryDestSecret, sentryHeaderKey, dsn, env))
	return openMain(t, path)
}

// postStripe sends a signed Stripe event about customer cus_sentry_1 and
// returns the status and the signature header value sent.
func postStripe(t *testing.T, addr, id string) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"object":"event","type":"invoice.payment_failed","livemode":true,"data":{"object":{"customer":"cus_sentry_1"}}}`, id)
	req := mustStripeRequest(t, addr, crashSecret, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, req.Header.Get("Stripe-Signature")
}

// TestSentryDeadLetterTraceLogsCheckIns drives the real receive and
// delivery path with Sentry pointed at a local receiver, and checks what
// Sentry would see.
func TestSentryDeadLetterTraceLogsCheckIns(t *testing.T) {
	t.Parallel()
	rc := monitortest.New(t)
	app := &brokenApp{}
	sink := httptest.NewServer(app)
	defer sink.Close()
	m := startSentryMain(t, rc.DSN(), "development", sink.URL)

	status, sig := postStripe(t, m.PublicAddr(), "evt_sentry_1")
	if status != http.StatusOK {
		t.Fatalf("ingest answered %d", status)
	}
	isDeadLetter := func(it monitortest.Item) bool {
		return monitortest.Str(it.JSON, "tags", "component") == "background_jobs"
	}
	ev := rc.Wait(t, 30*time.Second, "event", isDeadLetter).JSON

	// Tags, grouping, user, context.
	wantTags := map[string]string{"service": "webhooks", "component": "background_jobs", "source": "stripe",
		"provider": "stripe", "event_type": "invoice.payment_failed", "destination": "app",
		"error_type": "server_error", "http_status": "500", "attempts": "2"}
	for k, v := range wantTags {
		if got := monitortest.Str(ev, "tags", k); got != v {
			t.Errorf("tag %s = %q, want %q", k, got, v)
		}
	}
	fp, _ := json.Marshal(ev["fingerprint"])
	if string(fp) != `["webhook-dead-letter","stripe","app","server_error"]` {
		t.Errorf("fingerprint %s", fp)
	}
	if u := monitortest.Str(ev, "user", "id"); u != "cus_sentry_1" {
		t.Errorf("user.id = %q", u)
	}
	wh := monitortest.Get(ev, "contexts", "webhook")
	if monitortest.Str(wh, "provider_event_id") != "evt_sentry_1" || !strings.HasPrefix(monitortest.Str(wh, "event_id"), "evt_") ||
		monitortest.Str(wh, "received_at") == "" || monitortest.Get(wh, "body_size") == nil {
		t.Errorf("webhook context: %v", wh)
	}
	if h, _ := monitortest.Get(wh, "attempt_history").([]any); len(h) != 2 {
		t.Errorf("attempt history: %v", monitortest.Get(wh, "attempt_history"))
	}
	if monitortest.Get(wh, "body") != nil {
		t.Error("body sent without send_payload")
	}
	if crumbs, _ := monitortest.Get(ev, "breadcrumbs").([]any); len(crumbs) < 1 {
		// The SDK may send breadcrumbs as {"values": [...]}.
		if vals, _ := monitortest.Get(ev, "breadcrumbs", "values").([]any); len(vals) < 1 {
			t.Errorf("no breadcrumb for the first attempt: %v", ev["breadcrumbs"])
		}
	}

	// The ingest transaction: spans verify, queue.publish and the db
	// commit; the same trace
	// reached the destination and the delivery transactions.
	tx := rc.Wait(t, 30*time.Second, "transaction", func(it monitortest.Item) bool {
		return monitortest.Str(it.JSON, "transaction") == "POST /in/{source}"
	}).JSON
	traceID := monitortest.Str(tx, "contexts", "trace", "trace_id")
	if len(traceID) != 32 || monitortest.Str(tx, "contexts", "trace", "op") != "http.server" {
		t.Fatalf("ingest transaction trace context: %v", monitortest.Get(tx, "contexts", "trace"))
	}
	ops := map[string]bool{}
	spans, _ := tx["spans"].([]any)
	for _, s := range spans {
		ops[monitortest.Str(s, "op")] = true
	}
	if !ops["verify"] || !ops["queue.publish"] || !ops["db"] {
		t.Errorf("ingest spans: %v", ops)
	}
	if got := monitortest.Str(ev, "contexts", "trace", "trace_id"); got != traceID {
		t.Errorf("dead letter trace %q, ingest trace %q", got, traceID)
	}
	app.mu.Lock()
	traces := append([]string(nil), app.traces...)
	app.mu.Unlock()
	if len(traces) == 0 || !strings.HasPrefix(traces[0], traceID+"-") || !strings.Contains(traces[0], "sentry-trace_id="+traceID) {
		t.Errorf("destination got sentry-trace|baggage %q, want trace %s", traces, traceID)
	}
	dtx := rc.Wait(t, 30*time.Second, "transaction", func(it monitortest.Item) bool {
		return monitortest.Str(it.JSON, "contexts", "trace", "op") == "queue.process"
	}).JSON
	if monitortest.Str(dtx, "contexts", "trace", "trace_id") != traceID {
		t.Errorf("delivery transaction not in the ingest trace")
	}
	dspans, _ := dtx["spans"].([]any)
	if len(dspans) != 1 || monitortest.Str(dspans[0], "op") != "http.client" {
		t.Errorf("delivery spans: %v", dspans)
	}

	// Logs: each failed attempt at warning, linked to the trace.
	m.Monitor.Flush(5 * time.Second)
	found := false
	for _, l := range rc.Logs() {
		if monitortest.Str(l, "body") == "webhook delivery attempt failed" && monitortest.Str(l, "level") == "warn" &&
			monitortest.Str(l, "trace_id") == traceID {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning log of a failed attempt in trace %s: %v", traceID, rc.Logs())
	}

	// Cron check-ins of the periodic jobs, each run once when the
	// maintenance runner starts leading: quarantine bounds, alert
	// evaluation, event retention, dedupe key expiry.
	for _, slug := range []string{"hookwatch-quarantine-retention", "hookwatch-alert-evaluation", "hookwatch-retention", "hookwatch-dedupe-retention"} {
		rc.Wait(t, 30*time.Second, "check_in", func(it monitortest.Item) bool {
			return monitortest.Str(it.JSON, "monitor_slug") == slug && monitortest.Str(it.JSON, "status") == "ok"
		})
	}
	inProgress := rc.Wait(t, time.Second, "check_in", func(it monitortest.Item) bool {
		return monitortest.Str(it.JSON, "status") == "in_progress"
	}).JSON
	if monitortest.Get(inProgress, "monitor_config", "schedule") == nil {
		t.Errorf("in_progress check-in without monitor config: %v", inProgress)
	}

	// A signature failure: a warning with its own fingerprint per source.
	req, _ := http.NewRequest(http.MethodPost, "http://"+m.PublicAddr()+"/in/stripe", strings.NewReader(`{"id":"evt_forged"}`))
	req.Header.Set("Stripe-Signature", "t=1,v1=deadbeefdeadbeefdeadbeef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged request: %v %v", err, resp)
	}
	resp.Body.Close()
	rej := rc.Wait(t, 30*time.Second, "event", func(it monitortest.Item) bool {
		return monitortest.Str(it.JSON, "tags", "component") == "ingest"
	}).JSON
	if monitortest.Str(rej, "level") != "warning" {
		t.Errorf("signature failure level %q", monitortest.Str(rej, "level"))
	}
	if fp, _ := json.Marshal(rej["fingerprint"]); string(fp) != `["webhook-signature-failure","stripe"]` {
		t.Errorf("signature failure fingerprint %s", fp)
	}

	// Nothing secret went to Sentry, in any envelope.
	m.Monitor.Flush(5 * time.Second)
	raw := string(rc.Raw())
	for name, secret := range map[string]string{"source secret": crashSecret, "destination secret": sentryDestSecret,
		"destination key": strings.TrimPrefix(sentryDestSecret, "whsec_"), "destination header": sentryHeaderKey,
		"admin token": sentryAdminToken, "signature": sig, "signature value": sig[strings.Index(sig, "v1=")+3:],
		"forged signature": "deadbeefdeadbeefdeadbeef"} {
		if strings.Contains(raw, secret) {
			t.Errorf("%s found in what was sent to Sentry", name)
		}
	}
}

// TestSentryTestEventFilteredInProduction: the test event is kept in
// development, dropped in production, and sent there with force.
func TestSentryTestEventFilteredInProduction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env      string
		force    bool
		dropped  bool
		wantSent bool
	}{{"development", false, false, true}, {"production", false, true, false}, {"production", true, false, true}} {
		t.Run(fmt.Sprintf("%s/force=%v", tc.env, tc.force), func(t *testing.T) {
			rc := monitortest.New(t)
			sink := httptest.NewServer(http.NotFoundHandler())
			defer sink.Close()
			m := startSentryMain(t, rc.DSN(), tc.env, sink.URL)
			url := "http://" + m.AdminAddr() + "/api/webhook-sentry-test"
			if tc.force {
				url += "?force=true"
			}
			req, _ := http.NewRequest(http.MethodPost, url, nil)
			req.Header.Set("Authorization", "Bearer "+sentryAdminToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var res struct {
				EventID string `json:"event_id"`
				TraceID string `json:"trace_id"`
				Dropped bool   `json:"dropped"`
			}
			json.NewDecoder(resp.Body).Decode(&res)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || res.Dropped != tc.dropped || len(res.TraceID) != 32 {
				t.Fatalf("status %d, result %+v", resp.StatusCode, res)
			}
			m.Monitor.Flush(5 * time.Second)
			var sent map[string]any
			for _, it := range rc.Items("event") {
				if monitortest.Str(it.JSON, "tags", "test") == "true" {
					sent = it.JSON
				}
			}
			if (sent != nil) != tc.wantSent {
				t.Fatalf("sent = %v, want %v", sent != nil, tc.wantSent)
			}
			if sent == nil {
				return
			}
			if monitortest.Str(sent, "event_id") != res.EventID || monitortest.Str(sent, "user", "id") != "test_user" ||
				monitortest.Get(sent, "contexts", "webhook_data", "test") != true ||
				monitortest.Str(sent, "exception", "0", "type") != "webhook_error" ||
				monitortest.Str(sent, "tags", "service") != "webhooks" || monitortest.Str(sent, "contexts", "trace", "trace_id") != res.TraceID {
				t.Errorf("test event: %v", sent)
			}
			if _, ok := sent["tags"].(map[string]any)["hookwatch.force"]; ok {
				t.Error("the force marker was sent")
			}
		})
	}
}

// TestSentryDownDoesNotFailIngest: a Sentry answering 429, or hanging,
// does not make the receive path fail.
func TestSentryDownDoesNotFailIngest(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]func(release <-chan struct{}) func(http.ResponseWriter, *http.Request){
		"429": func(<-chan struct{}) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "60")
				w.Header().Set("X-Sentry-Rate-Limits", "60::organization")
				w.WriteHeader(http.StatusTooManyRequests)
			}
		},
		"hanging": func(release <-chan struct{}) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rc := monitortest.New(t)
			release := make(chan struct{})
			t.Cleanup(func() { close(release) }) // before the receiver closes
			rc.Handler = h(release)
			sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			defer sink.Close()
			m := startSentryMain(t, rc.DSN(), "development", sink.URL)
			for i := range 50 {
				if status, _ := postStripe(t, m.PublicAddr(), fmt.Sprintf("evt_down_%d", i)); status != http.StatusOK {
					t.Fatalf("request %d answered %d", i, status)
				}
			}
		})
	}
}

// With send_payload, a dead letter carries the body (for debugging), still
// without signature headers, and with every configured secret scrubbed even
// where it appears inside the payload.
func TestSentrySendPayloadIsScrubbed(t *testing.T) {
	t.Parallel()
	rc := monitortest.New(t)
	sink := httptest.NewServer(&brokenApp{})
	defer sink.Close()
	m := startSentryMain(t, rc.DSN(), "development", sink.URL, "  send_payload: true\n")

	body := fmt.Sprintf(`{"id":"evt_payload_1","object":"event","type":"invoice.payment_failed","livemode":true,`+
		`"data":{"object":{"customer":"cus_payload","note":"pasted by mistake: %s and %s"}}}`, sentryDestSecret, sentryAdminToken)
	req := mustStripeRequest(t, m.PublicAddr(), crashSecret, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("ingest: %v %v", err, resp)
	}
	resp.Body.Close()

	ev := rc.Wait(t, 30*time.Second, "event", func(it monitortest.Item) bool {
		return monitortest.Str(it.JSON, "tags", "component") == "background_jobs"
	}).JSON
	// A JSON body goes as JSON (scrubbed by key), which Sentry shows as an
	// object.
	sentJSON, _ := json.Marshal(monitortest.Get(ev, "contexts", "webhook", "body"))
	sent := string(sentJSON)
	if !strings.Contains(sent, "cus_payload") || !strings.Contains(sent, "pasted by mistake") {
		t.Errorf("send_payload: body not attached: %q", sent)
	}
	raw := string(rc.Raw())
	for name, secret := range map[string]string{"destination secret": sentryDestSecret, "admin token": sentryAdminToken,
		"source secret": crashSecret, "signature": req.Header.Get("Stripe-Signature")} {
		if strings.Contains(raw, secret) {
			t.Errorf("the %s reached Sentry inside the payload", name)
		}
	}
}
