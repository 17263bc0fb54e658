package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/server"
	"github.com/hookwatch/hookwatch/sqlite"
)

// The silences API creates, lists and removes silences with the CLI's
// checks (a configured rule, a duration of at most 30 days, a subject of
// the right form), records who asked, and requires the admin token.
func TestSilencesAPI(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv := httptest.NewServer(server.New(server.Options{Store: store, AdminToken: "admin-secret",
		AlertRules: []server.AlertRule{{Name: "dead-letter", Kind: "dead_letters"}, {Name: "backlog-age", Kind: "backlog_age"}}}).Admin())
	defer srv.Close()
	call := func(method, path, token, body string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}

	const create = `{"rule": "dead-letter", "subject": "destination:app", "for": "2h", "comment": "deploying v2", "by": "alice"}`
	for _, token := range []string{"", "wrong"} {
		if code, _, _ := call("POST", "/api/silences", token, create); code != http.StatusUnauthorized {
			t.Errorf("POST /api/silences with token %q: %d, want 401", token, code)
		}
	}
	if ss, _ := store.ListSilences(context.Background(), time.Time{}); len(ss) != 0 {
		t.Fatalf("a refused call stored %+v", ss)
	}

	code, body, h := call("POST", "/api/silences", "admin-secret", create)
	var si hookwatch.Silence
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &si) != nil {
		t.Fatalf("POST /api/silences = %d %s", code, body)
	}
	if !strings.HasPrefix(si.ID, "sil_") || si.Rule != "dead-letter" || si.Subject != "destination:app" || si.Comment != "deploying v2" ||
		!strings.HasPrefix(si.CreatedBy, "admin-api:alice 127.0.0.1:") || si.ExpiresAt.Sub(si.CreatedAt) != 2*time.Hour {
		t.Errorf("created %+v", si)
	}
	if h.Get("Location") != "/api/silences/"+si.ID {
		t.Errorf("Location %q", h.Get("Location"))
	}
	stored, err := store.ListSilences(context.Background(), time.Now())
	if err != nil || len(stored) != 1 || stored[0].ID != si.ID || stored[0].CreatedBy != si.CreatedBy {
		t.Fatalf("stored silences = %+v, %v", stored, err)
	}
	// Without "by", the caller's address alone; without a subject, every subject.
	code, body, _ = call("POST", "/api/silences", "admin-secret", `{"rule": "backlog-age", "for": "30m"}`)
	var other hookwatch.Silence
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &other) != nil || !strings.HasPrefix(other.CreatedBy, "admin-api 127.0.0.1:") || other.Subject != "" {
		t.Fatalf("POST without by = %d %s", code, body)
	}

	var list struct {
		Silences []hookwatch.Silence `json:"silences"`
	}
	code, body, _ = call("GET", "/api/silences", "admin-secret", "")
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Silences) != 2 || list.Silences[0].ID != other.ID {
		t.Errorf("GET /api/silences = %d %s (soonest to end first)", code, body)
	}
	if code, body, _ = call("GET", "/api/silences?limit=1", "admin-secret", ""); code != 200 || strings.Count(body, `"id"`) != 1 {
		t.Errorf("GET /api/silences?limit=1 = %d %s", code, body)
	}

	for _, tc := range []struct{ body, want string }{
		{`{"rule": "nope", "for": "1h"}`, `no alert rule named \"nope\" (rules: dead-letter, backlog-age)`},
		{`{"rule": "dead-letter"}`, "rule and for are required"},
		{`{"for": "1h"}`, "rule and for are required"},
		{``, "empty body"},
		{`{"rule": "dead-letter", "for": "1h", "until": "tomorrow"}`, `unknown field \"until\"`},
		{`{"rule": "dead-letter", "for": "soon"}`, "for: bad duration"},
		{`{"rule": "dead-letter", "for": "31d"}`, "at most 30d"},
		{`{"rule": "dead-letter", "for": "1h", "subject": "app"}`, "destination:NAME"},
	} {
		code, body, _ := call("POST", "/api/silences", "admin-secret", tc.body)
		if code != http.StatusBadRequest || !strings.Contains(body, tc.want) || !strings.Contains(body, `"error": "invalid"`) {
			t.Errorf("POST %s = %d %s, want 400 containing %q", tc.body, code, body, tc.want)
		}
	}
	for _, q := range []string{"since=yesterday", "limit=0"} {
		if code, body, _ := call("GET", "/api/silences?"+q, "admin-secret", ""); code != http.StatusBadRequest {
			t.Errorf("GET /api/silences?%s = %d %s, want 400", q, code, body)
		}
	}

	if code, _, _ := call("DELETE", "/api/silences/"+si.ID, "", ""); code != http.StatusUnauthorized {
		t.Errorf("DELETE without a token: %d", code)
	}
	code, body, _ = call("DELETE", "/api/silences/"+si.ID, "admin-secret", "")
	var removed hookwatch.Silence
	if code != 200 || json.Unmarshal([]byte(body), &removed) != nil || removed.ID != si.ID || removed.Rule != "dead-letter" {
		t.Errorf("DELETE = %d %s", code, body)
	}
	if code, body, _ := call("DELETE", "/api/silences/"+si.ID, "admin-secret", ""); code != http.StatusNotFound || !strings.Contains(body, "not_found") {
		t.Errorf("DELETE again = %d %s, want 404", code, body)
	}
	stored, err = store.ListSilences(context.Background(), time.Now())
	if err != nil || len(stored) != 1 || stored[0].ID != other.ID {
		t.Errorf("after DELETE: %+v, %v", stored, err)
	}
	// The removed silence is gone from the list; since shows expired ones
	// too, and the removed one is not among them.
	if code, body, _ := call("GET", "/api/silences?since=30d", "admin-secret", ""); code != 200 || strings.Contains(body, si.ID) || !strings.Contains(body, other.ID) {
		t.Errorf("GET /api/silences?since=30d = %d %s", code, body)
	}
}
