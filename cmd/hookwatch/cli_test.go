package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs the CLI in-process and returns stdout, stderr and the error.
func run(t *testing.T, getenv map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) (string, bool) {
		v, ok := getenv[k]
		return v, ok
	}}
	err := Run(context.Background(), env, args)
	return out.String(), errb.String(), err
}

// startMain runs the real server in-process on free loopback ports with a
// config in dir, and returns the config path and the running Main.
func startMain(t *testing.T, dir string) (string, *Main) {
	t.Helper()
	path := writeConfig(t, dir, "127.0.0.1:0", "127.0.0.1:0", "sqlite:"+filepath.Join(dir, "hw.db"))
	m := openMain(t, path)
	return path, m
}

func TestSendThenListAndShow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path, m := startMain(t, dir)
	payload := filepath.Join(dir, "evt.json")
	os.WriteFile(payload, []byte(`{"id":"evt_cli_1","object":"event","type":"customer.created","livemode":false}`), 0o600)

	out, _, err := run(t, nil, "send", "--config", path, "--url", "http://"+m.PublicAddr(), "--source", "stripe", "--file", payload)
	if err != nil || !strings.Contains(out, "200 OK") {
		t.Fatalf("send: %v\n%s", err, out)
	}
	var answer struct{ ID string }
	json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &answer)

	out, _, err = run(t, nil, "events", "list", "--config", path, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var listed map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &listed); err != nil {
		t.Fatalf("events list --json is not one JSON object per line: %v\n%s", err, out)
	}
	if listed["id"] != answer.ID || listed["provider_event_id"] != "evt_cli_1" || listed["type"] != "customer.created" || listed["test"] != true {
		t.Errorf("listed %v", listed)
	}

	out, _, err = run(t, nil, "events", "list", "--config", path, "--source", "github")
	if err != nil || strings.Contains(out, answer.ID) {
		t.Errorf("--source github shows a stripe event: %v\n%s", err, out)
	}

	out, _, err = run(t, nil, "events", "show", "--config", path, answer.ID)
	if err != nil || !strings.Contains(out, `"id":"evt_cli_1"`) || !strings.Contains(out, "Stripe-Signature:") {
		t.Errorf("events show: %v\n%s", err, out)
	}
	if _, _, err := run(t, nil, "events", "show", "--config", path, "evt_missing"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("show of a missing event: %v", err)
	}
}

func TestSendWithWrongSecretIsRejected(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path, m := startMain(t, dir)
	// A second config whose stripe secret differs from the server's.
	other := filepath.Join(t.TempDir(), "other.yaml")
	data, _ := os.ReadFile(path)
	os.WriteFile(other, bytes.Replace(data, []byte(crashSecret), []byte("whsec_not_it"), 1), 0o600)
	payload := filepath.Join(dir, "evt.json")
	os.WriteFile(payload, []byte(`{"id":"evt_wrong","type":"x"}`), 0o600)
	out, _, err := run(t, nil, "send", "--config", other, "--url", "http://"+m.PublicAddr(), "--source", "stripe", "--file", payload)
	if err == nil || !strings.Contains(out, "401") || !strings.Contains(out, "bad_signature") {
		t.Fatalf("want a 401 bad_signature, got %v\n%s", err, out)
	}
}

func TestConfigCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeConfig(t, dir, "127.0.0.1:0", "127.0.0.1:1", "sqlite:"+filepath.Join(dir, "hw.db"))
	out, _, err := run(t, nil, "config", "check", "--config", good)
	if err != nil || !strings.Contains(out, "is valid") {
		t.Fatalf("check: %v %s", err, out)
	}
	out, _, err = run(t, nil, "config", "show", "--config", good)
	if err != nil || strings.Contains(out, crashSecret) || !strings.Contains(out, "[redacted]") {
		t.Fatalf("show leaks or fails: %v\n%s", err, out)
	}

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("sources:\n  - name: s\n    provider: stripe\n    secrets: [\"${NOPE_SECRET}\"]\n"), 0o600)
	_, _, err = run(t, nil, "config", "check", "--config", bad)
	if err == nil || !strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "NOPE_SECRET") || exitCode(err) != 2 {
		t.Fatalf("bad config: %v (exit %d)", err, exitCode(err))
	}
	// The same file passes once the variable is set.
	if _, _, err := run(t, map[string]string{"NOPE_SECRET": "whsec_x"}, "config", "check", "--config", bad); err != nil {
		t.Fatalf("with env set: %v", err)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	out, _, err := run(t, nil, "help")
	if err != nil || !strings.Contains(out, "serve") || !strings.Contains(out, "events list") {
		t.Fatalf("help: %v\n%s", err, out)
	}
	_, stderr, err := run(t, nil, "events")
	if !errors.Is(err, errUsage) || !strings.Contains(stderr, "events list") {
		t.Errorf("group without subcommand: %v\n%s", err, stderr)
	}
	_, _, err = run(t, nil, "frobnicate")
	if !errors.Is(err, errUsage) || exitCode(err) != 2 {
		t.Errorf("unknown command: %v", err)
	}
	_, stderr, err = run(t, nil, "send", "--help")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "--source") || exitCode(err) != 0 {
		t.Errorf("send --help: %v\n%s", err, stderr)
	}
}
