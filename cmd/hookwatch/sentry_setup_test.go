package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeSentryAPI is the part of Sentry's public API that `sentry setup`
// uses, asserting the request shapes of Sentry's API documentation
// (docs.sentry.io/api/alerts/: create/update an issue alert rule for a
// project, create/update a metric alert rule for an organization) and
// answering as Sentry does: rules with ids, dates and names added to their
// conditions and actions; lists paginated with Link cursors.
type fakeSentryAPI struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	token    string
	readOnly bool // the token has alerts:read, not alerts:write
	issue    []map[string]any
	metric   []map[string]any
	writes   []string
	nextID   int
}

func newFakeSentryAPI(t *testing.T) *fakeSentryAPI {
	f := &fakeSentryAPI{t: t, token: "sntrys_fake_token", nextID: 100}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	// Another project's metric alert of the same name: not ours.
	f.metric = append(f.metric, map[string]any{"id": "9", "name": "Hookwatch: ingest p95 duration above 5s", "projects": []any{"other"}})
	return f
}

func (f *fakeSentryAPI) fail(w http.ResponseWriter, status int, format string, args ...any) {
	f.t.Errorf("fake Sentry API: "+format, args...)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"detail":%q}`, fmt.Sprintf(format, args...))
}

func (f *fakeSentryAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"detail":"Invalid token"}`)
		return
	}
	if r.Method != http.MethodGet && f.readOnly {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"detail":"You do not have permission to perform this action."}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	p := r.URL.Path
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if r.Header.Get("Content-Type") != "application/json" {
			f.fail(w, 400, "%s %s: Content-Type %q", r.Method, p, r.Header.Get("Content-Type"))
			return
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			f.fail(w, 400, "%s %s: body %s", r.Method, p, b)
			return
		}
		f.writes = append(f.writes, r.Method+" "+p)
	}
	const rules, alerts = "/api/0/projects/acme/webhooks/rules/", "/api/0/organizations/acme/alert-rules/"
	switch {
	case r.Method == http.MethodGet && p == "/api/0/organizations/acme/members/":
		if q := r.URL.Query().Get("query"); q != "email:oncall@acme.example" {
			fmt.Fprint(w, `[]`)
			return
		}
		fmt.Fprint(w, `[{"id":"5","email":"oncall@acme.example","user":{"id":"42","email":"oncall@acme.example"}}]`)
	case r.Method == http.MethodGet && p == "/api/0/organizations/acme/integrations/":
		if r.URL.Query().Get("provider_key") != "slack" {
			f.fail(w, 400, "integrations without provider_key=slack")
			return
		}
		fmt.Fprint(w, `[{"id":"77","name":"Acme","provider":{"key":"slack"}}]`)
	case r.Method == http.MethodGet && p == rules:
		f.page(w, r, f.issue)
	case r.Method == http.MethodGet && p == alerts:
		f.page(w, r, f.metric)
	case r.Method == http.MethodPost && p == rules:
		if msg := issueShape(body); msg != "" {
			f.fail(w, 400, "issue alert: %s: %v", msg, body)
			return
		}
		f.issue = append(f.issue, f.stored(body))
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(f.issue[len(f.issue)-1])
	case r.Method == http.MethodPost && p == alerts:
		if msg := metricShape(body); msg != "" {
			f.fail(w, 400, "metric alert: %s: %v", msg, body)
			return
		}
		f.metric = append(f.metric, f.stored(body))
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(f.metric[len(f.metric)-1])
	case r.Method == http.MethodPut && strings.HasPrefix(p, rules):
		f.put(w, f.issue, strings.Trim(strings.TrimPrefix(p, rules), "/"), body, issueShape)
	case r.Method == http.MethodPut && strings.HasPrefix(p, alerts):
		f.put(w, f.metric, strings.Trim(strings.TrimPrefix(p, alerts), "/"), body, metricShape)
	default:
		f.fail(w, 404, "unexpected %s %s", r.Method, r.URL)
	}
}

// page answers a list two at a time, with Sentry's Link header.
func (f *fakeSentryAPI) page(w http.ResponseWriter, r *http.Request, all []map[string]any) {
	start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	end := min(start+2, len(all))
	more := end < len(all)
	w.Header().Set("Link", fmt.Sprintf(`<%s%s?cursor=%d>; rel="next"; results="%t"; cursor="%d"`, f.srv.URL, r.URL.Path, end, more, end))
	json.NewEncoder(w).Encode(all[start:end])
}

