package transform_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/transform"
)

func compile(t *testing.T, src string, l transform.Limits) *transform.Program {
	t.Helper()
	p, err := transform.Compile("app.js", []byte(src), l)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p
}

var stripe = transform.Request{
	Headers: map[string]string{"content-type": "application/json"},
	Body:    []byte(`{"id":"evt_1","type":"invoice.paid","data":{"object":{"amount_paid":12000,"currency":"usd"}}}`),
	Path:    "/hooks",
	Query:   "v=1",
}

func TestReshapeBodyAndHeaders(t *testing.T) {
	p := compile(t, `
addHandler("transform", (request, context) => {
  const o = request.body.data.object;
  request.body = {event: context.type, amount: o.amount_paid / 100, currency: o.currency.toUpperCase(), source: context.source};
  request.headers["x-amount"] = String(o.amount_paid);
  request.path = request.path + "/invoices";
  request.query = "id=" + context.event_id;
  return request;
});`, slow)
	out, err := p.Run(context.Background(), stripe, transform.Context{Source: "stripe", Type: "invoice.paid", EventID: "evt_01"})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(out.Body, &body); err != nil {
		t.Fatalf("body %q: %v", out.Body, err)
	}
	if body["event"] != "invoice.paid" || body["amount"] != 120.0 || body["currency"] != "USD" || body["source"] != "stripe" {
		t.Errorf("body = %s", out.Body)
	}
	if out.Headers["x-amount"] != "12000" || out.Headers["content-type"] != "application/json" {
		t.Errorf("headers = %v", out.Headers)
	}
	if out.Path != "/hooks/invoices" || out.Query != "id=evt_01" {
		t.Errorf("path %q query %q", out.Path, out.Query)
	}
}

