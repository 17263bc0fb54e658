package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/provider"
	"github.com/hookwatch/hookwatch/server"
	"github.com/hookwatch/hookwatch/sqlite"
)

const (
	stripeSecret = "whsec_test_ingest"
	githubSecret = "gh-secret"
	slackSecret  = "slack-signing-secret"
)

// env is a real receive path: SQLite in a temp dir, the group committer,
// the public HTTP handler on a loopback server.
type env struct {
	store  *sqlite.Store
	server *httptest.Server
	commit *ingest.Committer
	now    time.Time
	mu     sync.Mutex
	sizes  []int
}

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{store: openStore(t), now: time.Now()}
	sources := newSources(t, sourceSpec{name: "stripe", prov: "stripe", secret: stripeSecret},
		sourceSpec{name: "github", prov: "github", secret: githubSecret}, sourceSpec{name: "slack", prov: "slack", secret: slackSecret})
	for i := range sources {
		if info, _ := provider.Lookup(sources[i].Provider); info.Subject != "" {
			// The provider's default subject path, as the config gives it.
			sources[i].Subject, _ = hookwatch.ParseSubjectPath(info.Subject)
		}
	}
	e.server, e.commit = serveReceiver(t, e.store, ingest.Options{
		Sources: sources, RetryAfter: 7 * time.Second,
		Router: func(ev *hookwatch.Event) ([]string, []hookwatch.Filtered) {
			if ev.Source == "stripe" {
				return []string{"app"}, nil
			}
			return nil, nil
		},
	}, func(b ingest.Batch) {
		e.mu.Lock()
		e.sizes = append(e.sizes, b.Size)
		e.mu.Unlock()
	})
	return e
}

// openStore opens a SQLite store in a temp dir, closed when the test ends
// (after the servers and committers of serveReceiver, registered later).
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// sourceSpec is a source to receive on: its name, provider and secret, and
// the public URL for providers that sign it.
type sourceSpec struct{ name, prov, secret, url string }

// newSources builds the sources of specs with their providers' schemes.
func newSources(t *testing.T, specs ...sourceSpec) []ingest.Source {
	t.Helper()
	var sources []ingest.Source
	for _, s := range specs {
		scheme, err := provider.New(s.prov, provider.Config{Secrets: []string{s.secret}, PublicURL: s.url})
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, ingest.Source{Name: s.name, Provider: s.prov, Scheme: scheme, PublicURL: s.url,
			MaxBody: 4096, DedupeHorizon: hookwatch.DefaultDedupeHorizon})
	}
	return sources
}

// serveReceiver is a real receive path over store: a group committer
// (observe may be nil), the handler of opts with that committer, and the
// public listener on a loopback server, all closed when the test ends.
func serveReceiver(t *testing.T, store *sqlite.Store, opts ingest.Options, observe func(ingest.Batch)) (*httptest.Server, *ingest.Committer) {
	t.Helper()
	commit := ingest.NewCommitter(store, 64, observe)
	opts.Committer = commit
	srv := httptest.NewServer(server.Public(server.Options{Ingest: ingest.NewHandler(opts), Store: store}))
	t.Cleanup(func() {
		srv.Close()
		commit.Close()
	})
	return srv, commit
}

