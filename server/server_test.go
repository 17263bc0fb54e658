package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

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