func TestRawBodyAndContext(t *testing.T) {
	p := compile(t, `addHandler("transform", (req, ctx) => {
  req.body = typeof req.body + ":" + req.body + ":" + ctx.received_at + ":" + ctx.headers["x-github-event"] + ":" + req.parsed_query.a;
  delete req.headers["content-type"];
  return req;
});`, slow)
	at := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	out, err := p.Run(context.Background(), transform.Request{Body: []byte("a=1&b=2"), Query: "a=x", Headers: map[string]string{"content-type": "text/plain"}},
		transform.Context{ReceivedAt: at, Headers: map[string]string{"x-github-event": "push"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "string:a=1&b=2:2026-12-02T04:00:00Z:push:x"; string(out.Body) != want {
		t.Errorf("body = %q, want %q", out.Body, want)
	}
	if _, ok := out.Headers["content-type"]; ok {
		t.Errorf("deleted header still there: %v", out.Headers)
	}
}

func TestNoStateBetweenRuns(t *testing.T) {
	p := compile(t, `
var calls = (globalThis.calls || 0) + 1;
globalThis.calls = calls;
Object.prototype.leak = (Object.prototype.leak || 0) + 1;
addHandler("transform", (req) => { req.body = {calls: calls, leak: ({}).leak}; return req; });`, slow)
	for i := 0; i < 3; i++ {
		out, err := p.Run(context.Background(), stripe, transform.Context{})
		if err != nil {
			t.Fatal(err)
		}
		if string(out.Body) != `{"calls":1,"leak":1}` {
			t.Fatalf("run %d: body %s: state was kept from an earlier run", i+1, out.Body)
		}
	}
}

func TestSandboxHasNoIO(t *testing.T) {
	for _, name := range []string{"require", "setTimeout", "setInterval", "console", "process", "fetch", "XMLHttpRequest"} {
		p := compile(t, `addHandler("transform", (req) => { req.body = typeof `+name+`; return req; });`, slow)
		out, err := p.Run(context.Background(), stripe, transform.Context{})
		if err != nil {
			t.Fatal(err)
		}
		if string(out.Body) != "undefined" {
			t.Errorf("%s is %s in the sandbox", name, out.Body)
		}
	}
}

func runErr(t *testing.T, src string, l transform.Limits) *transform.Error {
	t.Helper()
	p := compile(t, src, l)
	_, err := p.Run(context.Background(), stripe, transform.Context{})
	var te *transform.Error
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T), want *transform.Error", err, err)
	}
	return te
}

func TestThrowNamesFileAndLine(t *testing.T) {
	te := runErr(t, "addHandler(\"transform\", (req) => {\n  throw new Error(\"no amount\");\n});", slow)
	if !strings.Contains(te.Message, "no amount") || !strings.Contains(te.Message, "app.js:2") || te.Timeout {
		t.Errorf("message = %q", te.Message)
	}
}

func TestInfiniteLoopInterrupted(t *testing.T) {
	te := runErr(t, `addHandler("transform", (req) => { for (;;) {} });`, transform.Limits{Timeout: 20 * time.Millisecond})
	if !te.Timeout || !strings.Contains(te.Message, "20ms, then 80ms") {
		t.Errorf("error = %+v", te)
	}
}

func TestContextCancelInterrupts(t *testing.T) {
	p := compile(t, `addHandler("transform", (req) => { while (true) {} });`, transform.Limits{Timeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	_, err := p.Run(ctx, stripe, transform.Context{})
	var te *transform.Error
	if !errors.As(err, &te) || te.Timeout {
		t.Fatalf("err = %v", err)
	}
}

func TestRecursionBounded(t *testing.T) {
	te := runErr(t, `function f(n) { return f(n + 1) + 1 } addHandler("transform", (req) => { f(0); return req; });`, slow)
	if !strings.Contains(te.Message, "nested calls") {
		t.Errorf("message = %q", te.Message)
	}
}

func TestOutputLimit(t *testing.T) {
	te := runErr(t, `addHandler("transform", (req) => { req.body = "x".repeat(2000); return req; });`, transform.Limits{MaxOutput: 1000, Timeout: 10 * time.Second})
	if !strings.Contains(te.Message, "output limit of 1000 bytes") {
		t.Errorf("message = %q", te.Message)
	}
}

func TestBadReturns(t *testing.T) {
	for src, want := range map[string]string{
		`addHandler("transform", (req) => {});`:                                               "returned nothing",
		`addHandler("transform", (req) => 42);`:                                               "not a request object",
		`addHandler("transform", (req) => { req.headers["bad name"] = "x"; return req });`:    "not a valid HTTP header name",
		`addHandler("transform", (req) => { req.headers["x-a"] = "a\r\nb: c"; return req });`: "line break",
		`addHandler("transform", (req) => { req.path = "relative"; return req });`:            "must start with /",
	} {
		if te := runErr(t, src, slow); !strings.Contains(te.Message, want) {
			t.Errorf("%s: message %q, want %q", src, te.Message, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for src, want := range map[string]string{
		"addHandler(\"transform\", (req) => {\n  return req\n  }}\n": "app.js: Line 3:4",
		`var x = 1;`:                   `does not call addHandler("transform"`,
		`addHandler("filter", x => x)`: `only "transform" handlers exist`,
		`throw new Error("at load")`:   "at load",
	} {
		_, err := transform.Compile("app.js", []byte(src), slow)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", src, err, want)
		}
	}
}

func TestFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.js")
	write := func(src string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour)
	write(`addHandler("transform", (r) => { r.body = "v1"; return r });`, t0)
	f, err := transform.Load(path, slow)
	if err != nil {
		t.Fatal(err)
	}
	h1 := f.Current().Hash()
	if changed, err := f.Reload(); changed || err != nil {
		t.Fatalf("unchanged file: changed %v err %v", changed, err)
	}
	// Same content, new mtime: not a change.
	write(`addHandler("transform", (r) => { r.body = "v1"; return r });`, t0.Add(time.Second))
	if changed, err := f.Reload(); changed || err != nil {
		t.Fatalf("touched file: changed %v err %v", changed, err)
	}
	// A syntax error keeps the old program.
	write(`addHandler("transform", (r) => { r.body = "v2"; return r );`, t0.Add(2*time.Second))
	if changed, err := f.Reload(); changed || err == nil || !strings.Contains(err.Error(), "Line 1:") {
		t.Fatalf("broken file: changed %v err %v", changed, err)
	}
	if f.Current().Hash() != h1 {
		t.Fatal("a broken file replaced the program")
	}
	write(`addHandler("transform", (r) => { r.body = "v2"; return r });`, t0.Add(3*time.Second))
	if changed, err := f.Reload(); !changed || err != nil {
		t.Fatalf("fixed file: changed %v err %v", changed, err)
	}
	out, err := f.Current().Run(context.Background(), stripe, transform.Context{})
	if err != nil || string(out.Body) != "v2" || f.Current().Hash() == h1 {
		t.Fatalf("after reload: %q %v", out.Body, err)
	}
}

func BenchmarkRun(b *testing.B) {
	p, err := transform.Compile("app.js", []byte(`addHandler("transform", (request, context) => {
  request.body = {type: context.type, amount: request.body.data.object.amount_paid};
  request.headers["x-type"] = context.type;
  return request;
});`), transform.Limits{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Run(context.Background(), stripe, transform.Context{Type: "invoice.paid"}); err != nil {
			b.Fatal(err)
		}
	}
}

// slow is the limits of tests that are not about the time limit: the shared
// test machine may stall a goroutine for longer than the default 50 ms.
var slow = transform.Limits{Timeout: 10 * time.Second}