// stored is a rule as Sentry answers it: an id, a date, and a name on
// each condition and action.
func (f *fakeSentryAPI) stored(body map[string]any) map[string]any {
	f.nextID++
	b, _ := json.Marshal(body)
	var out map[string]any
	json.Unmarshal(b, &out)
	out["id"] = strconv.Itoa(f.nextID)
	out["dateCreated"] = "2026-12-02T05:00:00Z"
	for _, k := range []string{"conditions", "actions", "filters"} {
		xs, _ := out[k].([]any)
		for _, x := range xs {
			x.(map[string]any)["name"] = "described by Sentry"
		}
	}
	ts, _ := out["triggers"].([]any)
	for _, tr := range ts {
		m := tr.(map[string]any)
		m["id"], m["resolveThreshold"], m["thresholdType"] = "1", nil, 0
		for _, a := range m["actions"].([]any) {
			a.(map[string]any)["id"] = "3"
		}
	}
	return out
}

func (f *fakeSentryAPI) put(w http.ResponseWriter, list []map[string]any, id string, body map[string]any, shape func(map[string]any) string) {
	if msg := shape(body); msg != "" {
		f.fail(w, 400, "update: %s", msg)
		return
	}
	for i, r := range list {
		if r["id"] == id {
			s := f.stored(body)
			s["id"] = id
			list[i] = s
			json.NewEncoder(w).Encode(s)
			return
		}
	}
	f.fail(w, 404, "update of unknown rule %s", id)
}

// issueShape checks an issue alert rule against the documented body.
func issueShape(b map[string]any) string {
	if b["name"] == "" || b["name"] == nil {
		return "no name"
	}
	if m := b["actionMatch"]; m != "all" && m != "any" && m != "none" {
		return "actionMatch"
	}
	if m, ok := b["filterMatch"]; ok && m != "all" && m != "any" && m != "none" {
		return "filterMatch"
	}
	if fr, ok := b["frequency"].(float64); !ok || fr < 5 || fr > 43200 {
		return "frequency must be 5..43200 minutes"
	}
	conds, _ := b["conditions"].([]any)
	if len(conds) == 0 {
		return "no conditions"
	}
	for _, c := range conds {
		c := c.(map[string]any)
		if c["id"] == "sentry.rules.conditions.event_frequency.EventFrequencyCondition" {
			iv := c["interval"]
			if _, ok := c["value"].(float64); !ok || (iv != "1m" && iv != "5m" && iv != "15m" && iv != "1h" && iv != "1d" && iv != "1w" && iv != "30d") {
				return "event frequency condition value/interval"
			}
		}
	}
	acts, _ := b["actions"].([]any)
	if len(acts) == 0 {
		return "no actions"
	}
	for _, a := range acts {
		a := a.(map[string]any)
		switch a["id"] {
		case "sentry.mail.actions.NotifyEmailAction":
			if tt := a["targetType"]; tt != "IssueOwners" && tt != "Team" && tt != "Member" {
				return "email targetType"
			}
		case "sentry.integrations.slack.notify_action.SlackNotifyServiceAction":
			if a["workspace"] == nil || !strings.HasPrefix(fmt.Sprint(a["channel"]), "#") {
				return "slack workspace/channel"
			}
		default:
			return fmt.Sprintf("unknown action %v", a["id"])
		}
	}
	return ""
}

// metricShape checks a metric alert rule against the documented body.
func metricShape(b map[string]any) string {
	for _, k := range []string{"name", "aggregate", "query", "dataset"} {
		if _, ok := b[k].(string); !ok {
			return "no " + k
		}
	}
	if b["dataset"] != "transactions" || b["queryType"] != float64(1) {
		return "a transaction alert is dataset transactions, queryType 1"
	}
	switch tw := b["timeWindow"]; tw {
	case float64(1), float64(5), float64(10), float64(15), float64(30), float64(60), float64(120), float64(240), float64(1440):
	default:
		return fmt.Sprintf("timeWindow %v", tw)
	}
	if ps, _ := b["projects"].([]any); len(ps) != 1 || ps[0] != "webhooks" {
		return "projects"
	}
	ts, _ := b["triggers"].([]any)
	if len(ts) == 0 || at(ts[0], "label") != "critical" {
		return "a critical trigger is required"
	}
	if _, ok := at(ts[0], "alertThreshold").(float64); !ok {
		return "alertThreshold"
	}
	for _, a := range at(ts[0], "actions").([]any) {
		switch atStr(a, "type") {
		case "email":
			if atStr(a, "targetType") != "user" || atStr(a, "targetIdentifier") == "" {
				return "email action"
			}
		case "slack":
			if atStr(a, "targetType") != "specific" || at(a, "integrationId") == nil {
				return "slack action"
			}
		default:
			return "action type"
		}
	}
	return ""
}

