package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/alert"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/server"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// downSink is the user's app that answers 500 while down is set.
func downSink(t *testing.T) (*appSink, *atomic.Bool, *httptest.Server) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(destSecret)
	if err != nil {
		t.Fatal(err)
	}
	s := &appSink{wh: wh, seen: map[string]int{}}
	down := &atomic.Bool{}
	down.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return s, down, srv
}

// openMain starts the real server in-process from the config at path, and
// closes it when the test ends.
func openMain(t *testing.T, path string) *Main {
	t.Helper()
	m := loadMain(t, path)
	t.Cleanup(func() { m.Close() })
	return m
}

// loadMain starts the real server in-process from the config at path
// (environment variables unset); the caller closes it.
func loadMain(t *testing.T, path string) *Main {
	t.Helper()
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

// pastWithoutReason matches a next attempt printed as a bare time.
var pastWithoutReason = regexp.MustCompile(`^Next attempt: \d{4}-\d\d-\d\d`)

// TestResumeProbesAndTheBacklogFlowsAtOnce is the operator's story: the app
// fails until the circuit opens (its next probe ten minutes away), the
// deliveries say why they wait, a probe while the app is still down says
// so, and once the app is back `destinations resume` delivers the backlog
// at once, not at the next scheduled probe.
func TestResumeProbesAndTheBacklogFlowsAtOnce(t *testing.T) {
	t.Parallel()
	sink, down, srv := downSink(t)
	dir := t.TempDir()
	path := writeYAML(t, dir, anyPortsYAML+deliveryYAML("sqlite:"+filepath.Join(dir, "hw.db"), srv.URL+"/hooks",
		"    max_in_flight: 1\n    circuit: {failures: 2, cooldown: 10m}\n    retry: {initial: 1s, max_backoff: 1s}"))
	m := openMain(t, path)
	client := &http.Client{Timeout: 10 * time.Second}
	send := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			if code, _, err := sendStripe(client, m.PublicAddr(), fmt.Sprintf("evt_probe_%d", i)); err != nil || code != 200 {
				t.Fatalf("ingest: %d %v", code, err)
			}
		}
	}
	send(0, 2)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, _, err := run(t, nil, "destinations", "list", "--config", path, "--json")
		if err == nil && strings.Contains(out, `"state":"circuit-open"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the circuit never opened: %v\n%s", err, out)
		}
	}
	send(2, 3)

	// Every pending delivery says it waits for the circuit, until when.
	out, _, err := run(t, nil, "deliveries", "list", "--config", path, "--status", "pending", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var d server.Delivery
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
		if d.Waiting == nil || d.Waiting.Reason != "circuit_open" || !strings.HasPrefix(d.Waiting.Text, "circuit open until ") ||
			d.Waiting.Until == nil || !d.Waiting.Until.After(time.Now().Add(9*time.Minute)) {
			t.Errorf("delivery %s waits for %+v; want circuit open until the probe ten minutes away", d.ID, d.Waiting)
		}
	}
	if len(ids) != 5 {
		t.Fatalf("%d pending deliveries, want 5:\n%s", len(ids), out)
	}
	for _, id := range ids {
		out, _, err := run(t, nil, "deliveries", "show", "--config", path, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(out, "\n") {
			if !strings.HasPrefix(line, "Next attempt:") {
				continue
			}
			if pastWithoutReason.MatchString(line) || !strings.HasPrefix(line, "Next attempt: circuit open until ") ||
				!strings.Contains(line, "`hookwatch destinations probe app` tries now") {
				t.Errorf("deliveries show %s: %q; want the reason: circuit open until..., and how to probe", id, line)
			}
		}
	}
	if out, _, _ := run(t, nil, "destinations", "list", "--config", path); !strings.Contains(out, "circuit open until") {
		t.Errorf("destinations list does not say the circuit is open until when:\n%s", out)
	}

	// A probe while the app is still down reports the failure and leaves
	// the circuit open.
	out, _, err = run(t, nil, "destinations", "probe", "--config", path, "app")
	if err == nil || !strings.Contains(out, "HTTP 500") || !strings.Contains(out, "circuit still open until") {
		t.Errorf("probe while down: %v\n%s", err, out)
	}
	if sink.total.Load() != 0 {
		t.Fatalf("the app took %d requests while down", sink.total.Load())
	}

	down.Store(false)
	out, _, err = run(t, nil, "destinations", "resume", "--config", path, "app")
	if err != nil || !strings.Contains(out, "destination app resumed") || !strings.Contains(out, "HTTP 200") ||
		!strings.Contains(out, ": delivered") || !strings.Contains(out, "circuit closed") {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	// The running server takes the closed circuit from the store: the whole
	// backlog arrives long before the ten-minute probe (the guard only
	// stops a hang).
	for deadline := time.Now().Add(30 * time.Second); sink.distinct() < 5; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after resume the app received %d of 5 events", sink.distinct())
		}
	}
	if sink.bad.Load() != 0 {
		t.Errorf("%d requests with a bad signature", sink.bad.Load())
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, _, err = run(t, nil, "destinations", "list", "--config", path, "--json")
		if err == nil && strings.Contains(out, `"state":"active"`) && strings.Contains(out, `"reason":"idle"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("destinations list after the backlog: %v\n%s", err, out)
		}
	}
}

