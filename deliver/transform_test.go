package deliver_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/alert"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/transform"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// reshape turns a Stripe invoice event into the app's own shape and adds
// a header and a path.
const reshape = `
addHandler("transform", (request, context) => {
  const body = request.body;
  request.body = {kind: context.type, id: body.id, source: context.source, event: context.event_id};
  request.headers["x-shape"] = "v1";
  request.path = request.path + "/invoices";
  return request;
});`

// tenv is an engine with transforming destinations over a real SQLite
// store, on the real clock (the Standard Webhooks library checks the
// timestamp against it), with the issue recorder as its observer.
type tenv struct {
	t        *testing.T
	store    *sqlite.Store
	engine   *deliver.Engine
	recorder *alert.Recorder
}

func writeJS(t *testing.T, path, src string) {
	t.Helper()
	// A new modification time each write, even within the file system's
	// timestamp granularity: the engine notices by mtime and size.
	mod := time.Now()
	if st, err := os.Stat(path); err == nil && !st.ModTime().Before(mod) {
		mod = st.ModTime().Add(time.Second)
	}
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func loadJS(t *testing.T, src string, l transform.Limits) (*transform.File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.js")
	writeJS(t, path, src)
	f, err := transform.Load(path, l)
	if err != nil {
		t.Fatal(err)
	}
	return f, path
}

func setupTransform(t *testing.T, dests ...deliver.Destination) *tenv {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &tenv{t: t, store: s, recorder: alert.NewRecorder(s, slog.New(slog.DiscardHandler))}
	e.engine, err = deliver.New(deliver.Options{Store: s, Destinations: dests, Owner: "test", Observer: e.recorder,
		Poll: 20 * time.Millisecond, TransformPoll: 20 * time.Millisecond, DrainTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.engine.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.engine.Close(context.Background())
		e.recorder.Close()
		s.Close()
	})
	return e
}

func (e *tenv) ingest(dest string) *hookwatch.Event {
	e.t.Helper()
	ev := newEvent("stripe", "evt_"+hookwatch.NewID("p", time.Now()), time.Now().UTC())
	ev.Destinations = []string{dest}
	if _, err := e.store.InsertEvents(context.Background(), []*hookwatch.Event{ev}); err != nil {
		e.t.Fatal(err)
	}
	e.engine.Wake()
	return ev
}

func (e *tenv) wait(what string, cond func(ds []*hookwatch.Delivery) bool) []*hookwatch.Delivery {
	e.t.Helper()
	return (&env{t: e.t, store: e.store}).wait(what, cond)
}

func TestTransformReshapesAndSignsTheSentBody(t *testing.T) {
	t.Parallel()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	s, srv := newSink(t)
	verified := make(chan error, 1)
	s.set(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		body := s.bodies[len(s.bodies)-1]
		s.mu.Unlock()
		verified <- wh.Verify(body, r.Header)
	})
	f, _ := loadJS(t, reshape, transform.Limits{Timeout: 10 * time.Second})
	e := setupTransform(t, deliver.Destination{Name: "app", URL: srv.URL + "/hooks", Secret: secret, Transform: f,
		Headers: map[string]string{"Authorization": "Bearer app-token"}})
	ev := e.ingest("app")
	ds := e.wait("delivered", all(func(d *hookwatch.Delivery) bool { return d.Status == hookwatch.DeliverySucceeded }))
	if err := <-verified; err != nil {
		t.Fatalf("the receiver could not verify the signature over the transformed body: %v", err)
	}
	s.mu.Lock()
	r, body := s.requests[0], s.bodies[0]
	s.mu.Unlock()
	var got map[string]string
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if got["kind"] != "invoice.paid" || got["id"] != ev.ProviderEventID || got["source"] != "stripe" || got["event"] != ev.ID {
		t.Errorf("received body %s", body)
	}
	if r.URL.Path != "/hooks/invoices" || r.Header.Get("X-Shape") != "v1" || r.Header.Get("Authorization") != "Bearer app-token" {
		t.Errorf("received %s with headers %v", r.URL.Path, r.Header)
	}
	// The stored event is as received.
	stored, err := e.store.GetEvent(context.Background(), ev.ID)
	if err != nil || string(stored.Body) != string(ev.Body) {
		t.Fatalf("stored body %q, %v; want %q", stored.Body, err, ev.Body)
	}
	a := attempts(t, e.store, ds[0].ID)[0]
	sum := sha256.Sum256(body)
	if a.SentHash != "sha256:"+hex.EncodeToString(sum[:]) || a.Transform != f.Current().Hash() {
		t.Errorf("attempt hashes: sent %s transform %s", a.SentHash, a.Transform)
	}
	if a.Sent == nil || string(a.Sent.Body) != string(body) || !strings.HasSuffix(a.Sent.URL, "/hooks/invoices") ||
		a.Sent.Headers.Get("Authorization") != hookwatch.Redacted || a.Sent.Headers.Get("X-Shape") != "v1" {
		t.Errorf("request as sent = %+v", a.Sent)
	}
}

