package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestUsersTokensAndDashboard: a user added from stdin signs in to the
// dashboard on the admin listener; a token from `tokens add` calls the
// admin API until it is revoked.
func TestUsersTokensAndDashboard(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path, m := startMain(t, dir)

	stdin = strings.NewReader("short\n")
	if _, _, err := run(t, nil, "users", "add", "--config", path, "--password-stdin", "alice"); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Fatalf("short password: %v", err)
	}
	stdin = strings.NewReader("correct horse battery staple\n")
	if out, _, err := run(t, nil, "users", "add", "--config", path, "--password-stdin", "alice"); err != nil || !strings.Contains(out, "alice added") {
		t.Fatalf("users add: %v %s", err, out)
	}
	stdin = strings.NewReader("another good password\n")
	if _, _, err := run(t, nil, "users", "add", "--config", path, "--password-stdin", "alice"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second alice: %v", err)
	}
	out, _, err := run(t, nil, "users", "list", "--config", path, "--json")
	if err != nil || !strings.Contains(out, `"name":"alice"`) || strings.Contains(out, "$2a$") {
		t.Fatalf("users list: %v %s", err, out)
	}

	admin := "http://" + m.AdminAddr()
	// The dashboard answers on the admin listener and wants a sign-in.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(admin + "/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Fatalf("GET /events: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.Get(admin + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "Sign in") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("sign-in page: %d %s", resp.StatusCode, b)
	}

	// API tokens.
	api := func(token string) int {
		req, _ := http.NewRequest("GET", admin+"/api/destinations", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	token, stderr, err := run(t, nil, "tokens", "add", "--config", path, "--user", "alice", "--name", "ci")
	token = strings.TrimSpace(token)
	if err != nil || !strings.HasPrefix(token, "hwt_") || !strings.Contains(stderr, "shown once") {
		t.Fatalf("tokens add: %v %q %s", err, token, stderr)
	}
	if code := api(token); code != 200 {
		t.Fatalf("API with the token: %d", code)
	}
	if code := api("hwt_wrong"); code != 401 {
		t.Fatalf("API with a wrong token: %d", code)
	}
	out, _, err = run(t, nil, "tokens", "list", "--config", path, "--json")
	if err != nil || !strings.Contains(out, `"name":"ci"`) || strings.Contains(out, token) {
		t.Fatalf("tokens list: %v %s", err, out)
	}
	id := out[strings.Index(out, `"id":"`)+6:]
	id = id[:strings.Index(id, `"`)]
	if _, _, err := run(t, nil, "tokens", "remove", "--config", path, id); err != nil {
		t.Fatal(err)
	}
	if code := api(token); code != 401 {
		t.Fatalf("API with a revoked token: %d", code)
	}
	if _, _, err := run(t, nil, "users", "remove", "--config", path, "alice"); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := run(t, nil, "users", "list", "--config", path); strings.Contains(out, "alice") {
		t.Fatalf("alice still listed: %s", out)
	}
}