// postBadSignature posts a Stripe event whose signature does not verify.
func postBadSignature(t *testing.T, addr string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/in/stripe", strings.NewReader(`{"id":"evt_forged","object":"event"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", "t="+strconv.FormatInt(time.Now().Unix(), 10)+",v1=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged request answered %d, want 401", resp.StatusCode)
	}
}

// TestHealthAfterSendCountsTheTestEventApart is the README demo: after
// `hookwatch send` (a test event) health shows it, counted apart, with its
// delivery pending; received is accepted + rejected.
func TestHealthAfterSendCountsTheTestEventApart(t *testing.T) {
	t.Parallel()
	_, _, srv := downSink(t) // the app is not running yet: the delivery waits
	dir := t.TempDir()
	path := writeYAML(t, dir, anyPortsYAML+deliveryYAML("sqlite:"+filepath.Join(dir, "hw.db"), srv.URL+"/hooks", ""))
	m := openMain(t, path)
	payload := filepath.Join(dir, "invoice.json")
	if err := os.WriteFile(payload, []byte(`{"id":"evt_demo","object":"event","type":"invoice.paid","livemode":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := run(t, nil, "send", "--config", path, "--source", "stripe", "--file", payload, "--url", "http://"+m.PublicAddr()); err != nil {
		t.Fatalf("send: %v\n%s%s", err, out, errOut)
	}
	postBadSignature(t, m.PublicAddr())

	// The rejection is recorded in the background.
	var rep alert.Report
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, _, err := run(t, nil, "health", "--config", path, "--json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Windows[0].Total.RejectedCount == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rejection never showed in health:\n%s", out)
		}
	}
	w := rep.Windows[0]
	if tot := w.Total; tot.Accepted != 0 || tot.Received != tot.Accepted+tot.RejectedCount || tot.Received != 1 || tot.Backlog != 0 {
		t.Errorf("production figures: received %d, accepted %d, rejected %d, backlog %d; want 1 = 0 + 1, no backlog (the test event is apart)",
			tot.Received, tot.Accepted, tot.RejectedCount, tot.Backlog)
	}
	for name, f := range map[string]*alert.Figures{"all": w.Total, "source stripe": w.Sources["stripe"], "destination app": w.Destinations["app"]} {
		if f == nil || f.Test == nil {
			t.Errorf("%s: no test figures: %+v", name, f)
			continue
		}
		if f.Test.Backlog != 1 || (name != "destination app" && (f.Test.Accepted != 1 || f.Test.Received != 1)) {
			t.Errorf("%s test figures: %+v; want the test event received and its delivery pending", name, f.Test)
		}
	}

	out, _, err := run(t, nil, "health", "--config", path)
	if err != nil {
		t.Fatal(err)
	}
	// WINDOW SUBJECT RECEIVED ACCEPTED REJECTED ... BACKLOG
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^1m\s+all\s+1\s+0\s+1\s`),
		regexp.MustCompile(`(?m)^1m\s+all \(test\)\s+1\s+1\s+0\s`),
		regexp.MustCompile(`(?m)^1m\s+source:stripe \(test\)\s+1\s+1\s+0\s`),
		regexp.MustCompile(`(?m)^1m\s+destination:app \(test\)\s`),
		regexp.MustCompile(`left out of the other rows and of alerts`),
	} {
		if !want.MatchString(out) {
			t.Errorf("health lacks %s:\n%s", want, out)
		}
	}
}