// failAndFix checks that a transform failing with want becomes a
// transform_error and an issue, waits (no request, not retried on the
// poll), and is delivered in the fixed shape once the file is fixed.
func failAndFix(t *testing.T, broken, want string, l transform.Limits) {
	s, srv := newSink(t)
	f, path := loadJS(t, broken, l)
	e := setupTransform(t, deliver.Destination{Name: "app", URL: srv.URL, Secret: secret, Transform: f})
	ev := e.ingest("app")
	ds := e.wait("failed by the transform", all(func(d *hookwatch.Delivery) bool { return d.LastClass == hookwatch.ClassTransform }))
	d := ds[0]
	if d.Status != hookwatch.DeliveryPending || !strings.Contains(d.LastError, want) || d.Attempts != 0 {
		t.Fatalf("delivery = %s attempts %d error %q; want pending, uncounted, %q", d.Status, d.Attempts, d.LastError, want)
	}
	if time.Until(d.NextAttemptAt) < 24*time.Hour {
		t.Errorf("due again at %v: a transform error waits for a new transform", d.NextAttemptAt)
	}
	// Several polls later: still one attempt, nothing sent.
	time.Sleep(100 * time.Millisecond)
	if n := len(attempts(t, e.store, d.ID)); n != 1 || s.count() != 0 {
		t.Fatalf("%d attempts, %d requests sent; want 1 and 0 while the transform is unchanged", n, s.count())
	}
	var issues []*hookwatch.Issue
	for deadline := time.Now().Add(10 * time.Second); len(issues) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var err error
		if issues, err = e.store.ListIssues(context.Background(), hookwatch.IssueFilter{Destination: "app"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(issues) != 1 || issues[0].Class != string(hookwatch.ClassTransform) || !strings.Contains(issues[0].LastMessage, want) {
		t.Fatalf("issues = %+v, want one transform_error issue", issues)
	}

	writeJS(t, path, reshape)
	e.wait("delivered after the fix", all(func(d *hookwatch.Delivery) bool { return d.Status == hookwatch.DeliverySucceeded }))
	s.mu.Lock()
	body := string(s.bodies[0])
	s.mu.Unlock()
	if !strings.Contains(body, `"event":"`+ev.ID+`"`) {
		t.Errorf("delivered %s, want the fixed transform's shape", body)
	}
}

func TestThrowingTransformWaitsForFix(t *testing.T) {
	t.Parallel()
	failAndFix(t, `addHandler("transform", (request) => { throw new Error("amount missing") });`, "amount missing",
		transform.Limits{Timeout: 10 * time.Second})
}

func TestEndlessTransformIsInterrupted(t *testing.T) {
	t.Parallel()
	failAndFix(t, `addHandler("transform", (request) => { for (;;) {} });`, "interrupted at the time limit",
		transform.Limits{Timeout: 20 * time.Millisecond})
}

func TestReplayUsesCurrentTransform(t *testing.T) {
	t.Parallel()
	s, srv := newSink(t)
	f, path := loadJS(t, `addHandler("transform", (r) => { r.body = {v: 1}; return r });`, transform.Limits{Timeout: 10 * time.Second})
	e := setupTransform(t, deliver.Destination{Name: "app", URL: srv.URL, Transform: f})
	ev := e.ingest("app")
	e.wait("delivered", all(func(d *hookwatch.Delivery) bool { return d.Status == hookwatch.DeliverySucceeded }))
	old := f.Current().Hash()
	writeJS(t, path, `addHandler("transform", (r) => { r.body = {v: 2}; return r });`)
	deadline := time.Now().Add(10 * time.Second)
	for f.Current().Hash() == old {
		if time.Now().After(deadline) {
			t.Fatal("the engine did not reload the changed transform")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := e.store.ReplayDeliveries(context.Background(), hookwatch.ReplayRequest{
		Filter: hookwatch.DeliveryFilter{EventIDs: []string{ev.ID}}, Actor: "test", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	e.engine.Wake()
	for s.count() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the replay was not sent")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	first, second := string(s.bodies[0]), string(s.bodies[1])
	s.mu.Unlock()
	if first != `{"v":1}` || second != `{"v":2}` {
		t.Errorf("sent %s then %s; want the replay in the current transform's shape", first, second)
	}
}

func TestPreviewSendsNothing(t *testing.T) {
	t.Parallel()
	s, srv := newSink(t)
	f, _ := loadJS(t, reshape, transform.Limits{Timeout: 10 * time.Second})
	ev := newEvent("stripe", "evt_preview", time.Now().UTC())
	req, body, err := deliver.Preview(context.Background(), deliver.Destination{Name: "app", URL: srv.URL + "/hooks", Secret: secret, Transform: f}, ev, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wh, _ := standardwebhooks.NewWebhook(secret)
	if err := wh.Verify(body, req.Header); err != nil {
		t.Errorf("preview's signature: %v", err)
	}
	if req.URL.Path != "/hooks/invoices" || !strings.Contains(string(body), `"kind":"invoice.paid"`) || s.count() != 0 {
		t.Errorf("preview %s %s; %d requests sent", req.URL, body, s.count())
	}
}
