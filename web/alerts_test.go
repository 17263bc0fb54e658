package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/web"
	"golang.org/x/crypto/bcrypt"
)

// alertsEnv is a dashboard over a SQLite store with two alert rules, one
// of them evaluated (a firing alert) and one never evaluated.
func alertsEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err := s.CreateUser(ctx, &hookwatch.User{Name: user, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := s.SaveAlerts(ctx, []hookwatch.AlertState{{Rule: "error-rate", Subject: "destination:app", Status: hookwatch.AlertFiring,
		Since: now.Add(-10 * time.Minute), Summary: "error rate 40.0% over 5m", UpdatedAt: now,
		HeldBack: "silenced: sil_x by cli:bob until later"}}, nil); err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Options{Store: s, Logger: slog.New(slog.NewTextHandler(tlog{t}, nil)), AlertRules: []web.AlertRule{
		{Name: "error-rate", Kind: "error_rate", Scope: "each destination", Condition: "error rate > 5% over 5m (at least 20 attempts)", For: "1m", Cooldown: "30m"},
		{Name: "backlog-age", Kind: "backlog_age", Scope: "each destination", Condition: "oldest waiting delivery older than 15m", For: "0s", Cooldown: "30m",
			Channels: []string{"pager"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: s, dash: httptest.NewServer(h)}
	t.Cleanup(func() { e.dash.Close(); s.Close() })
	return e
}

// TestAlertsPage: every configured rule is listed with its units, also
// one never evaluated; a signed-in user adds a silence and removes it with
// the page's forms; without the CSRF token or a session nothing changes.
func TestAlertsPage(t *testing.T) {
	t.Parallel()
	e := alertsEnv(t)
	ctx := context.Background()
	c := e.client()
	csrf := e.signIn(c)
	status, body := e.get(c, "/alerts")
	if status != http.StatusOK {
		t.Fatalf("GET /alerts: %d", status)
	}
	if m := contains(body, "error-rate", "error rate &gt; 5% over 5m (at least 20 attempts)", "1m", "30m", "firing", "destination:app",
		"error rate 40.0% over 5m", "held back", "backlog-age", "oldest waiting delivery older than 15m", "not evaluated yet", "pager",
		"No silence in force", `name="for"`); len(m) > 0 {
		t.Fatalf("alerts page lacks %q:\n%s", m, body)
	}

	silences := func() []*hookwatch.Silence {
		ss, err := e.store.ListSilences(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}
	form := url.Values{"rule": {"backlog-age"}, "subject": {"destination:app"}, "for": {"2h"}, "comment": {"draining after the incident"}}

	// Refused without the session's token, and signed out.
	bad := url.Values{"csrf": {"forged"}}
	for k, v := range form {
		bad[k] = v
	}
	if resp, _ := e.post(c, "/alerts/silences", bad); resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged token: %d, want 403", resp.StatusCode)
	}
	if resp, _ := e.post(e.client(), "/alerts/silences", form); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("signed out: %d, want 401", resp.StatusCode)
	}
	if len(silences()) != 0 {
		t.Fatal("a refused form made a silence")
	}

	// Bad input says what to fix.
	for _, tc := range []struct{ field, value, want string }{
		{"rule", "nope", `no alert rule named &#34;nope&#34;`},
		{"for", "soon", "write a number and a unit"},
		{"for", "40d", "at most 30d"},
		{"subject", "app", "is not all, destination:NAME or source:NAME"},
	} {
		f := url.Values{"csrf": {csrf}}
		for k, v := range form {
			f[k] = v
		}
		f.Set(tc.field, tc.value)
		resp, body := e.post(c, "/alerts/silences", f)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("%s=%q: %d, want 400 saying %q:\n%.600s", tc.field, tc.value, resp.StatusCode, tc.want, body)
		}
	}

	form.Set("csrf", csrf)
	resp, _ := e.post(c, "/alerts/silences", form)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/alerts?ok=silenced") {
		t.Fatalf("add silence: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	ss := silences()
	if len(ss) != 1 || ss[0].Rule != "backlog-age" || ss[0].Subject != "destination:app" || ss[0].CreatedBy != "dashboard:"+user ||
		ss[0].Comment != "draining after the incident" || ss[0].ExpiresAt.Sub(ss[0].CreatedAt) != 2*time.Hour {
		t.Fatalf("silences = %+v", ss)
	}
	_, body = e.get(c, "/alerts?ok=silenced")
	if m := contains(body, "Silence added", "draining after the incident", "dashboard:"+user, "/alerts/silences/"+ss[0].ID+"/remove"); len(m) > 0 {
		t.Errorf("page after adding lacks %q", m)
	}

	if resp, _ := e.post(c, "/alerts/silences/"+ss[0].ID+"/remove", url.Values{"csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden || len(silences()) != 1 {
		t.Errorf("remove with a forged token: %d, %d silences left", resp.StatusCode, len(silences()))
	}
	resp, _ = e.post(c, "/alerts/silences/"+ss[0].ID+"/remove", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther || len(silences()) != 0 {
		t.Fatalf("remove: %d, %d silences left", resp.StatusCode, len(silences()))
	}
	if resp, body := e.post(c, "/alerts/silences/"+ss[0].ID+"/remove", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusNotFound ||
		!strings.Contains(body, "no silence") {
		t.Errorf("removing it again: %d", resp.StatusCode)
	}
}