func runSetup(t *testing.T, f *fakeSentryAPI, token string, extra ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &out, Getenv: func(k string) (string, bool) {
		switch k {
		case "SENTRY_AUTH_TOKEN":
			return token, true
		case "SENTRY_URL":
			return f.srv.URL, true
		}
		return "", false
	}}
	args := append([]string{"sentry", "setup", "--org", "acme", "--project", "webhooks",
		"--notify", "email:oncall@acme.example", "--notify", "slack:#webhooks"}, extra...)
	err := Run(context.Background(), env, args)
	return out.String(), err
}

// sentry setup creates the seed's rules, a second run changes nothing, a
// rule edited in Sentry is put back, and --dry-run sends nothing.
func TestSentrySetupIdempotent(t *testing.T) {
	t.Parallel()
	f := newFakeSentryAPI(t)

	out, err := runSetup(t, f, f.token, "--dry-run")
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if len(f.writes) != 0 || !strings.Contains(out, "would create") || !strings.Contains(out, "POST "+f.srv.URL+"/api/0/projects/acme/webhooks/rules/") {
		t.Fatalf("dry run wrote %v; printed:\n%s", f.writes, out)
	}

	out, err = runSetup(t, f, f.token)
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	if len(f.writes) != 5 || len(f.issue) != 1 || len(f.metric) != 5 {
		t.Fatalf("first run wrote %v (issue rules %d, metric alerts %d)", f.writes, len(f.issue), len(f.metric))
	}
	rule := f.issue[0]
	if at(rule, "conditions") == nil || fmt.Sprint(at(rule["conditions"].([]any)[0], "value")) != "10" ||
		atStr(rule["conditions"].([]any)[0], "interval") != "1h" || atStr(rule["filters"].([]any)[0], "value") != "webhooks" {
		t.Errorf("issue alert %v", rule)
	}
	acts := rule["actions"].([]any)
	if len(acts) != 2 || atStr(acts[0], "targetIdentifier") != "42" || atStr(acts[1], "channel") != "#webhooks" || atStr(acts[1], "workspace") != "77" {
		t.Errorf("issue alert actions %v", acts)
	}
	thresholds := map[string]string{}
	for _, m := range f.metric[1:] {
		tr := m["triggers"].([]any)[0]
		thresholds[atStr(m, "aggregate")+" "+atStr(m, "query")] = fmt.Sprint(at(tr, "alertThreshold"))
		if n := len(at(tr, "actions").([]any)); n != 2 {
			t.Errorf("metric alert %s: %d actions, want email and slack", m["name"], n)
		}
	}
	for k, want := range map[string]string{
		`failure_rate() transaction.op:http.server transaction:"POST /in/{source}"`:            "0.05",
		`p95(transaction.duration) transaction.op:http.server transaction:"POST /in/{source}"`: "5000",
		`failure_rate() transaction.op:queue.process`:                                          "0.05",
		`p95(transaction.duration) transaction.op:queue.process`:                               "5000",
	} {
		if thresholds[k] != want {
			t.Errorf("metric alert %s: threshold %q, want %s (all: %v)", k, thresholds[k], want, thresholds)
		}
	}

	before := len(f.writes)
	out, err = runSetup(t, f, f.token)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if len(f.writes) != before || strings.Count(out, "unchanged") != 5 {
		t.Fatalf("the second run changed something: %v\n%s", f.writes[before:], out)
	}

	// Someone raises a threshold in Sentry: the next run puts it back.
	f.mu.Lock()
	f.metric[2]["triggers"].([]any)[0].(map[string]any)["alertThreshold"] = 50000.0
	edited := f.metric[2]["id"]
	f.mu.Unlock()
	out, err = runSetup(t, f, f.token)
	if err != nil {
		t.Fatalf("third run: %v\n%s", err, out)
	}
	if got := f.writes[before:]; len(got) != 1 || got[0] != fmt.Sprintf("PUT /api/0/organizations/acme/alert-rules/%s/", edited) {
		t.Fatalf("after an edit in Sentry the run wrote %v, want one PUT of rule %v\n%s", got, edited, out)
	}
}

// A 401 or 403 says which scope the token needs.
func TestSentrySetupNamesMissingScope(t *testing.T) {
	t.Parallel()
	f := newFakeSentryAPI(t)
	f.readOnly = true
	_, err := runSetup(t, f, f.token)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "alerts:write") {
		t.Errorf("403 on write: %v, want the alerts:write scope named", err)
	}
	_, err = runSetup(t, f, "sntrys_wrong")
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "SENTRY_AUTH_TOKEN") {
		t.Errorf("401: %v, want the token named", err)
	}
	_, err = runSetup(t, f, "")
	if err == nil || !strings.Contains(err.Error(), "SENTRY_AUTH_TOKEN") {
		t.Errorf("no token: %v", err)
	}
}
