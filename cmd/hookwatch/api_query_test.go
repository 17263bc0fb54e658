package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestAPIQueryRules checks that every admin API listing applies the same
// query rules (server.QueryLimit, server.QueryTime, server.QueryStatus):
// a bad limit or status is a 400 naming the parameter, and since takes a
// duration as well as an RFC 3339 time. Against the real admin listener of
// a Main with a SQLite store.
func TestAPIQueryRules(t *testing.T) {
	t.Parallel()
	s := startAlertMain(t, 0, "")
	get := func(path string) (int, string) {
		req, err := http.NewRequest("GET", "http://"+s.m.AdminAddr()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	listings := []string{"/api/deliveries", "/api/issues", "/api/alerts/history", "/api/quarantine", "/api/events", "/api/silences"}
	withStatus := map[string]bool{"/api/deliveries": true, "/api/issues": true, "/api/alerts/history": true, "/api/quarantine": true}
	for _, l := range listings {
		for _, tc := range []struct {
			query    string
			status   int
			contains string
		}{
			{"limit=0", 400, "use a number from 1 to 1000"},
			{"limit=1001", 400, "use a number from 1 to 1000"},
			{"limit=ten", 400, `limit \"ten\"`},
			{"limit=1000", 200, "["},
			{"limit=1", 200, "["},
			{"status=bogus", 400, `status \"bogus\": use`},
		} {
			if tc.query == "status=bogus" && !withStatus[l] {
				continue
			}
			t.Run(l+"?"+tc.query, func(t *testing.T) {
				code, body := get(l + "?" + tc.query)
				if code != tc.status || !strings.Contains(body, tc.contains) {
					t.Errorf("= %d %s; want %d containing %q", code, body, tc.status, tc.contains)
				}
				if tc.status == 400 && !strings.Contains(body, `"error": "invalid"`) {
					t.Errorf("400 without the invalid code: %s", body)
				}
				if strings.Contains(body, "--") {
					t.Errorf("the API's error names a CLI flag: %s", body)
				}
			})
		}
	}
	// since: both forms where a listing filters on time.
	for _, l := range []string{"/api/deliveries", "/api/quarantine", "/api/events", "/api/silences"} {
		for _, tc := range []struct {
			query  string
			status int
		}{
			{"since=2h", 200},
			{"since=7d", 200},
			{"since=2026-01-02T15:04:05Z", 200},
			{"until=30m", 200},
			{"since=yesterday", 400},
			{"since=-5m", 400},
		} {
			t.Run(l+"?"+tc.query, func(t *testing.T) {
				code, body := get(l + "?" + tc.query)
				if code != tc.status {
					t.Errorf("= %d %s; want %d", code, body, tc.status)
				}
				if tc.status == 400 && (!strings.Contains(body, "RFC 3339") || strings.Contains(body, "--")) {
					t.Errorf("400 without saying what to send, in the API's words: %s", body)
				}
			})
		}
	}
}
