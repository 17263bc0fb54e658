package main

// These tests read what Hookwatch sends to Sentry as Sentry reads it: a
// fake Sentry written here (not the project's monitor/monitortest) splits
// each envelope into its items by the envelope format (a header line, then
// per item a header line with type and length, and the payload) and the
// assertions are on the wire JSON. The real binary's code runs: config,
// Main.Open, the receive path, the delivery engine, the real sentry-go SDK.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/config"
)

// wireItem is one envelope item as Sentry's ingestion sees it.
type wireItem struct {
	Type     string
	Envelope map[string]any // the envelope's header (event_id, trace: the DSC)
	Raw      []byte
	JSON     map[string]any
}

// fakeSentry is an envelope endpoint: it answers status (200 when 0) and
// keeps every envelope and item.
type fakeSentry struct {
	srv    *httptest.Server
	mu     sync.Mutex
	raw    [][]byte
	items  []wireItem
	status int
	header http.Header
}

func newFakeSentry(t *testing.T, status int, header http.Header) *fakeSentry {
	f := &fakeSentry{status: status, header: header}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSentry) dsn() string {
	return strings.Replace(f.srv.URL, "http://", "http://wirekey@", 1) + "/42"
}

func (f *fakeSentry) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/42/envelope/" {
		http.Error(w, "unexpected path "+r.URL.Path, http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	items := parseEnvelope(body)
	f.mu.Lock()
	f.raw = append(f.raw, body)
	f.items = append(f.items, items...)
	f.mu.Unlock()
	for k, v := range f.header {
		w.Header()[k] = v
	}
	if f.status != 0 {
		w.WriteHeader(f.status)
		fmt.Fprint(w, `{"detail":"fake sentry says no"}`)
		return
	}
	fmt.Fprintf(w, `{"id":%q}`, "")
}

// parseEnvelope splits an envelope by the format's rules.
func parseEnvelope(b []byte) []wireItem {
	rd := bufio.NewReader(bytes.NewReader(b))
	line, _ := rd.ReadBytes('\n')
	var env map[string]any
	if json.Unmarshal(line, &env) != nil {
		return nil
	}
	var out []wireItem
	for {
		line, err := rd.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) == 0 {
			if err != nil {
				return out
			}
			continue
		}
		var h struct {
			Type   string `json:"type"`
			Length *int   `json:"length"`
		}
		if json.Unmarshal(line, &h) != nil {
			return out
		}
		var p []byte
		if h.Length != nil {
			p = make([]byte, *h.Length)
			if _, err := io.ReadFull(rd, p); err != nil {
				return out
			}
		} else {
			p, _ = rd.ReadBytes('\n')
			p = bytes.TrimSuffix(p, []byte("\n"))
		}
		it := wireItem{Type: h.Type, Envelope: env, Raw: p}
		_ = json.Unmarshal(p, &it.JSON)
		out = append(out, it)
	}
}

func (f *fakeSentry) all(typ string) []wireItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []wireItem
	for _, it := range f.items {
		if it.Type == typ {
			out = append(out, it)
		}
	}
	return out
}

func (f *fakeSentry) rawAll() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Join(f.raw, []byte("\n"))
}

