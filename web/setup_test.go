package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/alert"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/provider"
	"github.com/hookwatch/hookwatch/quarantine"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/web"
	"golang.org/x/crypto/bcrypt"
)

const (
	user     = "alice"
	password = "correct horse battery staple"
	secret   = "whsec_test_secret"
)

// env is a running Hookwatch without the binary: a SQLite store, the real
// receive path, the real delivery engine sending to two local apps (app
// answers 200, flaky 500), the issue recorder, and the dashboard.
type env struct {
	t        *testing.T
	store    *sqlite.Store
	engine   *deliver.Engine
	ingest   *httptest.Server
	dash     *httptest.Server
	signer   provider.Signer
	appCalls atomic.Int64
	now      atomic.Pointer[time.Time]
	// flakyFixed makes flaky answer 200 from then on (its app was fixed).
	flakyFixed atomic.Bool
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: s}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, &hookwatch.User{Name: user, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.appCalls.Add(1)
		io.WriteString(w, `{"ok":true}`)
	}))
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.flakyFixed.Load() {
			io.WriteString(w, `{"ok":true}`)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `<h1>boom</h1> upstream exploded`)
	}))
	recorder := alert.NewRecorder(s, nil)
	fast := deliver.Policy{MaxAttempts: 2, Initial: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxAge: time.Hour}
	dests := []deliver.Destination{{Name: "app", URL: app.URL, Retry: fast}, {Name: "flaky", URL: flaky.URL, Retry: fast, CircuitFailures: 1000}}
	e.engine, err = deliver.New(deliver.Options{Store: s, Destinations: dests, Owner: "test", Observer: recorder,
		// Commits wake the engine (below), as in serve; the poll is only
		// the safety net. A 20ms poll had every test's engine re-parse its
		// claim queries a hundred times a second, most of the package's CPU
		// under -race.
		Poll: 250 * time.Millisecond, DrainTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.engine.Start(ctx); err != nil {
		t.Fatal(err)
	}

	scheme, err := provider.New("stripe", provider.Config{Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	e.signer = scheme.(provider.Signer)
	committer := ingest.NewCommitter(s, 64, func(b ingest.Batch) {
		if b.Err == nil {
			e.engine.Wake(b.Destinations...)
		}
	})
	sources := []ingest.Source{{Name: "stripe", Provider: "stripe", Scheme: scheme, MaxBody: 1 << 20}}
	router := func(*hookwatch.Event) ([]string, []hookwatch.Filtered) { return []string{"app", "flaky"}, nil }
	mux := http.NewServeMux()
	mux.Handle("POST /in/{source}", ingest.NewHandler(ingest.Options{Sources: sources, Committer: committer, Router: router, Reject: recorder.Reject}))
	e.ingest = httptest.NewServer(mux)

	relScheme, _ := provider.New("stripe", provider.Config{Secrets: []string{secret}})
	releaser := &quarantine.Releaser{Store: s, Sources: []ingest.Source{{Name: "stripe", Provider: "stripe", Scheme: relScheme, MaxBody: 1 << 20}}, Router: router}
	h, err := web.New(web.Options{
		Store: s, Sources: []string{"stripe"},
		SourceSettings: map[string][]web.Setting{"stripe": {{Name: "provider", Value: "stripe"}, {Name: "secrets", Value: "1 configured (values not shown)"}}},
		Destinations: []web.Destination{{Name: "app", URL: app.URL, Settings: []web.Setting{{Name: "timeout", Value: "10s"}}},
			{Name: "flaky", URL: flaky.URL},
			// ordered is in no route and no engine: its deliveries stay
			// pending, for the ordering test.
			{Name: "ordered", URL: app.URL, Ordered: true, OnDead: hookwatch.OnDeadSkip}},
		Control: e.engine, Releaser: releaser,
		Now: e.clock, Logger: slog.New(slog.NewTextHandler(tlog{t}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.dash = httptest.NewServer(h)
	t.Cleanup(func() {
		e.dash.Close()
		e.ingest.Close()
		committer.Close()
		e.engine.Close(context.Background())
		recorder.Close()
		app.Close()
		flaky.Close()
		s.Close()
	})
	return e
}

// clock is the dashboard's clock: the real time unless a test moved it.
func (e *env) clock() time.Time {
	if t := e.now.Load(); t != nil {
		return *t
	}
	return time.Now()
}

// send posts a Stripe event signed with the source's secret to the real
// receive path and returns the stored event's ID.
func (e *env) send(providerID, typ string) string {
	e.t.Helper()
	body := []byte(fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"livemode":true,"data":{"object":{"note":"<script>alert(1)</script>"}}}`, providerID, typ))
	req, _ := http.NewRequest(http.MethodPost, e.ingest.URL+"/in/stripe", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk_live_must_not_show")
	if err := e.signer.Sign(req.Header, req.URL.String(), body, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("ingest answered %d", resp.StatusCode)
	}
	evs, err := e.store.ListEvents(context.Background(), hookwatch.EventFilter{ProviderEventID: providerID})
	if err != nil || len(evs) != 1 {
		e.t.Fatalf("stored events for %s: %v, %v", providerID, evs, err)
	}
	return evs[0].ID
}

// settle waits until every delivery is finished and the failures have been
// grouped into an issue.
func (e *env) settle() {
	e.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := e.store.CountDeliveries(ctx, hookwatch.DeliveryFilter{Status: hookwatch.DeliveryPending})
		if err != nil {
			e.t.Fatal(err)
		}
		pending := 0
		for _, m := range c {
			pending += m[hookwatch.DeliveryPending]
		}
		is, err := e.store.ListIssues(ctx, hookwatch.IssueFilter{})
		if err != nil {
			e.t.Fatal(err)
		}
		if pending == 0 && len(is) > 0 && is[0].DeadLetters > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatal("deliveries did not settle within 10s")
}

// client is a browser without JavaScript: a cookie jar, and redirects are
// not followed so that tests see them.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches a page and returns its status and body.
func (e *env) get(c *http.Client, path string) (int, string) {
	e.t.Helper()
	resp, err := c.Get(e.dash.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post submits a form and returns the response (body read).
func (e *env) post(c *http.Client, path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	resp, err := c.PostForm(e.dash.URL+path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn signs c in and returns the session's CSRF token.
func (e *env) signIn(c *http.Client) string {
	e.t.Helper()
	_, body := e.get(c, "/signin")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no csrf field on the sign-in page:\n%s", body)
	}
	resp, body := e.post(c, "/signin", url.Values{"csrf": {m[1]}, "name": {user}, "password": {password}, "next": {"/"}})
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in: %d\n%s", resp.StatusCode, body)
	}
	_, body = e.get(c, "/")
	m = csrfRE.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no csrf field once signed in:\n%s", body)
	}
	return m[1]
}

func contains(body string, want ...string) []string {
	var missing []string
	for _, w := range want {
		if !strings.Contains(body, w) {
			missing = append(missing, w)
		}
	}
	return missing
}

func regexpFind(re, s string) string {
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}

// tlog sends the dashboard's log to the test's.
type tlog struct{ t *testing.T }

func (l tlog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
