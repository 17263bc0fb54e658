package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/server"
)

// Error codes become statuses in one place, and internal details never
// reach the caller; only internal errors are reported.
func TestErrorStatuses(t *testing.T) {
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
		var reported []error
		e := server.Errors{Report: func(_ context.Context, err error) { reported = append(reported, err) }}
		rec := httptest.NewRecorder()
		e.Error(rec, httptest.NewRequest(http.MethodGet, "/api/x", nil), tc.err)
		var body map[string]string
		json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != tc.status || body["message"] != tc.message || body["error"] != hookwatch.ErrorCode(tc.err) {
			t.Errorf("%v: %d %v, want %d %q", tc.err, rec.Code, body, tc.status, tc.message)
		}
		if tc.status == 503 && rec.Header().Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
		if wantReport := tc.status == 500; (len(reported) == 1) != wantReport || wantReport && reported[0] != tc.err {
			t.Errorf("%v: reported %v, want reported: %v", tc.err, reported, wantReport)
		}
		if strings.Contains(rec.Body.String(), "secret-ish") {
			t.Errorf("internal detail shown: %s", rec.Body.String())
		}
	}
}

// Error answers JSON to the API and to clients asking for it, HTML to
// browsers, and the dashboard's page (Errors.Page) by default where it has
// one; the HTML escapes the message.
func TestErrorJSONOrHTML(t *testing.T) {
	page := func(w http.ResponseWriter, r *http.Request, status int, message string) {
		w.WriteHeader(status)
		w.Write([]byte("dashboard page: " + message))
	}
	err := hookwatch.Errorf(hookwatch.ENOTFOUND, "no event <evt_1>")
	cases := []struct {
		name, path, accept string
		page               bool
		want               string // "json", "html" or "page"
	}{
		{"API, browser", "/api/deliveries", "text/html,application/xhtml+xml", true, "json"},
		{"API, no Accept", "/api/deliveries", "", false, "json"},
		{"script", "/in/nope", "", false, "json"},
		{"client asks for JSON", "/events/evt_1", "application/json", true, "json"},
		{"browser, no page", "/", "text/html,application/xhtml+xml,*/*;q=0.8", false, "html"},
		{"browser on the dashboard", "/events/evt_1", "text/html,*/*;q=0.8", true, "page"},
		{"dashboard, no Accept", "/events/evt_1", "", true, "page"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := server.Errors{Page: page}
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			rec := httptest.NewRecorder()
			if tc.page {
				e.Error(rec, req, err)
			} else {
				server.Error(rec, req, err) // the zero Errors
			}
			body, ct := rec.Body.String(), rec.Header().Get("Content-Type")
			if rec.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404", rec.Code)
			}
			switch tc.want {
			case "json":
				var v map[string]string
				if ct != "application/json" || json.Unmarshal(rec.Body.Bytes(), &v) != nil || v["error"] != "not_found" || v["message"] != "no event <evt_1>" {
					t.Errorf("want JSON, got %q: %s", ct, body)
				}
			case "html":
				if !strings.HasPrefix(ct, "text/html") || !strings.Contains(body, "<h1>Not Found</h1>") || !strings.Contains(body, "no event &lt;evt_1&gt;") {
					t.Errorf("want an HTML page, got %q: %s", ct, body)
				}
			case "page":
				if body != "dashboard page: no event <evt_1>" {
					t.Errorf("want the dashboard's page, got %q: %s", ct, body)
				}
			}
		})
	}
}