// logs returns the log records (a log item holds several).
func (f *fakeSentry) logs() []map[string]any {
	var out []map[string]any
	for _, it := range f.all("log") {
		xs, _ := it.JSON["items"].([]any)
		for _, x := range xs {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// until polls cond for up to 30 s (the SDK sends in the background; a
// shared machine under -race is slow).
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// at walks decoded JSON.
func at(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func atStr(v any, path ...string) string { s, _ := at(v, path...).(string); return s }

// logAttr is a log record's attribute value.
func logAttr(rec map[string]any, key string) any { return at(rec, "attributes", key, "value") }

// wireApp is a destination: it answers status, records the requests'
// headers, and quotes the bearer token it got in its body.
type wireApp struct {
	mu      sync.Mutex
	status  int
	headers []http.Header
}

func (a *wireApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.headers = append(a.headers, r.Header.Clone())
	a.mu.Unlock()
	w.WriteHeader(a.status)
	// The token alone, as an app's error message quotes it.
	fmt.Fprintf(w, "request rejected: token %s is not valid here", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
}

func (a *wireApp) got() []http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]http.Header(nil), a.headers...)
}

type wireConfig struct {
	dsn, env    string
	rate        string // traces_sample_rate
	attempts    int
	appURL      string
	destHeaders string // YAML flow map
	sentryExtra string // more keys under sentry:
}

func writeWireConfig(t *testing.T, c wireConfig) string {
	t.Helper()
	dir := t.TempDir()
	if c.rate == "" {
		c.rate = "1"
	}
	if c.attempts == 0 {
		c.attempts = 1
	}
	if c.destHeaders == "" {
		c.destHeaders = "{}"
	}
	return writeYAML(t, dir, anyPortsYAML+fmt.Sprintf(`admin_token: %q
store: %q
log: {level: info}
sources:
  - name: stripe
    provider: stripe
    secrets: [%q]
destinations:
  - name: app
    url: %q
    headers: %s
    retry: {max_attempts: %d, initial: 10ms, max_backoff: 20ms}
routes:
  - source: stripe
    destinations: [app]
sentry:
  dsn: %q
  environment: %q
  traces_sample_rate: %s
  logs: true
%s`, sentryAdminToken, "sqlite:"+filepath.Join(dir, "hw.db"), crashSecret, c.appURL, c.destHeaders, c.attempts, c.dsn, c.env, c.rate, c.sentryExtra))
}

func startWire(t *testing.T, c wireConfig) *Main {
	t.Helper()
	cfg, err := config.Load(writeWireConfig(t, c), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// postSigned posts a signed Stripe webhook with body and returns
// Hookwatch's event ID.
func postWire(t *testing.T, addr, body string) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(mustStripeRequest(t, addr, crashSecret, body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != 200 {
		t.Fatalf("ingest answered %d (%v)", resp.StatusCode, err)
	}
	return ans.ID
}

func stripeBody(id string, live bool, extra string) string {
	return fmt.Sprintf(`{"id":%q,"object":"event","type":"invoice.payment_failed","livemode":%t,"data":{"object":{"customer":"cus_wire"%s}}}`, id, live, extra)
}

// Defect 1: a destination's "Authorization: Bearer T" was scrubbed only
// whole, so T alone went out when the app echoed it.
func TestSentryWireBearerTokenFragmentNeverSent(t *testing.T) {
	t.Parallel()
	const token = "tok_wire_9c8b7a6d5e4f3a2b"
	fs := newFakeSentry(t, 0, nil)
	app := &wireApp{status: http.StatusInternalServerError}
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()
	m := startWire(t, wireConfig{dsn: fs.dsn(), env: "staging", appURL: appSrv.URL,
		destHeaders: fmt.Sprintf(`{Authorization: "Bearer %s"}`, token)})
	postWire(t, m.PublicAddr(), stripeBody("evt_wire_bearer", true, ""))
	until(t, "the dead letter", func() bool { return len(fs.all("event")) > 0 })
	m.Monitor.Flush(5 * time.Second)
	if got := app.got(); len(got) == 0 || got[0].Get("Authorization") != "Bearer "+token {
		t.Fatalf("the app did not get the destination's header: %v", got)
	}
	ev := fs.all("event")[0].JSON
	resp := atStr(ev, "contexts", "webhook", "last_response")
	if !strings.Contains(resp, "request rejected") || !strings.Contains(resp, "[Filtered]") {
		t.Errorf("last_response %q: want the app's words with the token filtered", resp)
	}
	if bytes.Contains(fs.rawAll(), []byte(token)) {
		t.Errorf("the bearer token reached Sentry:\n%s", fs.rawAll())
	}
}

// Defects 2 and 3, and the Queues view: at traces_sample_rate 0.3 the app
// gets the ingest transaction's baggage (sample rate 0.3, its transaction
// name), sampled or not, with a W3C traceparent beside sentry-trace; every
// envelope says 0.3; the spans follow Sentry's conventions.
func TestSentryWireSamplingContextAndQueueSpans(t *testing.T) {
	t.Parallel()
	fs := newFakeSentry(t, 0, nil)
	app := &wireApp{status: http.StatusOK}
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()
	m := startWire(t, wireConfig{dsn: fs.dsn(), env: "staging", appURL: appSrv.URL, rate: "0.3"})
	// 60 requests: all sampled or none has a chance of 0.7^60 + 0.3^60 (1e-9).
	const n = 60
	bodies := map[string]int{}
	for i := range n {
		b := stripeBody(fmt.Sprintf("evt_wire_rate_%d", i), true, "")
		bodies[postWire(t, m.PublicAddr(), b)] = len(b)
	}
	until(t, "every delivery", func() bool { return len(app.got()) >= n })

	var sampledTraces []string
	unsampled := 0
	for _, h := range app.got() {
		st, tp, bg := h.Get("Sentry-Trace"), h.Get("Traceparent"), h.Get("Baggage")
		parts := strings.Split(st, "-")
		if len(parts) != 3 {
			t.Fatalf("sentry-trace %q", st)
		}
		bag := map[string]string{}
		for _, kv := range strings.Split(bg, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
			bag[k], _ = url.QueryUnescape(v)
		}
		if bag["sentry-sample_rate"] != "0.3" || bag["sentry-transaction"] != "POST /in/{source}" || bag["sentry-trace_id"] != parts[0] {
			t.Errorf("baggage %q (sentry-trace %s): want sample_rate 0.3 and transaction POST /in/{source} of the trace", bg, st)
		}
		flag := map[string]string{"1": "01", "0": "00"}[parts[2]]
		if want := "00-" + parts[0] + "-" + parts[1] + "-" + flag; tp != want {
			t.Errorf("traceparent %q, want %q (beside sentry-trace %s)", tp, want, st)
		}
		if parts[2] == "1" {
			sampledTraces = append(sampledTraces, parts[0])
			if bag["sentry-sampled"] != "true" {
				t.Errorf("sampled trace with baggage %q", bg)
			}
		} else {
			unsampled++
			if bag["sentry-sampled"] != "false" {
				t.Errorf("unsampled trace with baggage %q", bg)
			}
		}
	}
	if len(sampledTraces) == 0 || unsampled == 0 {
		t.Fatalf("%d sampled, %d unsampled of %d at 0.3", len(sampledTraces), unsampled, n)
	}
	// Each sampled trace: the ingest transaction and the delivery's.
	until(t, "the transactions", func() bool { return len(fs.all("transaction")) >= 2*len(sampledTraces) })
	m.Monitor.Flush(5 * time.Second)
	var ingest, deliver int
	for _, it := range fs.all("transaction") {
		// Every envelope of the trace carries the sampling context its
		// head decided: the rate, the ingest transaction's name.
		if r, n := atStr(it.Envelope, "trace", "sample_rate"), atStr(it.Envelope, "trace", "transaction"); r != "0.3" || n != "POST /in/{source}" {
			t.Errorf("envelope of %s says sample_rate %q, transaction %q; want 0.3 and POST /in/{source}", atStr(it.JSON, "transaction"), r, n)
		}
		tr := at(it.JSON, "contexts", "trace")
		switch atStr(it.JSON, "transaction") {
		case "POST /in/{source}":
			ingest++
			if atStr(tr, "op") != "http.server" || atStr(it.JSON, "request", "method") != "POST" {
				t.Errorf("ingest transaction op %q, request %v", atStr(tr, "op"), at(it.JSON, "request"))
			}
			if sig := atStr(it.JSON, "request", "headers", "Stripe-Signature"); sig != "" && sig != "[Filtered]" {
				t.Errorf("the signature went out in the request: %q", sig)
			}
			var pub, db map[string]any
			for _, s := range at(it.JSON, "spans").([]any) {
				switch atStr(s, "op") {
				case "queue.publish":
					pub = s.(map[string]any)
				case "db":
					db = s.(map[string]any)
				}
			}
			id := atStr(pub, "data", "messaging.message.id")
			if pub == nil || atStr(pub, "data", "messaging.destination.name") != "app" || bodies[id] == 0 ||
				fmt.Sprint(at(pub, "data", "messaging.message.body.size")) != strconv.Itoa(bodies[id]) {
				t.Errorf("queue.publish span %v", pub)
			}
			if atStr(db, "data", "db.system") != "sqlite" {
				t.Errorf("db span %v, want db.system sqlite", db)
			}
			if fmt.Sprint(at(tr, "data", "http.request.body.size")) != strconv.Itoa(bodies[id]) {
				t.Errorf("ingest body size %v, want %d", at(tr, "data", "http.request.body.size"), bodies[id])
			}
		case "deliver app":
			deliver++
			d, _ := at(tr, "data").(map[string]any)
			if atStr(tr, "op") != "queue.process" || d["messaging.destination.name"] != "app" || bodies[atStr(d, "messaging.message.id")] == 0 ||
				d["messaging.message.retry.count"] == nil || d["messaging.message.receive.latency"] == nil || d["messaging.message.body.size"] == nil {
				t.Errorf("queue.process transaction: op %q data %v", atStr(tr, "op"), d)
			}
		}
	}
	if ingest != len(sampledTraces) || deliver != len(sampledTraces) {
		t.Errorf("%d ingest and %d delivery transactions for %d sampled traces", ingest, deliver, len(sampledTraces))
	}
}

// Defect 4 and 5: `sentry test` reports delivered only on Sentry's 2xx
// for the envelope, else says what failed and exits non-zero; the test
// event is component background_jobs.
func TestSentryWireTestCommandTellsTheTruth(t *testing.T) {
	t.Parallel()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedDSN := "http://wirekey@" + closed.Addr().String() + "/42"
	closed.Close()
	for _, c := range []struct {
		name   string
		status int
		header http.Header
		dsn    string
		want   []string
	}{
		{name: "closed port", dsn: closedDSN, want: []string{"connection refused", closed.Addr().String()}},
		{name: "403", status: 403, want: []string{"403", "DSN's key"}},
		{name: "401", status: 401, want: []string{"401", "DSN's key"}},
		{name: "429", status: 429, header: http.Header{"Retry-After": {"60"}}, want: []string{"429", "rate limited", "retry after 60 s"}},
		{name: "413", status: 413, want: []string{"413", "larger"}},
		{name: "500", status: 500, want: []string{"500", "server-side"}},
		{name: "accepted", want: []string{"delivered"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fs := newFakeSentry(t, c.status, c.header)
			dsn := c.dsn
			if dsn == "" {
				dsn = fs.dsn()
			}
			path := writeWireConfig(t, wireConfig{dsn: dsn, env: "staging", appURL: "http://127.0.0.1:9/"})
			var out bytes.Buffer
			env := &Env{Stdout: &out, Stderr: &out, Getenv: func(string) (string, bool) { return "", false }}
			err := Run(context.Background(), env, []string{"sentry", "test", "--config", path})
			text := out.String()
			if err != nil {
				text += "\n" + err.Error()
			}
			if c.name == "accepted" {
				if err != nil {
					t.Fatalf("accepted by Sentry, yet: %v\n%s", err, text)
				}
				ev := fs.all("event")
				if len(ev) != 1 || atStr(ev[0].JSON, "tags", "component") != "background_jobs" {
					t.Fatalf("%d test events, want 1 with component background_jobs", len(ev))
				}
			} else if err == nil || exitCode(err) == 0 {
				t.Fatalf("Sentry did not accept it, yet exit 0:\n%s", text)
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

// Defect 4, the admin endpoint: Sentry answering 500 is not a success.
func TestSentryWireTestEndpointReportsFailure(t *testing.T) {
	t.Parallel()
	fs := newFakeSentry(t, 500, nil)
	m := startWire(t, wireConfig{dsn: fs.dsn(), env: "staging", appURL: "http://127.0.0.1:9/"})
	req, _ := http.NewRequest(http.MethodPost, "http://"+m.AdminAddr()+"/api/webhook-sentry-test", nil)
	req.Header.Set("Authorization", "Bearer "+sentryAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 500 || !strings.Contains(string(b), "500") {
		t.Fatalf("Sentry answered 500; the endpoint answered %d %s", resp.StatusCode, b)
	}
	if len(fs.all("event")) == 0 {
		t.Fatal("the endpoint did not even send the event")
	}
}

// Defect 6 and the log attributes: unrelated dead letters are distinct
// traces, and the engine's own record of a dead letter is in its
// attempt's trace, with source, destination, event_id and delivery_id as
// attributes.
func TestSentryWireOneTracePerJob(t *testing.T) {
	t.Parallel()
	fs := newFakeSentry(t, 0, nil)
	app := &wireApp{status: http.StatusInternalServerError}
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()
	m := startWire(t, wireConfig{dsn: fs.dsn(), env: "staging", appURL: appSrv.URL, rate: "0"})
	ids := []string{postWire(t, m.PublicAddr(), stripeBody("evt_wire_j1", true, "")),
		postWire(t, m.PublicAddr(), stripeBody("evt_wire_j2", true, ""))}
	until(t, "two dead letters and their logs", func() bool {
		n := 0
		for _, l := range fs.logs() {
			if strings.HasPrefix(atStr(l, "body"), "deliver: delivery dead-lettered") {
				n++
			}
		}
		return len(fs.all("event")) >= 2 && n >= 2
	})
	traceOf := map[string]string{} // event ID -> dead letter's trace
	for _, it := range fs.all("event") {
		traceOf[atStr(it.JSON, "contexts", "webhook", "event_id")] = atStr(it.JSON, "contexts", "trace", "trace_id")
	}
	if traceOf[ids[0]] == "" || traceOf[ids[0]] == traceOf[ids[1]] {
		t.Fatalf("dead letters of unrelated events share a trace: %v", traceOf)
	}
	for _, l := range fs.logs() {
		body := atStr(l, "body")
		if !strings.HasPrefix(body, "deliver: delivery dead-lettered") && body != "webhook delivery attempt failed" {
			continue
		}
		ev, _ := logAttr(l, "event_id").(string)
		if traceOf[ev] == "" || atStr(l, "trace_id") != traceOf[ev] {
			t.Errorf("log %q of event %q in trace %s, want its attempt's %s", body, ev, atStr(l, "trace_id"), traceOf[ev])
		}
		if logAttr(l, "destination") != "app" || !strings.HasPrefix(fmt.Sprint(logAttr(l, "delivery_id")), "dl") {
			t.Errorf("log %q attributes %v: want destination, delivery_id", body, at(l, "attributes"))
		}
		if logAttr(l, "source") != "stripe" {
			t.Errorf("log %q attributes %v: want source", body, at(l, "attributes"))
		}
	}
}

// Defect 7: a provider's test webhook leaves no transaction and no log in
// production; a live one beside it does.
func TestSentryWireNoTestWebhookInProduction(t *testing.T) {
	t.Parallel()
	fs := newFakeSentry(t, 0, nil)
	app := &wireApp{status: http.StatusOK}
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()
	m := startWire(t, wireConfig{dsn: fs.dsn(), env: "production", appURL: appSrv.URL})
	testID := postWire(t, m.PublicAddr(), stripeBody("evt_wire_test", false, ""))
	liveID := postWire(t, m.PublicAddr(), stripeBody("evt_wire_live", true, ""))
	until(t, "both deliveries", func() bool { return len(app.got()) >= 2 })
	until(t, "the live event's transactions and log", func() bool {
		delivered := false
		for _, l := range fs.logs() {
			delivered = delivered || logAttr(l, "event_id") == liveID
		}
		return len(fs.all("transaction")) >= 2 && delivered
	})
	m.Close() // flushes everything
	tx := fs.all("transaction")
	if len(tx) != 2 {
		var names []string
		for _, it := range tx {
			names = append(names, atStr(it.JSON, "transaction")+" test="+atStr(it.JSON, "tags", "test"))
		}
		t.Errorf("transactions %v: want the live event's two only", names)
	}
	for _, l := range fs.logs() {
		if logAttr(l, "event_id") == testID || strings.Contains(fmt.Sprint(l), testID) {
			t.Errorf("a log of the test webhook reached Sentry in production: %v", l)
		}
	}
	if bytes.Contains(fs.rawAll(), []byte(testID)) {
		t.Errorf("the test webhook's event ID reached Sentry in production")
	}
}

// Defect 8: with send_payload, the body is scrubbed by key at every depth.
func TestSentryWirePayloadScrubbedByKey(t *testing.T) {
	t.Parallel()
	fs := newFakeSentry(t, 0, nil)
	app := &wireApp{status: http.StatusInternalServerError}
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()
	m := startWire(t, wireConfig{dsn: fs.dsn(), env: "staging", appURL: appSrv.URL, rate: "0", sentryExtra: "  send_payload: true\n"})
	secrets := []string{"pw-value-7a6b5c", "ak-value-1f2e3d", "tk-value-9e8d7c", "sc-value-4b3a2c", "nested-tok-5d4c3b"}
	postWire(t, m.PublicAddr(), stripeBody("evt_wire_payload", true, fmt.Sprintf(
		`,"password":%q,"api_key":%q,"token":%q,"secret":%q,"card":{"fingerprint":"fp_keep","token":%q}`,
		secrets[0], secrets[1], secrets[2], secrets[3], secrets[4])))
	until(t, "the dead letter", func() bool { return len(fs.all("event")) > 0 })
	body := at(fs.all("event")[0].JSON, "contexts", "webhook", "body")
	obj := at(body, "data", "object")
	if atStr(obj, "customer") != "cus_wire" || atStr(obj, "card", "fingerprint") != "fp_keep" {
		t.Errorf("the body lost what is not secret: %v", body)
	}
	for _, k := range []string{"password", "api_key", "token", "secret"} {
		if atStr(obj, k) != "[Filtered]" {
			t.Errorf("body %s = %v, want [Filtered]", k, at(obj, k))
		}
	}
	for _, s := range secrets {
		if bytes.Contains(fs.rawAll(), []byte(s)) {
			t.Errorf("%s reached Sentry", s)
		}
	}
}

// Defect 9: the release is the build's: the VCS revision go build stamped
// in the binary (-dirty with uncommitted changes), read back here with `go
// version -m` and checked against git, or the version set with -ldflags.
//
// Not parallel: two builds of the binary would starve the tests beside it.
func TestSentryWireReleaseFromBuild(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed: go build stamps the VCS revision from it")
	}
	dir := t.TempDir()
	for _, flags := range []string{"", "-X github.com/hookwatch/hookwatch.Version=9.9.9-wire"} {
		bin := filepath.Join(dir, "hookwatch"+strconv.Itoa(len(flags)))
		// -buildvcs=true: GOFLAGS may turn stamping off (it is on by
		// default in a checkout).
		build := exec.Command("go", "build", "-buildvcs=true", "-ldflags", flags, "-o", bin, ".")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		want := "hookwatch@9.9.9-wire"
		if flags == "" {
			info, err := exec.Command("go", "version", "-m", bin).Output()
			if err != nil {
				t.Fatal(err)
			}
			rev, dirty := "", false
			for _, l := range strings.Split(string(info), "\n") {
				f := strings.Fields(l)
				if len(f) == 2 && f[0] == "build" {
					if v, ok := strings.CutPrefix(f[1], "vcs.revision="); ok {
						rev = v
					}
					dirty = dirty || f[1] == "vcs.modified=true"
				}
			}
			switch {
			case rev != "":
				head, err := exec.Command("git", "rev-parse", "HEAD").Output()
				if err != nil || strings.TrimSpace(string(head)) != rev {
					t.Fatalf("the build stamped revision %s, git says %s (%v)", rev, head, err)
				}
				want = "hookwatch@" + rev[:12]
				if dirty {
					want += "-dirty"
				}
			default:
				// The toolchain found no repository to stamp from: a git
				// worktree, whose .git is a file, is one (cmd/go looks for
				// a .git directory). The release says so honestly.
				t.Logf("go build stamped no VCS revision here (a git worktree?): the release is the fallback")
				want = "hookwatch@dev"
			}
		}
		fs := newFakeSentry(t, 0, nil)
		path := writeWireConfig(t, wireConfig{dsn: fs.dsn(), env: "staging", appURL: "http://127.0.0.1:9/"})
		if out, err := exec.Command(bin, "sentry", "test", "--config", path).CombinedOutput(); err != nil {
			t.Fatalf("sentry test: %v\n%s", err, out)
		}
		ev := fs.all("event")
		if len(ev) != 1 {
			t.Fatalf("%d events, want the test event", len(ev))
		}
		if got := atStr(ev[0].JSON, "release"); got != want {
			t.Errorf("ldflags %q: release %q, want %q", flags, got, want)
		}
	}
}
