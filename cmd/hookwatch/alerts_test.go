package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/alert"
)

// seedIssues starts the alerting setup with one delivered event (so health
// has traffic) and three issues recorded through the real store: a
// production one, a test one and a signature failure on the source. It
// returns the setup and the production issue's ID.
func seedIssues(t *testing.T) (*alertSetup, string, string) {
	t.Helper()
	s := startAlertMain(t, 100, "")
	s.appStatus.Store(http.StatusOK)
	s.post(t, stripeEvent{id: "evt_seed_ok", livemode: true})
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := s.m.Store.CountDeliveries(context.Background(), hookwatch.DeliveryFilter{Destination: "app"})
		if err != nil {
			t.Fatal(err)
		}
		if n["app"][hookwatch.DeliverySucceeded] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the seed event was not delivered: %v", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	now := time.Now().UTC()
	changes, err := s.m.Store.RecordFailures(context.Background(), []hookwatch.Failure{
		{Kind: hookwatch.FailureAttempt, Source: "stripe", Destination: "app", Class: "server_error", EventID: "evt_a", At: now.Add(-2 * time.Second), Message: "HTTP 500"},
		{Kind: hookwatch.FailureAttempt, Source: "stripe", Destination: "app", Class: "server_error", EventID: "evt_b", At: now.Add(-time.Second), Message: "HTTP 503"},
		{Kind: hookwatch.FailureAttempt, Source: "stripe", Destination: "app", Class: "timeout_error", EventID: "evt_c", Test: true, At: now, Message: "timeout"},
		{Kind: hookwatch.FailureSignature, Source: "stripe", Class: "bad_signature", At: now, Message: "no signature matched"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, changes[0].Issue.ID, changes[2].Issue.ID
}

// TestIssuesAndAlertsCLI runs the health, issues and alerts commands
// in-process against the store of a running server, in order: each
// scenario sees what the ones before it changed.
func TestIssuesAndAlertsCLI(t *testing.T) {
	t.Parallel()
	s, id, testID := seedIssues(t)
	p := s.path
	env := map[string]string{"USER": "alice"}
	for _, tc := range []struct {
		name string
		args []string
		// want are substrings of stdout (or, with wantErr, of the error);
		// not, substrings that must be absent.
		want    []string
		not     []string
		wantErr bool
		usage   bool // the error is a usage error (exit 2)
		stderr  string
	}{
		{name: "health table", args: []string{"health", "--config", p},
			want: []string{"WINDOW", "ERROR RATE", "1m", "5m", "1h", "all", "source:stripe", "destination:app"}},
		{name: "health json", args: []string{"health", "--config", p, "--json"}, want: []string{`"windows":[{"window":"1m"`, `"destinations":{"app":{`, `"delivered":1`}},
		{name: "list", args: []string{"issues", "list", "--config", p},
			want: []string{"ID", "STATUS", id, "server_error", "bad_signature", testID, "test"}},
		{name: "list by status", args: []string{"issues", "list", "--config", p, "--status", "resolved"}, not: []string{id}, stderr: "no issues match"},
		{name: "list by destination", args: []string{"issues", "list", "--config", p, "--destination", "app"}, want: []string{id, testID}, not: []string{"bad_signature"}},
		{name: "list json", args: []string{"issues", "list", "--config", p, "--json", "--limit", "1"}, want: []string{`"id":"iss_`}},
		{name: "show", args: []string{"issues", "show", "--config", p, id},
			want: []string{"ID:           " + id, "Status:       open", "Priority:     medium", "Class:        server_error (attempt)", "2 failures, 2 events, 0 dead letters", "HTTP 503"}},
		{name: "show test", args: []string{"issues", "show", "--config", p, testID}, want: []string{"test (never notifies)"}},
		{name: "show json", args: []string{"issues", "show", "--config", p, "--json", id}, want: []string{`"fingerprint":"stripe|app|server_error"`, `"count":2`}},
		{name: "show missing", args: []string{"issues", "show", "--config", p, "iss_missing"}, wantErr: true, want: []string{"not found"}},
		{name: "show without ID", args: []string{"issues", "show", "--config", p}, wantErr: true, usage: true, want: []string{"needs one issue ID"}},
		{name: "ack", args: []string{"issues", "ack", "--config", p, id}, want: []string{id + " is acknowledged, priority medium"}},
		{name: "priority", args: []string{"issues", "priority", "--config", p, id, "high"}, want: []string{id + " is acknowledged, priority high"}},
		{name: "bad priority", args: []string{"issues", "priority", "--config", p, id, "urgent"}, wantErr: true, want: []string{`unknown priority "urgent"`}},
		{name: "priority without level", args: []string{"issues", "priority", "--config", p, id}, wantErr: true, usage: true},
		{name: "comment", args: []string{"issues", "comment", "--config", p, id, "looking into it"}, want: []string{id + " is acknowledged"}},
		{name: "ignore", args: []string{"issues", "ignore", "--config", p, "--comment", "known flaky", id}, want: []string{id + " is ignored"}},
		{name: "resolve json", args: []string{"issues", "resolve", "--config", p, "--json", id}, want: []string{`"status":"resolved"`, `"resolved_at":"`}},
		{name: "resolve missing", args: []string{"issues", "resolve", "--config", p, "iss_missing"}, wantErr: true, want: []string{"not found"}},
		{name: "history of changes", args: []string{"issues", "show", "--config", p, id},
			want: []string{"Status:       resolved", "Priority:     high", "cli:alice: status: open → acknowledged", "cli:alice: priority: medium → high",
				"cli:alice: looking into it", "cli:alice: status: acknowledged → ignored", "cli:alice: known flaky", "status: ignored → resolved"}},
		{name: "alerts list", args: []string{"alerts", "list", "--config", p}, want: []string{"RULE", "dead-letter", "dead_letters"}},
		{name: "alerts test", args: []string{"alerts", "test", "--config", p, "ops-hooks"}, want: []string{"test notification sent to ops-hooks (1 attempt(s))"}},
		{name: "alerts test unknown", args: []string{"alerts", "test", "--config", p, "nope"}, wantErr: true, want: []string{`no alert channel named "nope"`, "ops-hooks"}},
		{name: "alerts test without channel", args: []string{"alerts", "test", "--config", p}, wantErr: true, usage: true},
		{name: "alerts history", args: []string{"alerts", "history", "--config", p}, want: []string{"CHANNEL", "ops-hooks", "test", "sent", "this channel works"}},
		{name: "alerts history json", args: []string{"alerts", "history", "--config", p, "--json", "--channel", "ops-hooks"}, want: []string{`"kind":"test"`, `"status":"sent"`}},
		{name: "alerts history other channel", args: []string{"alerts", "history", "--config", p, "--channel", "nope"}, not: []string{"ops-hooks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := run(t, env, tc.args...)
			got := out
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; stdout:\n%s", out)
				}
				got = err.Error()
				if tc.usage != errors.Is(err, errUsage) {
					t.Errorf("usage error = %v, want %v: %v", errors.Is(err, errUsage), tc.usage, err)
				}
			} else if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("unexpected %q in:\n%s", n, got)
				}
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderr)
			}
		})
	}
	// alerts test reached the channel's receiver, signed.
	got := waitAlerts(t, s.hooks, 1)
	if got[0].Status != "test" || got[0].Rule != "test" || s.hooks.bad.Load() != 0 {
		t.Errorf("the channel got %+v (%d bad)", got, s.hooks.bad.Load())
	}
}

