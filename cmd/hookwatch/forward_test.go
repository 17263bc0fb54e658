package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/server"
)

const forwardToken = "forward-test-admin-token-0123456789"

// serveStream serves one stripe source with an admin token: the event
// stream is behind it.
func serveStream(t *testing.T) *proc {
	t.Helper()
	dir := t.TempDir()
	return serve(t, dir, stripeYAML("sqlite:"+filepath.Join(dir, "hw.db"))+fmt.Sprintf("admin_token: %q\n", forwardToken))
}

// forwarded is one request the local app got.
type forwarded struct {
	header http.Header
	body   []byte
}

// localApp is the developer's app: it records what it is posted.
type localApp struct {
	mu   sync.Mutex
	reqs []forwarded
}

func (a *localApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.reqs = append(a.reqs, forwarded{r.Header.Clone(), body})
	a.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (a *localApp) wait(t *testing.T, n int, logs func() string) []forwarded {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		got := slices.Clone(a.reqs)
		a.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the local app got fewer than %d requests in 30s; forward said:\n%s", n, logs())
	return nil
}

// syncBuffer is a bytes.Buffer safe for a process's writes and the test's
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hookwatch forward posts every event to the local app once, in order,
// signed with the secret it printed, across a restart of the server in the
// middle (it reconnects and resumes after the last event it saw).
func TestForwardAcrossServerRestart(t *testing.T) {
	t.Parallel()
	srv := serveStream(t)
	public, cfg := srv.public, srv.config

	app := &localApp{}
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()
	var stdout, stderr syncBuffer
	fw := exec.Command(binary(t), "forward", "--config", cfg, "--to", appSrv.URL+"/webhooks", "--since", "10m")
	fw.Env = []string{"PATH=" + os.Getenv("PATH")}
	fw.Stdout, fw.Stderr = &stdout, &stderr
	if err := fw.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- fw.Wait() }()
	defer func() {
		fw.Process.Signal(syscall.SIGKILL)
		<-exited
	}()
	logs := func() string { return "stdout:\n" + stdout.String() + "stderr:\n" + stderr.String() }

	client := &http.Client{Timeout: 10 * time.Second}
	var want []string
	send := func(pid string) {
		t.Helper()
		code, id, err := sendStripe(client, public, pid)
		if err != nil || code != http.StatusOK {
			t.Fatalf("send %s: %d %v", pid, code, err)
		}
		want = append(want, id)
	}
	for i := range 3 {
		send(fmt.Sprintf("evt_before_%d", i))
	}
	app.wait(t, 3, logs)

	srv.stop(t)
	srv = srv.restart(t)
	for i := range 3 {
		send(fmt.Sprintf("evt_after_%d", i))
	}
	got := app.wait(t, 6, logs)
	// A repeat would show up as a seventh request: the next event is the
	// seventh, not a repeat.
	send("evt_last")
	got = app.wait(t, 7, logs)

	secret := ""
	for line := range strings.Lines(stderr.String()) {
		if s, ok := strings.CutPrefix(line, "Signing secret: "); ok {
			secret, _, _ = strings.Cut(s, " ")
		}
	}
	key, err := deliver.ParseSecret(secret)
	if err != nil {
		t.Fatalf("secret %q printed at start: %v\n%s", secret, err, logs())
	}
	var gotIDs []string
	for _, r := range got {
		id := r.header.Get("Webhook-Id")
		gotIDs = append(gotIDs, id)
		ts, err := strconv.ParseInt(r.header.Get("Webhook-Timestamp"), 10, 64)
		if err != nil {
			t.Errorf("%s: webhook-timestamp %q", id, r.header.Get("Webhook-Timestamp"))
		}
		if sig := r.header.Get("Webhook-Signature"); sig != deliver.Sign(key, id, time.Unix(ts, 0), r.body) {
			t.Errorf("%s: webhook-signature %q does not verify with the printed secret", id, sig)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q, want the original application/json", id, ct)
		}
		if r.header.Get("Stripe-Signature") != "" {
			t.Errorf("%s: the provider's headers were sent without --keep-headers", id)
		}
		var body struct{ Type string }
		if json.Unmarshal(r.body, &body) != nil || body.Type != "invoice.paid" {
			t.Errorf("%s: body %s, want the Stripe event as forwarded", id, r.body)
		}
	}
	if !slices.Equal(gotIDs, want) {
		t.Fatalf("the app got %v\nwant each event once, in order: %v\n%s", gotIDs, want, logs())
	}
	// forward prints an event's line once the app answered: the app may
	// have the last request a moment before.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stdout.String(), want[len(want)-1]) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	out := stdout.String()
	for _, id := range want {
		if !strings.Contains(out, id+"  202  ") {
			t.Errorf("no line for %s with the app's status 202:\n%s", id, out)
		}
	}
	if !strings.Contains(stderr.String(), "reconnecting") {
		t.Errorf("forward did not say it reconnected after the restart:\n%s", stderr.String())
	}

	// --replay sends one event again, and exits.
	before := len(got)
	o, e, err := runBinary(t, "forward", "--config", cfg, "--to", appSrv.URL+"/webhooks", "--replay", want[1], "--secret", secret)
	if err != nil {
		t.Fatalf("forward --replay: %v\n%s%s", err, o, e)
	}
	again := app.wait(t, before+1, logs)
	if id := again[before].header.Get("Webhook-Id"); id != want[1] || !strings.Contains(o, want[1]) {
		t.Errorf("--replay %s: the app got %s; printed %q", want[1], id, o)
	}
}

// hookwatch tail --json prints each event as one JSON object per line:
// what a script parses.
func TestTailJSON(t *testing.T) {
	t.Parallel()
	srv := serveStream(t)
	public, cfg := srv.public, srv.config

	client := &http.Client{Timeout: 10 * time.Second}
	var want []string
	for i := range 2 {
		code, id, err := sendStripe(client, public, fmt.Sprintf("evt_tail_%d", i))
		if err != nil || code != http.StatusOK {
			t.Fatalf("send: %d %v", code, err)
		}
		want = append(want, id)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	env := &Env{Stdout: pw, Stderr: io.Discard, Getenv: func(string) (string, bool) { return "", false }}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, env, []string{"tail", "--config", cfg, "--json", "--source", "stripe", "--last", "10"})
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var got []server.StreamEvent
	for len(got) < len(want) && sc.Scan() {
		var e server.StreamEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("tail --json printed %q: %v", sc.Text(), err)
		}
		got = append(got, e)
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if err := <-done; err != nil {
		t.Errorf("tail after Ctrl-C: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("tail printed %d events, want %d", len(got), len(want))
	}
	for i, e := range got {
		var body struct{ ID string }
		json.Unmarshal([]byte(e.Body), &body)
		if e.ID != want[i] || e.Source != "stripe" || e.Type != "invoice.paid" || e.Test || body.ID != fmt.Sprintf("evt_tail_%d", i) {
			t.Errorf("event %d: %+v, want %s from stripe, invoice.paid, not a test, with its body", i, e, want[i])
		}
		if e.Headers.Get("Stripe-Signature") == "" || e.Headers.Get("Content-Type") != "application/json" {
			t.Errorf("event %d: headers %v, want the request's", i, e.Headers)
		}
	}
}
