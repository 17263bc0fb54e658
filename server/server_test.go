package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	health := func(context.Context) (any, error) { reached = true; return map[string]string{}, nil }
	tokens := func(_ context.Context, tok string) (string, bool) { return "alice", tok == "api-token" }
	admin := httptest.NewServer(server.New(server.Options{Store: store, AdminToken: "admin-secret", Tokens: tokens, Health: health}).Admin())
	defer admin.Close()
	disabled := httptest.NewServer(server.New(server.Options{Store: store, Health: health}).Admin())
	defer disabled.Close()
	public := httptest.NewServer(server.Public(server.Options{Store: store, Ingest: http.NotFoundHandler()}))
	defer public.Close()

	cases := []struct {
		name, url, auth string
		want            int
		reach           bool
	}{
		{"no token", admin.URL + "/api/health", "", http.StatusUnauthorized, false},
		{"wrong token", admin.URL + "/api/health", "Bearer nope", http.StatusUnauthorized, false},
		{"not bearer", admin.URL + "/api/health", "Basic YWRtaW4tc2VjcmV0", http.StatusUnauthorized, false},
		{"admin token", admin.URL + "/api/health", "Bearer admin-secret", http.StatusOK, true},
		{"API token", admin.URL + "/api/health", "Bearer api-token", http.StatusOK, true},
		{"unknown API route", admin.URL + "/api/nope", "Bearer admin-secret", http.StatusNotFound, false},
		{"unknown API route, no token", admin.URL + "/api/nope", "", http.StatusUnauthorized, false},
		{"profiler, no token", admin.URL + "/debug/pprof/", "", http.StatusUnauthorized, false},
		{"profiler", admin.URL + "/debug/pprof/", "Bearer admin-secret", http.StatusOK, false},
		{"health needs no token", admin.URL + "/healthz", "", http.StatusOK, false},
		{"readiness needs no token", admin.URL + "/readyz", "", http.StatusOK, false},
		{"API disabled without a token", disabled.URL + "/api/health", "Bearer ", http.StatusForbidden, false},
		{"not on the public listener", public.URL + "/api/health", "Bearer admin-secret", http.StatusNotFound, false},
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
	health := func(context.Context) (any, error) { return map[string]string{}, nil }
	admin := httptest.NewServer(server.New(server.Options{Store: store, AdminToken: adminToken, Tokens: tokens, Health: health, Now: clock}).Admin())
	defer admin.Close()
	call := func(auth string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, admin.URL+"/api/health", nil)
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
// themselves: a resource's routes appear, on the admin listener, when what
// they need is set.
func TestRoutesListsRegistrations(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	got := server.New(server.Options{Ingest: http.NotFoundHandler(), Store: store}).Routes()
	has := map[server.Route]bool{}
	for _, r := range got {
		has[r] = true
	}
	for _, want := range []server.Route{
		{Listener: "public", Method: "POST", Path: "/in/{source}"},
		{Listener: "public", Method: "GET", Path: "/readyz"},
		{Listener: "admin", Method: "GET", Path: "/api/issues"},
		{Listener: "admin", Method: "POST", Path: "/api/silences"},
		{Listener: "admin", Method: "DELETE", Path: "/api/silences/{id}"},
		{Listener: "admin", Method: "POST", Path: "/api/webhook-sentry-test"},
		{Listener: "admin", Method: "ANY", Path: "/api/"},
	} {
		if !has[want] {
			t.Errorf("Routes misses %+v: %+v", want, got)
		}
	}
	for _, absent := range []server.Route{
		{Listener: "admin", Method: "GET", Path: "/metrics"},                 // no Gatherer
		{Listener: "admin", Method: "GET", Path: "/api/deliveries"},          // no Engine
		{Listener: "admin", Method: "GET", Path: "/api/health"},              // no Health
		{Listener: "admin", Method: "POST", Path: "/api/quarantine/release"}, // no Release
	} {
		if has[absent] {
			t.Errorf("%+v listed without what it needs: %+v", absent, got)
		}
	}
}
