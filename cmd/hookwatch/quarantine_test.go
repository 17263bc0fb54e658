package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeQuarantineConfig writes a config whose stripe source has secret.
func writeQuarantineConfig(t *testing.T, dir, secret string) string {
	t.Helper()
	path := writeYAML(t, dir, anyPortsYAML+fmt.Sprintf(`admin_token: "qtoken"
store: %q
log: {level: error}
quarantine: {max_count: 100, max_age: 1d, max_body: 64KiB}
sources:
  - name: stripe
    provider: stripe
    secrets: [%q]
`, "sqlite:"+filepath.Join(dir, "hw.db"), secret))
	return path
}

// The operator's round trip with the real server and the CLI: a wrong
// secret configured, webhooks answered 401 and kept; list and show them;
// fix the config; release (dry run first); the events are stored once, and
// releasing again finds nothing.
func TestQuarantineCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeQuarantineConfig(t, dir, "whsec_wrong_secret")
	m := loadMain(t, path)
	defer m.Close()
	for i := range 2 {
		code, _, err := sendStripe(http.DefaultClient, m.PublicAddr(), fmt.Sprintf("evt_q_%d", i))
		if err != nil || code != http.StatusUnauthorized {
			t.Fatalf("send with the wrong secret configured: %d, %v", code, err)
		}
	}
	var listed []map[string]any
	for deadline := time.Now().Add(5 * time.Second); len(listed) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, _, err := run(t, nil, "quarantine", "list", "--config", path, "--json")
		if err != nil {
			t.Fatal(err)
		}
		listed = nil
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var v map[string]any
			if line != "" {
				if err := json.Unmarshal([]byte(line), &v); err != nil {
					t.Fatalf("quarantine list --json is not one JSON object per line: %v\n%s", err, out)
				}
				listed = append(listed, v)
			}
		}
	}
	if len(listed) != 2 || listed[0]["reason"] != "bad_signature" || listed[0]["source"] != "stripe" {
		t.Fatalf("listed %v", listed)
	}
	id := listed[0]["id"].(string)

	out, _, err := run(t, nil, "quarantine", "list", "--config", path, "--status", "held")
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "bad_signature") || !strings.Contains(out, "held") {
		t.Errorf("quarantine list: %v\n%s", err, out)
	}
	out, _, err = run(t, nil, "quarantine", "show", "--config", path, id)
	if err != nil || !strings.Contains(out, "Stripe-Signature:") || !strings.Contains(out, `"object":"event"`) || !strings.Contains(out, "Reason:    bad_signature") {
		t.Errorf("quarantine show: %v\n%s", err, out)
	}
	if _, _, err := run(t, nil, "quarantine", "release", "--config", path); err == nil {
		t.Errorf("release without IDs or filter succeeded")
	}

	// Still the wrong secret: nothing passes.
	out, errOut, err := run(t, map[string]string{"USER": "alice"}, "quarantine", "release", "--config", path, "--source", "stripe")
	if err != nil || !strings.Contains(errOut, "0 released") || !strings.Contains(errOut, "2 failed") {
		t.Fatalf("release with the wrong secret: %v\n%s%s", err, out, errOut)
	}

	// The config is fixed (the server need not restart for the CLI).
	path = writeQuarantineConfig(t, dir, crashSecret)
	out, errOut, err = run(t, nil, "quarantine", "release", "--config", path, "--source", "stripe", "--dry-run")
	if err != nil || !strings.Contains(errOut, "2 released") || !strings.Contains(errOut, "dry run") || !strings.Contains(out, "would be released") {
		t.Fatalf("dry run: %v\n%s%s", err, out, errOut)
	}
	out, _, err = run(t, map[string]string{"USER": "alice"}, "quarantine", "release", "--config", path, "--source", "stripe", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var released []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("release --json: %v\n%s", err, out)
		}
		released = append(released, v)
	}
	if len(released) != 2 || released[0]["outcome"] != "released" || released[0]["event_id"] == "" {
		t.Fatalf("released %v", released)
	}
	out, _, err = run(t, nil, "events", "list", "--config", path, "--json")
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, "evt_q_0") || !strings.Contains(out, "evt_q_1") {
		t.Fatalf("events after release: %v\n%s", err, out)
	}
	out, _, err = run(t, nil, "quarantine", "show", "--config", path, "--json", id)
	var shown map[string]any
	json.Unmarshal([]byte(out), &shown)
	if err != nil || shown["released_by"] != "cli:alice" || shown["event_id"] == nil || shown["unverified"] == true {
		t.Errorf("record after release: %v %v", err, shown)
	}
	_, errOut, err = run(t, nil, "quarantine", "release", "--config", path, "--source", "stripe")
	if err != nil || !strings.Contains(errOut, "0 matched") {
		t.Errorf("release again: %v\n%s", err, errOut)
	}
	out, _, _ = run(t, nil, "events", "list", "--config", path, "--json")
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("%d events after releasing again, want 2", n)
	}
}

// The admin API: token required; list, show and release.
func TestQuarantineAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := writeQuarantineConfig(t, dir, "whsec_wrong_secret")
	m := loadMain(t, path)
	defer m.Close()
	if code, _, err := sendStripe(http.DefaultClient, m.PublicAddr(), "evt_api"); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("send: %d, %v", code, err)
	}
	call := func(method, path, token, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+m.AdminAddr()+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v map[string]any
		json.Unmarshal(b, &v)
		return resp.StatusCode, v
	}
	if code, _ := call("GET", "/api/quarantine", "", ""); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", code)
	}
	var list []any
	for deadline := time.Now().Add(5 * time.Second); len(list) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		code, v := call("GET", "/api/quarantine?source=stripe&status=held", "qtoken", "")
		if code != http.StatusOK {
			t.Fatalf("list: %d %v", code, v)
		}
		list, _ = v["quarantined"].([]any)
	}
	if len(list) != 1 {
		t.Fatalf("listed %v", list)
	}
	id := list[0].(map[string]any)["id"].(string)
	code, v := call("GET", "/api/quarantine/"+id, "qtoken", "")
	if code != http.StatusOK || !strings.Contains(fmt.Sprint(v["body"]), "evt_api") || v["headers"] == nil {
		t.Errorf("show: %d %v", code, v)
	}
	if code, _ := call("GET", "/api/quarantine/qrn_missing", "qtoken", ""); code != http.StatusNotFound {
		t.Errorf("show missing: %d, want 404", code)
	}
	if code, _ := call("POST", "/api/quarantine/release", "qtoken", `{"filter":{}}`); code != http.StatusBadRequest {
		t.Errorf("release without a filter: %d, want 400", code)
	}
	// The server runs with the wrong secret: a verified release fails, an
	// unverified one is recorded.
	code, v = call("POST", "/api/quarantine/release", "qtoken", `{"filter":{"ids":["`+id+`"]}}`)
	if code != http.StatusOK || fmt.Sprint(v["counts"]) != "map[failed:1]" {
		t.Errorf("release: %d %v", code, v)
	}
	code, v = call("POST", "/api/quarantine/release", "qtoken", `{"filter":{"ids":["`+id+`"]},"unverified":true,"by":"bob"}`)
	if code != http.StatusOK || fmt.Sprint(v["counts"]) != "map[released:1]" {
		t.Fatalf("unverified release: %d %v", code, v)
	}
	_, v = call("GET", "/api/quarantine/"+id, "qtoken", "")
	if v["unverified"] != true || !strings.HasPrefix(fmt.Sprint(v["released_by"]), "admin-api:bob ") {
		t.Errorf("record: %v", v)
	}
}
