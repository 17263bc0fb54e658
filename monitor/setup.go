package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"
)

// The alert rules Setup keeps in a Sentry project, by name: Setup finds
// them by these names, so renaming one in Sentry makes Setup create it
// again.
const (
	RuleWebhookErrors   = "Hookwatch: webhook errors (more than 10 in an hour)"
	RuleIngestFailures  = "Hookwatch: ingest failure rate above 5%"
	RuleIngestLatency   = "Hookwatch: ingest p95 duration above 5s"
	RuleDeliverFailures = "Hookwatch: delivery failure rate above 5%"
	RuleDeliverLatency  = "Hookwatch: delivery p95 duration above 5s"
)

// SetupOptions say where and how Setup writes the alert rules.
type SetupOptions struct {
	// URL is Sentry's base URL (https://sentry.io when empty; a
	// self-hosted Sentry's own).
	URL string
	// Token is an auth token (Settings > Auth Tokens, or an internal
	// integration's) with the scopes alerts:write (the rules), member:read
	// (email targets) and org:read (the Slack integration).
	Token string
	// Org and Project are the slugs.
	Org, Project string
	// Notify lists where alerts go: "email:ADDRESS" (a member of the
	// organization) or "slack:#CHANNEL" (through the organization's Slack
	// integration). Empty: the issue alert mails the issue's owners, or
	// the project's active members; the metric alerts notify no one (they
	// show in Sentry's Alerts page).
	Notify []string
	// DryRun reads what exists (GET requests only) and reports what it
	// would write, writing nothing.
	DryRun bool
	// Client makes the requests (30-second timeout when nil).
	Client *http.Client
}

// SetupStep is what Setup did, or would do, to one rule.
type SetupStep struct {
	// Kind is "issue alert" or "metric alert".
	Kind string `json:"kind"`
	// Name is the rule's name.
	Name string `json:"name"`
	// Action is "create", "update" or "unchanged".
	Action string `json:"action"`
	// Method and URL are the request (none when unchanged).
	Method string `json:"method,omitempty"`
	URL    string `json:"url,omitempty"`
	// Body is the request's body (the rule as Sentry takes it).
	Body json.RawMessage `json:"body,omitempty"`
}