// signed builds a request signed by the named provider's scheme.
func signed(t *testing.T, prov, secret, body string, at time.Time) http.Header {
	t.Helper()
	scheme, err := provider.New(prov, provider.Config{Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if err := scheme.(provider.Signer).Sign(h, "", []byte(body), at); err != nil {
		t.Fatal(err)
	}
	return h
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) post(t *testing.T, path string, h http.Header, body string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.server.URL+path, strings.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func stripeEvent(id string) string {
	return fmt.Sprintf(`{"id":%q,"object":"event","type":"invoice.paid","livemode":true,"data":{"object":{"id":"in_1"}}}`, id)
}

func TestReceive(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	now := time.Now()

	t.Run("stored byte-exact and routed", func(t *testing.T) {
		body := stripeEvent("evt_ok") + "\n  " // trailing bytes must survive
		r := e.post(t, "/in/stripe", signed(t, "stripe", stripeSecret, body, now), body)
		if r.status != http.StatusOK {
			t.Fatalf("status %d %s", r.status, r.raw)
		}
		id, _ := r.body["id"].(string)
		ev, err := e.store.GetEvent(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged event not in store: %v", err)
		}
		if string(ev.Body) != body || ev.ProviderEventID != "evt_ok" || ev.Type != "invoice.paid" || ev.Source != "stripe" {
			t.Errorf("stored %+v", ev)
		}
		if ev.Headers.Get("Stripe-Signature") == "" {
			t.Errorf("headers not stored")
		}
	})

	t.Run("duplicate answered 200, stored once", func(t *testing.T) {
		body := stripeEvent("evt_dup")
		first := e.post(t, "/in/stripe", signed(t, "stripe", stripeSecret, body, now), body)
		second := e.post(t, "/in/stripe", signed(t, "stripe", stripeSecret, body, now.Add(time.Second)), body)
		if first.status != 200 || second.status != 200 {
			t.Fatalf("statuses %d, %d", first.status, second.status)
		}
		if second.body["duplicate"] != true || second.body["id"] != first.body["id"] {
			t.Errorf("second answer %s, want duplicate of %v", second.raw, first.body["id"])
		}
		list, _ := e.store.ListEvents(ctx, hookwatch.EventFilter{ProviderEventID: "evt_dup"})
		if len(list) != 1 {
			t.Errorf("%d events stored, want 1", len(list))
		}
	})

	rejects := []struct {
		name   string
		header http.Header
		body   string
		reason string
	}{
		{"no signature", http.Header{}, stripeEvent("evt_r1"), "missing_signature"},
		{"wrong secret", signed(t, "stripe", "whsec_wrong", stripeEvent("evt_r2"), now), stripeEvent("evt_r2"), "bad_signature"},
		{"tampered body", signed(t, "stripe", stripeSecret, stripeEvent("evt_r3"), now), stripeEvent("evt_r3x"), "bad_signature"},
		{"stale timestamp", signed(t, "stripe", stripeSecret, stripeEvent("evt_r4"), now.Add(-10*time.Minute)), stripeEvent("evt_r4"), "stale_timestamp"},
		{"garbage header", http.Header{"Stripe-Signature": {"nonsense"}}, stripeEvent("evt_r5"), "malformed_header"},
	}
	for _, tc := range rejects {
		t.Run("401 "+tc.name, func(t *testing.T) {
			r := e.post(t, "/in/stripe", tc.header, tc.body)
			if r.status != http.StatusUnauthorized || r.body["error"] != tc.reason {
				t.Fatalf("got %d %s, want 401 %s", r.status, r.raw, tc.reason)
			}
			if strings.Contains(r.raw, stripeSecret) {
				t.Errorf("answer leaks the secret: %s", r.raw)
			}
			var pid map[string]string
			json.Unmarshal([]byte(tc.body), &pid)
			if list, _ := e.store.ListEvents(ctx, hookwatch.EventFilter{ProviderEventID: pid["id"]}); len(list) != 0 {
				t.Errorf("rejected request was stored as an event")
			}
		})
	}

	t.Run("404 unknown source", func(t *testing.T) {
		r := e.post(t, "/in/nope", nil, "{}")
		if r.status != http.StatusNotFound || !strings.Contains(r.raw, "nope") {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
	})

	t.Run("405 wrong method", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.server.URL+"/in/stripe", nil)
		r := do(t, req)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
			t.Fatalf("got %d Allow=%q", r.status, r.header.Get("Allow"))
		}
	})

	t.Run("413 over max_body", func(t *testing.T) {
		big := `{"id":"evt_big","pad":"` + strings.Repeat("x", 5000) + `"}`
		r := e.post(t, "/in/stripe", signed(t, "stripe", stripeSecret, big, now), big)
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
		// Without Content-Length (chunked), the limit still holds.
		req, _ := http.NewRequest(http.MethodPost, e.server.URL+"/in/stripe", io.MultiReader(strings.NewReader(big)))
		req.ContentLength = -1
		for k, v := range signed(t, "stripe", stripeSecret, big, now) {
			req.Header[k] = v
		}
		if r := do(t, req); r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked: got %d %s", r.status, r.raw)
		}
	})

	t.Run("malformed body with valid signature is kept and flagged", func(t *testing.T) {
		body := "this is not json"
		h := signed(t, "github", githubSecret, body, now)
		h.Set("X-GitHub-Event", "push")
		h.Set("X-GitHub-Delivery", "d-malformed")
		r := e.post(t, "/in/github", h, body)
		if r.status != 200 {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
		ev, err := e.store.GetEvent(ctx, r.body["id"].(string))
		if err != nil || !ev.Malformed || string(ev.Body) != body {
			t.Fatalf("stored %+v, %v; want malformed flag and exact body", ev, err)
		}
	})

	t.Run("slack url_verification answered, not stored", func(t *testing.T) {
		body := `{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`
		r := e.post(t, "/in/slack", signed(t, "slack", slackSecret, body, now), body)
		if r.status != 200 || !strings.Contains(r.raw, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") {
			t.Fatalf("got %d %s", r.status, r.raw)
		}
		if list, _ := e.store.ListEvents(ctx, hookwatch.EventFilter{Source: "slack"}); len(list) != 0 {
			t.Errorf("handshake stored as an event")
		}
		// The same challenge unsigned is rejected: no handshake before verification.
		if r := e.post(t, "/in/slack", http.Header{}, body); r.status != http.StatusUnauthorized {
			t.Errorf("unsigned challenge: %d", r.status)
		}
	})

	t.Run("health", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(e.server.URL + p)
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("%s: %v %v", p, resp.StatusCode, err)
			}
			resp.Body.Close()
		}
	})
}

