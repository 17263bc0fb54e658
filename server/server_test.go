package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/server"
	"github.com/hookwatch/hookwatch/sqlite"
)

// The admin surface: every /api/ route and the profiler need a token; health
// checks and metrics do not; the public listener serves nothing of it.
func TestAdminAuthentication(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	reached := false
	api := map[string]http.HandlerFunc{"GET /api/thing": func(w http.ResponseWriter, r *http.Request) { reached = true }}
	tokens := func(_ context.Context, tok string) (string, bool) { return "alice", tok == "api-token" }
	admin := httptest.NewServer(server.Admin(server.Options{Store: store, AdminToken: "admin-secret", Tokens: tokens, API: api}))
	defer admin.Close()
	disabled := httptest.NewServer(server.Admin(server.Options{Store: store, API: api}))
	defer disabled.Close()
	public := httptest.NewServer(server.Public(server.Options{Store: store, Ingest: http.NotFoundHandler()}))
	defer public.Close()

	cases := []struct {
		name, url, auth string
		want            int
		reach           bool
	}{
		{"no token", admin.URL + "/api/thing", "", http.StatusUnauthorized, false},
		{"wrong token", admin.URL + "/api/thing", "Bearer nope", http.StatusUnauthorized, false},
		{"not bearer", admin.URL + "/api/thing", "Basic YWRtaW4tc2VjcmV0", http.StatusUnauthorized, false},
		{"admin token", admin.URL + "/api/thing", "Bearer admin-secret", http.StatusOK, true},
		{"API token", admin.URL + "/api/thing", "Bearer api-token", http.StatusOK, true},
		{"unknown API route", admin.URL + "/api/nope", "Bearer admin-secret", http.StatusNotFound, false},
		{"unknown API route, no token", admin.URL + "/api/nope", "", http.StatusUnauthorized, false},
		{"profiler, no token", admin.URL + "/debug/pprof/", "", http.StatusUnauthorized, false},
		{"profiler", admin.URL + "/debug/pprof/", "Bearer admin-secret", http.StatusOK, false},
		{"health needs no token", admin.URL + "/healthz", "", http.StatusOK, false},
		{"readiness needs no token", admin.URL + "/readyz", "", http.StatusOK, false},
		{"API disabled without a token", disabled.URL + "/api/thing", "Bearer ", http.StatusForbidden, false},
		{"not on the public listener", public.URL + "/api/thing", "Bearer admin-secret", http.StatusNotFound, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reached = false
			req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want || reached != tc.reach {
				t.Errorf("status %d reached %v, want %d reached %v", resp.StatusCode, reached, tc.want, tc.reach)
			}
			if tc.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}

// Error codes become statuses in one place, and internal details never
// reach the caller.
func TestWriteError(t *testing.T) {
	cases := []struct {
		err     error
		status  int
		message string
	}{
		{hookwatch.Errorf(hookwatch.ENOTFOUND, "event evt_1 not found"), 404, "event evt_1 not found"},
		{hookwatch.Errorf(hookwatch.EINVALID, "bad filter"), 400, "bad filter"},
		{&hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store cannot commit", Err: errors.New("disk I/O error at /var/lib/x")}, 503, "store cannot commit"},
		{errors.New("sqlite: constraint failed: secret-ish detail"), 500, "internal error"},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		server.WriteError(rec, httptest.NewRequest(http.MethodGet, "/api/x", nil), tc.err)
		var body map[string]string
		json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != tc.status || body["message"] != tc.message {
			t.Errorf("%v: %d %v, want %d %q", tc.err, rec.Code, body, tc.status, tc.message)
		}
		if tc.status == 503 && rec.Header().Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
	}
}

// Wrong tokens are throttled per client address: after 20 in 10 minutes
// the address gets 429 with Retry-After, right token or not, until the
// window has passed; a burst of concurrent guesses gets no more checks.
func TestAdminTokenThrottle(t *testing.T) {
	const adminToken = "0123456789abcdef0123456789abcdef-admin"
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	// The API token checker counts lookups and holds them until open is
	// closed, so that a burst overlaps.
	var lookups atomic.Int64
	open := make(chan struct{})
	tokens := func(_ context.Context, tok string) (string, bool) {
		lookups.Add(1)
		<-open
		return "alice", tok == "hwt_right"
	}
	api := map[string]http.HandlerFunc{"GET /api/thing": func(w http.ResponseWriter, r *http.Request) {}}
	admin := httptest.NewServer(server.Admin(server.Options{Store: store, AdminToken: adminToken, Tokens: tokens, API: api, Now: clock}))
	defer admin.Close()
	call := func(auth string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, admin.URL+"/api/thing", nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return &http.Response{}
		}
		resp.Body.Close()
		return resp
	}

	// A burst of 60 wrong tokens at once: 20 are looked up, 40 refused.
	answers := make(chan int, 60)
	var answered atomic.Int64
	for range 60 {
		go func() { s := call("hwt_guess").StatusCode; answered.Add(1); answers <- s }()
	}
	deadline := time.Now().Add(20 * time.Second)
	for answered.Load()+lookups.Load() < 60 {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the burst")
		}
		time.Sleep(time.Millisecond)
	}
	close(open)
	got := map[int]int{}
	for range 60 {
		got[<-answers]++
	}
	if lookups.Load() != 20 || got[401] != 20 || got[429] != 40 {
		t.Fatalf("burst of 60 wrong tokens: %d lookups, answers %v; want 20 lookups, 20×401, 40×429", lookups.Load(), got)
	}

	// Locked: even the right admin token is refused, with Retry-After.
	resp := call(adminToken)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "600" {
		t.Errorf("right token while locked: %d, Retry-After %q; want 429, 600", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// No token is no guess: still a plain 401.
	if resp := call(""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token while locked: %d, want 401", resp.StatusCode)
	}
	advance(9 * time.Minute)
	if resp := call(adminToken); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "60" {
		t.Errorf("a minute before the window ends: %d, Retry-After %q; want 429, 60", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	advance(time.Minute)
	// Right tokens cost nothing: many of them, then 20 wrong ones are
	// still answered 401, the 21st 429.
	for i := range 50 {
		if resp := call(adminToken); resp.StatusCode != http.StatusOK {
			t.Fatalf("right token %d after the window: %d", i, resp.StatusCode)
		}
		if resp := call("hwt_right"); resp.StatusCode != http.StatusOK {
			t.Fatalf("API token %d after the window: %d", i, resp.StatusCode)
		}
	}
	for i := range 20 {
		if resp := call("wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d, want 401", i, resp.StatusCode)
		}
	}
	if resp := call("wrong"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("21st wrong token: %d, want 429", resp.StatusCode)
	}
}

// Routes lists what the listeners serve, from the registrations
// themselves: a route in Options.API appears, on the admin listener.
func TestRoutesListsRegistrations(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) {}
	got := server.Routes(server.Options{Ingest: http.NotFoundHandler(), API: map[string]http.HandlerFunc{"GET /api/things": ok}})
	has := map[server.Route]bool{}
	for _, r := range got {
		has[r] = true
	}
	for _, want := range []server.Route{
		{Listener: "public", Method: "POST", Path: "/in/{source}"},
		{Listener: "public", Method: "GET", Path: "/readyz"},
		{Listener: "admin", Method: "GET", Path: "/api/things"},
		{Listener: "admin", Method: "ANY", Path: "/api/"},
	} {
		if !has[want] {
			t.Errorf("Routes misses %+v: %+v", want, got)
		}
	}
	if has[server.Route{Listener: "admin", Method: "GET", Path: "/metrics"}] {
		t.Errorf("/metrics listed without a Gatherer: %+v", got)
	}
}