// Setup creates or updates, idempotently by name, Hookwatch's alert rules
// in a Sentry project through Sentry's public API: an issue alert on
// webhook errors (more than 10 in an hour, events tagged service:webhooks)
// and metric alerts on the ingest (POST /in/{source}) and delivery
// (queue.process) transactions: failure rate above 5 % and p95 duration
// above 5 s, over an hour. A rule that exists with the same settings is
// left alone; one that differs is updated (PUT overwrites it whole).
//
// A 401 or 403 from Sentry is an error naming the scope the token lacks.
func Setup(ctx context.Context, o SetupOptions) ([]SetupStep, error) {
	if o.Org == "" || o.Project == "" {
		return nil, errors.New("sentry setup: --org and --project are required (the slugs in your Sentry URLs)")
	}
	if o.Token == "" {
		return nil, errors.New("sentry setup: no auth token: set SENTRY_AUTH_TOKEN to a token with the alerts:write scope (Settings > Auth Tokens)")
	}
	if o.URL == "" {
		o.URL = "https://sentry.io"
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	api := &sentryAPI{base: strings.TrimRight(o.URL, "/") + "/api/0", token: o.Token, client: o.Client}
	org, proj := url.PathEscape(o.Org), url.PathEscape(o.Project)

	issueActions, metricActions, err := api.notifyActions(ctx, org, o.Notify)
	if err != nil {
		return nil, err
	}

	var steps []SetupStep
	// The issue alert.
	rulesURL := "/projects/" + org + "/" + proj + "/rules/"
	existingRules, err := api.list(ctx, rulesURL, "alerts:read")
	if err != nil {
		return nil, err
	}
	issue := map[string]any{
		"name":        RuleWebhookErrors,
		"actionMatch": "all",
		"filterMatch": "all",
		"frequency":   60,
		"conditions": []any{map[string]any{
			"id": "sentry.rules.conditions.event_frequency.EventFrequencyCondition", "value": 10, "interval": "1h"}},
		"filters": []any{map[string]any{
			"id": "sentry.rules.filters.tagged_event.TaggedEventFilter", "key": "service", "match": "eq", "value": "webhooks"}},
		"actions": issueActions,
	}
	step, err := api.apply(ctx, o.DryRun, "issue alert", rulesURL, existingRules, issue,
		[]string{"actionMatch", "filterMatch", "frequency", "conditions", "filters", "actions"})
	if err != nil {
		return steps, err
	}
	steps = append(steps, step)

	// The metric alerts.
	alertsURL := "/organizations/" + org + "/alert-rules/"
	all, err := api.list(ctx, alertsURL, "alerts:read")
	if err != nil {
		return steps, err
	}
	// The organization's metric alerts: this project's only (another
	// project may have a rule of the same name).
	var existingAlerts []map[string]any
	for _, r := range all {
		if ps, ok := r["projects"].([]any); ok && slicesContains(ps, o.Project) {
			existingAlerts = append(existingAlerts, r)
		}
	}
	const (
		ingestQuery  = `transaction.op:http.server transaction:"POST /in/{source}"`
		deliverQuery = `transaction.op:queue.process`
	)
	for _, a := range []struct {
		name, query, aggregate string
		threshold              float64
	}{
		// failure_rate() is a ratio: 0.05 is what Sentry shows as 5 %.
		{RuleIngestFailures, ingestQuery, "failure_rate()", 0.05},
		{RuleIngestLatency, ingestQuery, "p95(transaction.duration)", 5000},
		{RuleDeliverFailures, deliverQuery, "failure_rate()", 0.05},
		{RuleDeliverLatency, deliverQuery, "p95(transaction.duration)", 5000},
	} {
		rule := map[string]any{
			"name":          a.name,
			"dataset":       "transactions",
			"queryType":     1,
			"eventTypes":    []any{"transaction"},
			"aggregate":     a.aggregate,
			"query":         a.query,
			"timeWindow":    60,
			"thresholdType": 0,
			"projects":      []any{o.Project},
			"triggers": []any{map[string]any{
				"label": "critical", "alertThreshold": a.threshold, "actions": metricActions}},
		}
		step, err := api.apply(ctx, o.DryRun, "metric alert", alertsURL, existingAlerts, rule,
			[]string{"dataset", "aggregate", "query", "timeWindow", "thresholdType", "projects", "triggers"})
		if err != nil {
			return steps, err
		}
		steps = append(steps, step)
	}
	return steps, nil
}

func slicesContains(xs []any, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// list GETs every page of a collection, following the Link header's
// rel="next"; results="true" cursors as Sentry paginates.
func (a *sentryAPI) list(ctx context.Context, path, scope string) ([]map[string]any, error) {
	var all []map[string]any
	for page := 0; path != "" && page < 100; page++ {
		var items []map[string]any
		link, err := a.doLink(ctx, path, &items, scope)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		path = nextPage(link, a.base)
	}
	return all, nil
}

// nextPage returns the path of the next page of a Link header, or "".
func nextPage(link, base string) string {
	for _, part := range strings.Split(link, ",") {
		if !strings.Contains(part, `rel="next"`) || !strings.Contains(part, `results="true"`) {
			continue
		}
		i, j := strings.Index(part, "<"), strings.Index(part, ">")
		if i < 0 || j < i {
			return ""
		}
		u := part[i+1 : j]
		if rest, ok := strings.CutPrefix(u, base); ok {
			return rest
		}
		if pu, err := url.Parse(u); err == nil {
			if rest, ok := strings.CutPrefix(pu.RequestURI(), "/api/0"); ok {
				return rest
			}
		}
		return ""
	}
	return ""
}

// sentryAPI calls Sentry's public API with a bearer token.
type sentryAPI struct {
	base, token string
	client      *http.Client
}

// maxAPIAnswer bounds what is read of one answer.
const maxAPIAnswer = 8 << 20

// do sends one request; scope is the token scope it needs, named in the
// error of a 401 or 403.
func (a *sentryAPI) do(ctx context.Context, method, path string, body, out any, scope string) error {
	_, err := a.send(ctx, method, path, body, out, scope)
	return err
}

// doLink GETs path into out and returns the answer's Link header.
func (a *sentryAPI) doLink(ctx context.Context, path string, out any, scope string) (string, error) {
	return a.send(ctx, http.MethodGet, path, nil, out, scope)
}

func (a *sentryAPI) send(ctx context.Context, method, path string, body, out any, scope string) (string, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return "", err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return "", fmt.Errorf("sentry setup: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("sentry setup: %s %s: %w", method, a.base+path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIAnswer))
	if err != nil {
		return "", fmt.Errorf("sentry setup: %s %s: reading the answer: %w", method, a.base+path, err)
	}
	detail := strings.TrimSpace(string(b))
	var d struct {
		Detail any `json:"detail"`
	}
	if json.Unmarshal(b, &d) == nil && d.Detail != nil {
		detail = fmt.Sprint(d.Detail)
	}
	if len(detail) > 300 {
		detail = detail[:300] + "…"
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return "", fmt.Errorf("sentry setup: %s %s: 401: Sentry does not accept the token (expired, revoked, or for another Sentry): create one with the %s scope and set SENTRY_AUTH_TOKEN (Sentry said: %s)", method, path, scope, detail)
	case resp.StatusCode == http.StatusForbidden:
		return "", fmt.Errorf("sentry setup: %s %s: 403: the token lacks the %s scope (or access to this organization or project): create a token with it (Sentry said: %s)", method, path, scope, detail)
	case resp.StatusCode == http.StatusNotFound:
		return "", fmt.Errorf("sentry setup: %s %s: 404: no such organization or project: check --org and --project (the slugs in your Sentry URLs) and --url (Sentry said: %s)", method, path, detail)
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		return "", fmt.Errorf("sentry setup: %s %s: Sentry answered %d: %s", method, path, resp.StatusCode, detail)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return "", fmt.Errorf("sentry setup: %s %s: unexpected answer: %w", method, path, err)
		}
	}
	return resp.Header.Get("Link"), nil
}

// apply creates want when no rule of existing has its name, updates the
// one that does when a compared field differs, and leaves it otherwise.
func (a *sentryAPI) apply(ctx context.Context, dry bool, kind, collection string, existing []map[string]any, want map[string]any, compared []string) (SetupStep, error) {
	name := want["name"].(string)
	step := SetupStep{Kind: kind, Name: name}
	body, err := json.Marshal(want)
	if err != nil {
		return step, err
	}
	var found map[string]any
	for _, r := range existing {
		if r["name"] == name {
			found = r
			break
		}
	}
	switch {
	case found == nil:
		step.Action, step.Method, step.URL = "create", http.MethodPost, a.base+collection
	case sameRule(found, want, compared):
		step.Action = "unchanged"
		return step, nil
	default:
		id := fmt.Sprint(found["id"])
		step.Action, step.Method, step.URL = "update", http.MethodPut, a.base+collection+url.PathEscape(id)+"/"
	}
	step.Body = body
	if dry {
		return step, nil
	}
	path := strings.TrimPrefix(step.URL, a.base)
	if err := a.do(ctx, step.Method, path, want, nil, "alerts:write"); err != nil {
		return step, err
	}
	return step, nil
}

// sameRule reports whether an existing rule has want's settings: each
// compared field, read the way Sentry answers it (numbers as floats or
// strings, objects with more keys than were sent).
func sameRule(got, want map[string]any, fields []string) bool {
	for _, f := range fields {
		if !covers(got[f], want[f]) {
			return false
		}
	}
	return true
}

// covers reports whether got holds want: maps key by key (got may have
// more keys: ids, names, dates Sentry adds), lists element by element,
// scalars by their printed value (Sentry answers 10 as "10" in places).
func covers(got, want any) bool {
	wj, _ := json.Marshal(want)
	var w any
	_ = json.Unmarshal(wj, &w)
	return coversJSON(got, w)
}

func coversJSON(got, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !coversJSON(g[k], v) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !coversJSON(g[i], w[i]) {
				return false
			}
		}
		return true
	case nil:
		return got == nil
	}
	if reflect.DeepEqual(got, want) {
		return true
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}

// notifyActions resolves --notify targets into the actions of the issue
// alert and of the metric alerts' triggers.
func (a *sentryAPI) notifyActions(ctx context.Context, org string, notify []string) (issue, metric []any, err error) {
	var slackID string
	for _, n := range notify {
		kind, target, ok := strings.Cut(n, ":")
		target = strings.TrimSpace(target)
		if !ok || target == "" {
			return nil, nil, fmt.Errorf("sentry setup: --notify %q: want email:ADDRESS or slack:#CHANNEL", n)
		}
		switch kind {
		case "email":
			var members []struct {
				Email string `json:"email"`
				User  *struct {
					ID any `json:"id"`
				} `json:"user"`
			}
			q := "/organizations/" + org + "/members/?query=" + url.QueryEscape("email:"+target)
			if err := a.do(ctx, http.MethodGet, q, nil, &members, "member:read"); err != nil {
				return nil, nil, err
			}
			var id string
			for _, m := range members {
				if strings.EqualFold(m.Email, target) && m.User != nil {
					id = fmt.Sprint(m.User.ID)
				}
			}
			if id == "" {
				return nil, nil, fmt.Errorf("sentry setup: --notify %s: no member of the organization has that email (Sentry mails members only; invite them first)", n)
			}
			issue = append(issue, map[string]any{"id": "sentry.mail.actions.NotifyEmailAction",
				"targetType": "Member", "targetIdentifier": id, "fallthroughType": "ActiveMembers"})
			metric = append(metric, map[string]any{"type": "email", "targetType": "user", "targetIdentifier": id})
		case "slack":
			if !strings.HasPrefix(target, "#") && !strings.HasPrefix(target, "@") {
				target = "#" + target
			}
			if slackID == "" {
				var integrations []struct {
					ID   any    `json:"id"`
					Name string `json:"name"`
				}
				q := "/organizations/" + org + "/integrations/?provider_key=slack"
				if err := a.do(ctx, http.MethodGet, q, nil, &integrations, "org:read"); err != nil {
					return nil, nil, err
				}
				if len(integrations) == 0 {
					return nil, nil, fmt.Errorf("sentry setup: --notify %s: the organization has no Slack integration: install it (Settings > Integrations > Slack) and run again", n)
				}
				slackID = fmt.Sprint(integrations[0].ID)
			}
			issue = append(issue, map[string]any{"id": "sentry.integrations.slack.notify_action.SlackNotifyServiceAction",
				"workspace": slackID, "channel": target, "tags": "source,destination,error_type"})
			metric = append(metric, map[string]any{"type": "slack", "targetType": "specific",
				"targetIdentifier": target, "integrationId": slackID})
		default:
			return nil, nil, fmt.Errorf("sentry setup: --notify %q: want email:ADDRESS or slack:#CHANNEL", n)
		}
	}
	if len(issue) == 0 {
		issue = []any{map[string]any{"id": "sentry.mail.actions.NotifyEmailAction",
			"targetType": "IssueOwners", "fallthroughType": "ActiveMembers"}}
	}
	if metric == nil {
		metric = []any{}
	}
	return issue, metric, nil
}