func TestConcurrentRequestsShareCommits(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const n = 200
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make(chan string, n)
	now := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := stripeEvent(fmt.Sprintf("evt_c%d", i))
			req, _ := http.NewRequest(http.MethodPost, e.server.URL+"/in/stripe", strings.NewReader(body))
			for k, v := range signed(t, "stripe", stripeSecret, body, now) {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			var a struct{ ID string }
			json.NewDecoder(resp.Body).Decode(&a)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- resp.Status
			}
			ids[i] = a.ID
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, id := range ids {
		if _, err := e.store.GetEvent(context.Background(), id); err != nil {
			t.Fatalf("acknowledged %q not stored: %v", id, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	largest := 0
	for _, s := range e.sizes {
		largest = max(largest, s)
	}
	if len(e.sizes) >= n || largest < 2 {
		t.Logf("batches: %v", e.sizes)
		t.Errorf("%d commits for %d requests (largest batch %d): group commit is not batching", len(e.sizes), n, largest)
	}
}

func TestStoreFailureAnswers503(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.store.Close() // every commit now fails
	body := stripeEvent("evt_503")
	r := e.post(t, "/in/stripe", signed(t, "stripe", stripeSecret, body, time.Now()), body)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "7" {
		t.Fatalf("got %d Retry-After=%q %s; want 503 with Retry-After 7", r.status, r.header.Get("Retry-After"), r.raw)
	}
}

func TestCommitterCloseCommitsQueued(t *testing.T) {
	t.Parallel()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c := ingest.NewCommitter(store, 8, nil)
	var wg sync.WaitGroup
	results := make([]error, 50)
	ids := make([]string, 50)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := &hookwatch.Event{ID: hookwatch.NewID("evt", time.Now()), Source: "s", Provider: "p", Body: bytes.Repeat([]byte("x"), 10), ReceivedAt: time.Now()}
			ids[i] = ev.ID
			_, results[i] = c.Commit(context.Background(), ev)
		}()
	}
	time.Sleep(5 * time.Millisecond) // let some requests queue
	c.Close()
	wg.Wait()
	for i, err := range results {
		switch {
		case err == nil:
			if _, gerr := store.GetEvent(context.Background(), ids[i]); gerr != nil {
				t.Errorf("commit %d returned nil but event is missing: %v", i, gerr)
			}
		case err != ingest.ErrClosed:
			t.Errorf("commit %d: %v", i, err)
		}
	}
}