// TestIssuesAndAlertsAPI calls every issues, health and alerts route of the
// admin API: never without the token, and the JSON a client reads.
func TestIssuesAndAlertsAPI(t *testing.T) {
	t.Parallel()
	s, id, testID := seedIssues(t)
	base := "http://" + s.m.AdminAddr()
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	issue := func(t *testing.T, body string) *hookwatch.Issue {
		var i hookwatch.Issue
		if err := json.Unmarshal([]byte(body), &i); err != nil || i.ID != id {
			t.Fatalf("not the issue: %v\n%s", err, body)
		}
		return &i
	}
	wrongProbes := 0
	for _, tc := range []struct {
		method, path, body string
		status             int
		contains           string
		check              func(t *testing.T, body string)
	}{
		{"GET", "/api/health", "", 200, `"windows"`, func(t *testing.T, body string) {
			var rep alert.Report
			if err := json.Unmarshal([]byte(body), &rep); err != nil || len(rep.Windows) != 3 || rep.Windows[2].Window != "1h" ||
				rep.Windows[0].Destinations["app"] == nil || rep.Windows[0].Destinations["app"].Delivered != 1 ||
				rep.Windows[0].Sources["stripe"].Rejected["bad_signature"] != 1 {
				t.Errorf("health: %v\n%s", err, body)
			}
		}},
		{"GET", "/api/issues", "", 200, `"issues"`, func(t *testing.T, body string) {
			var got struct{ Issues []*hookwatch.Issue }
			if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Issues) != 3 {
				t.Errorf("issues: %v\n%s", err, body)
			}
		}},
		{"GET", "/api/issues?status=resolved", "", 200, `"issues": []`, nil},
		{"GET", "/api/issues?destination=app&class=timeout_error", "", 200, testID, func(t *testing.T, body string) {
			var got struct{ Issues []*hookwatch.Issue }
			json.Unmarshal([]byte(body), &got)
			if len(got.Issues) != 1 || !got.Issues[0].Test {
				t.Errorf("filtered issues: %s", body)
			}
		}},
		{"GET", "/api/issues/" + id, "", 200, `"fingerprint": "stripe|app|server_error"`, func(t *testing.T, body string) {
			if i := issue(t, body); i.Count != 2 || i.Events != 2 || i.Status != hookwatch.IssueOpen || i.FirstSeen.IsZero() {
				t.Errorf("issue: %+v", i)
			}
		}},
		{"GET", "/api/issues/iss_missing", "", 404, "not found", nil},
		{"POST", "/api/issues/" + id + "/ack", "", 200, `"status": "acknowledged"`, nil},
		{"POST", "/api/issues/" + id + "/priority", `{"priority":"high"}`, 200, `"priority": "high"`, nil},
		{"POST", "/api/issues/" + id + "/priority", `{"priority":"urgent"}`, 400, "unknown priority", nil},
		{"POST", "/api/issues/" + id + "/priority", `not json`, 400, `{\"priority\": \"low|medium|high\"}`, nil},
		{"POST", "/api/issues/" + id + "/comments", `{"body":"deployed a fix"}`, 200, "deployed a fix", nil},
		{"POST", "/api/issues/" + id + "/comments", `{"body":"  "}`, 400, `{\"body\": \"the comment\"}`, nil},
		{"POST", "/api/issues/" + id + "/ignore", "", 200, `"status": "ignored"`, nil},
		{"POST", "/api/issues/" + id + "/resolve", `{"comment":"fixed in v2"}`, 200, `"status": "resolved"`, func(t *testing.T, body string) {
			i := issue(t, body)
			var bodies []string
			for _, c := range i.Comments {
				bodies = append(bodies, c.Body)
				if !strings.HasPrefix(c.Author, "admin-api ") {
					t.Errorf("comment by %q", c.Author)
				}
			}
			want := "status: open → acknowledged|priority: medium → high|deployed a fix|status: acknowledged → ignored|status: ignored → resolved|fixed in v2"
			if strings.Join(bodies, "|") != want || i.ResolvedAt.IsZero() {
				t.Errorf("comments %q, resolved at %v", bodies, i.ResolvedAt)
			}
		}},
		{"POST", "/api/issues/" + id + "/reopen", "", 200, `"status": "open"`, nil},
		{"POST", "/api/issues/iss_missing/resolve", "", 404, "not found", nil},
		{"GET", "/api/alerts", "", 200, `"rules"`, func(t *testing.T, body string) {
			var got struct {
				Rules    []map[string]any       `json:"rules"`
				States   []hookwatch.AlertState `json:"states"`
				Silences []*hookwatch.Silence   `json:"silences"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Rules) != 1 || got.States == nil || got.Silences == nil {
				t.Errorf("alerts: %v\n%s", err, body)
			}
			// snake_case keys, durations as a string and in seconds.
			if len(got.Rules) == 1 {
				w, _ := got.Rules[0]["window"].(map[string]any)
				if got.Rules[0]["name"] != "dead-letter" || w["duration"] != "5m0s" || w["seconds"] != 300.0 || got.Rules[0]["notify_resolved"] != false {
					t.Errorf("alert rule shape: %v", got.Rules[0])
				}
			}
		}},
		{"POST", "/api/alerts/test/ops-hooks", "", 200, `"kind": "test"`, func(t *testing.T, body string) {
			var n hookwatch.Notification
			if err := json.Unmarshal([]byte(body), &n); err != nil || n.Status != hookwatch.NotificationSent || n.Channel != "ops-hooks" || n.Attempts != 1 {
				t.Errorf("test notification: %v\n%s", err, body)
			}
		}},
		{"POST", "/api/alerts/test/nope", "", 404, "no alert channel", nil},
		{"GET", "/api/alerts/history?channel=ops-hooks", "", 200, `"notifications"`, func(t *testing.T, body string) {
			var got struct{ Notifications []*hookwatch.Notification }
			if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Notifications) != 1 || got.Notifications[0].Kind != hookwatch.NotifyTest {
				t.Errorf("history: %v\n%s", err, body)
			}
		}},
		{"GET", "/api/alerts/history?channel=nope", "", 200, `"notifications": []`, nil},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			// Never reachable without the token, nor with a wrong one. The
			// wrong one is tried on the first 15 routes only: 20 wrong tokens
			// from one address lock it out (server.TestAdminTokenThrottle).
			probes := []string{""}
			if wrongProbes < 15 {
				wrongProbes++
				probes = append(probes, "wrong")
			}
			for _, token := range probes {
				if code, body := call(tc.method, tc.path, token, tc.body); code != http.StatusUnauthorized || !strings.Contains(body, "admin token") {
					t.Errorf("with token %q: %d %s, want 401", token, code, body)
				}
			}
			code, body := call(tc.method, tc.path, adminToken, tc.body)
			if code != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("= %d %s; want %d containing %q", code, body, tc.status, tc.contains)
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}
}
