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
)

// TestAlertsSilenceCLI silences a rule with flags after the rule name,
// lists the silence (table and JSON), removes it, and checks what is
// refused: an unknown rule, a missing --for, a bad subject, a silence
// too long. alerts list shows every rule with its units.
func TestAlertsSilenceCLI(t *testing.T) {
	t.Parallel()
	s := startAlertMain(t, 100, "")
	p := s.path
	env := map[string]string{"USER": "alice"}
	out, stderr, err := run(t, env, "alerts", "silence", "--config", p, "dead-letter", "--subject", "destination:app", "--for", "2h", "--comment", "deploying v2")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	id := strings.Fields(out)[0]
	if !strings.HasPrefix(id, "sil_") || !strings.Contains(out, "silences dead-letter on destination:app until") {
		t.Fatalf("alerts silence said %q", out)
	}
	ss, err := s.m.Store.ListSilences(context.Background(), time.Now())
	if err != nil || len(ss) != 1 || ss[0].ID != id || ss[0].CreatedBy != "cli:alice" || ss[0].Comment != "deploying v2" ||
		ss[0].ExpiresAt.Sub(ss[0].CreatedAt) != 2*time.Hour {
		t.Fatalf("stored silences = %+v, %v", ss, err)
	}
	out, _, err = run(t, env, "alerts", "silences", "--config", p)
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "destination:app") || !strings.Contains(out, "cli:alice") || !strings.Contains(out, "deploying v2") {
		t.Errorf("alerts silences = %q, %v", out, err)
	}
	out, _, err = run(t, env, "alerts", "silences", "--config", p, "--json")
	var got hookwatch.Silence
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || got.ID != id || got.Rule != "dead-letter" {
		t.Errorf("alerts silences --json = %q, %v", out, err)
	}
	out, _, err = run(t, env, "alerts", "list", "--config", p)
	if err != nil || !strings.Contains(out, "any dead letter over 5m") || !strings.Contains(out, "each destination") || !strings.Contains(out, "30m") {
		t.Errorf("alerts list = %q, %v", out, err)
	}

	for _, tc := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"alerts", "silence", "--config", p, "nope", "--for", "1h"}, `no alert rule named "nope" (rules: dead-letter)`, false},
		{[]string{"alerts", "silence", "--config", p, "dead-letter"}, "needs one rule name and --for", true},
		{[]string{"alerts", "silence", "--config", p, "dead-letter", "--for", "soon"}, "--for: bad duration", false},
		{[]string{"alerts", "silence", "--config", p, "dead-letter", "--for", "31d"}, "at most 30d", false},
		{[]string{"alerts", "silence", "--config", p, "dead-letter", "--for", "1h", "--subject", "app"}, "destination:NAME", false},
		{[]string{"alerts", "unsilence", "--config", p}, "needs one silence ID", true},
		{[]string{"alerts", "unsilence", "--config", p, "sil_missing"}, "no silence sil_missing", false},
	} {
		_, _, err := run(t, env, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, errUsage) != tc.usage || exitCode(err) != 2 && hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("%q: %v, want %q (usage %v)", tc.args, err, tc.want, tc.usage)
		}
	}

	out, _, err = run(t, env, "alerts", "unsilence", "--config", p, id)
	if err != nil || !strings.Contains(out, "removed "+id) {
		t.Fatalf("alerts unsilence = %q, %v", out, err)
	}
	if out, stderr, err := run(t, env, "alerts", "silences", "--config", p); err != nil || strings.Contains(out, id) || !strings.Contains(stderr, "no silence in force") {
		t.Errorf("after unsilence: %q %q %v", out, stderr, err)
	}
}

// TestAlertsSilenceAPI silences through the admin API of a running
// Hookwatch: the rule names come from its config, the CLI sees the silence
// (one store, one shape), and DELETE removes it.
func TestAlertsSilenceAPI(t *testing.T) {
	t.Parallel()
	s := startAlertMain(t, 100, "")
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+s.m.AdminAddr()+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const create = `{"rule": "dead-letter", "subject": "destination:app", "for": "2h", "comment": "deploying v2", "by": "alice"}`
	if code, _ := call("POST", "/api/silences", "", create); code != http.StatusUnauthorized {
		t.Fatalf("POST /api/silences without a token: %d", code)
	}
	if code, body := call("POST", "/api/silences", adminToken, `{"rule": "nope", "for": "1h"}`); code != 400 || !strings.Contains(body, `(rules: dead-letter)`) {
		t.Errorf("unknown rule: %d %s", code, body)
	}
	code, body := call("POST", "/api/silences", adminToken, create)
	var si hookwatch.Silence
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &si) != nil || !strings.HasPrefix(si.CreatedBy, "admin-api:alice ") {
		t.Fatalf("POST /api/silences = %d %s", code, body)
	}
	out, _, err := run(t, nil, "alerts", "silences", "--config", s.path, "--json")
	var listed hookwatch.Silence
	if err != nil || json.Unmarshal([]byte(out), &listed) != nil || listed.ID != si.ID || listed.CreatedBy != si.CreatedBy ||
		listed.Subject != si.Subject || listed.Comment != si.Comment || !listed.ExpiresAt.Equal(si.ExpiresAt) {
		t.Errorf("alerts silences --json = %q, %v; want %+v", out, err, si)
	}
	if code, body := call("GET", "/api/alerts", adminToken, ""); code != 200 || !strings.Contains(body, si.ID) {
		t.Errorf("GET /api/alerts = %d %s, want the silence", code, body)
	}
	if code, body := call("DELETE", "/api/silences/"+si.ID, adminToken, ""); code != 200 || !strings.Contains(body, si.ID) {
		t.Fatalf("DELETE = %d %s", code, body)
	}
	if out, stderr, err := run(t, nil, "alerts", "silences", "--config", s.path); err != nil || strings.Contains(out, si.ID) || !strings.Contains(stderr, "no silence in force") {
		t.Errorf("after DELETE: %q %q %v", out, stderr, err)
	}
}
