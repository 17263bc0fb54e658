package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAsanaHandshakeEndToEnd runs the real binary with an Asana source
// configured with no secret: the first X-Hook-Secret handshake is answered
// and its secret kept (sealed: not in the database file), a signed event is
// stored, a second handshake is refused with 409 until `hookwatch sources
// reset-handshake`, after which a new handshake's secret replaces it.
func TestAsanaHandshakeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "hw.db")
	p := serve(t, dir, fmt.Sprintf("store: %q\nlog: {level: warn}\nsources:\n  - name: asana\n    provider: asana\n", "sqlite:"+db))
	public, path := p.public, p.config

	const first, second = "0f5c1e0bd1c5f2c9a4c6a0f1e0c7d2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9", "9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e"
	body := `{"events":[{"user":{"gid":"1","resource_type":"user"},"created_at":"2026-12-02T10:00:00.000Z","action":"changed","resource":{"gid":"1200","resource_type":"task"},"parent":null}]}`
	post := func(h map[string]string, b string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+public+"/in/asana", strings.NewReader(b))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(out)
	}
	signed := func(secret string, b ...string) map[string]string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(body + strings.Join(b, "")))
		return map[string]string{"X-Hook-Signature": hex.EncodeToString(m.Sum(nil)), "Content-Type": "application/json"}
	}
	cli := func(args ...string) string {
		t.Helper()
		out, errOut, err := runBinary(t, args...)
		if err != nil {
			t.Fatalf("hookwatch %v: %v\n%s%s", args, err, out, errOut)
		}
		return out
	}

	if code, _, out := post(signed(first), body); code != 401 || !strings.Contains(out, "no handshake secret") {
		t.Fatalf("event before any handshake: %d %s", code, out)
	}
	if out := cli("sources", "handshake", "--config", path, "asana"); !strings.Contains(out, "no handshake secret is kept") {
		t.Fatalf("sources handshake before: %s", out)
	}
	code, h, out := post(map[string]string{"X-Hook-Secret": first}, "")
	if code != 200 || h.Get("X-Hook-Secret") != first {
		t.Fatalf("first handshake: %d, X-Hook-Secret %q, %s", code, h.Get("X-Hook-Secret"), out)
	}
	if out := cli("sources", "handshake", "--config", path, "asana"); !strings.Contains(out, "a handshake secret is kept, received") || strings.Contains(out, first) {
		t.Fatalf("sources handshake after: %s", out)
	}
	if code, _, out := post(signed(first), body); code != 200 || !strings.Contains(out, `"id":"evt_`) {
		t.Fatalf("signed event: %d %s", code, out)
	}
	if out := cli("events", "list", "--config", path, "--source", "asana"); !strings.Contains(out, "task.changed") {
		t.Fatalf("events list: the event is not stored:\n%s", out)
	}
	if code, _, out := post(signed("not-the-secret"), body); code != 401 {
		t.Fatalf("event signed with another secret: %d %s", code, out)
	}
	if code, h, out := post(map[string]string{"X-Hook-Secret": second}, ""); code != 409 || h.Get("X-Hook-Secret") != "" || !strings.Contains(out, "reset-handshake") {
		t.Fatalf("second handshake: %d, X-Hook-Secret %q, %s; want 409 naming reset-handshake", code, h.Get("X-Hook-Secret"), out)
	}
	if code, _, _ := post(signed(second), body); code != 401 {
		t.Fatalf("event signed with the refused secret: %d", code)
	}
	for _, f := range []string{db, db + "-wal"} {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(first)) {
			t.Fatalf("%s holds the handshake secret in plaintext", filepath.Base(f))
		}
	}

	if out := cli("sources", "reset-handshake", "--config", path, "asana"); !strings.Contains(out, "forgotten") {
		t.Fatalf("reset-handshake: %s", out)
	}
	if code, _, _ := post(signed(first), body); code != 401 {
		t.Fatalf("event signed with the forgotten secret: %d", code)
	}
	if code, h, out := post(map[string]string{"X-Hook-Secret": second}, ""); code != 200 || h.Get("X-Hook-Secret") != second {
		t.Fatalf("handshake after reset: %d %s", code, out)
	}
	if code, _, out := post(signed(second, " "), body+" "); code != 200 || strings.Contains(out, "duplicate") {
		t.Fatalf("event signed with the new secret: %d %s", code, out)
	}
	// hookwatch send signs with the kept secret.
	payload := filepath.Join(dir, "event.json")
	if err := os.WriteFile(payload, []byte(strings.Replace(body, "1200", "1300", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := cli("send", "--config", path, "--source", "asana", "--file", payload); !strings.Contains(out, " 200 OK") {
		t.Fatalf("send with the kept secret: %s", out)
	}
	if _, errOut, err := runBinary(t, "sources", "reset-handshake", "--config", path, "nope"); err == nil || !strings.Contains(errOut, "no source named") {
		t.Fatalf("reset of an unknown source: %v %s", err, errOut)
	}
}
