package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// postSigned posts body to the server's stripe source, signed with secret.
func postSigned(t *testing.T, addr, secret, body string) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(mustStripeRequest(t, addr, secret, body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The erase, events purge, purges list and replays list commands against a
// running server's store: the subject extracted at ingest (Stripe's default
// path), dry runs, the quarantined copy, the audit records with the
// subject's hash only, and --help.
func TestPurgeAndEraseEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path, m := startMain(t, dir)
	const subject = "cus_E2eErase"
	stripe := func(id, customer string) string {
		return `{"id":"` + id + `","object":"event","type":"invoice.paid","livemode":true,"data":{"object":{"id":"in_1","customer":"` + customer + `"}}}`
	}
	for _, b := range []string{stripe("evt_e1", subject), stripe("evt_e2", subject), stripe("evt_keep", "cus_Other")} {
		if st := postSigned(t, m.PublicAddr(), crashSecret, b); st != http.StatusOK {
			t.Fatalf("post: status %d", st)
		}
	}
	// A request signed with a wrong secret is quarantined with its subject.
	if st := postSigned(t, m.PublicAddr(), "whsec_wrong", stripe("evt_rejected", subject)); st != http.StatusUnauthorized {
		t.Fatalf("wrongly signed post: status %d, want 401", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		qs, err := m.Store.ListQuarantined(context.Background(), hookwatch.QuarantineFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rejected request was not quarantined")
		}
		time.Sleep(20 * time.Millisecond)
	}

	out, _, err := run(t, nil, "erase", "--config", path, "--subject", subject, "--dry-run", "--json")
	var dry hookwatch.Purge
	if err != nil || json.Unmarshal([]byte(out), &dry) != nil || dry.Events != 2 || dry.Quarantined != 1 || !dry.DryRun {
		t.Fatalf("erase --dry-run --json: %v\n%s", err, out)
	}
	out, _, err = run(t, map[string]string{"USER": "dpo"}, "erase", "--config", path, "--subject", subject)
	if err != nil || !strings.Contains(out, "erased 2 events and 1 quarantined requests") {
		t.Fatalf("erase: %v\n%s", err, out)
	}
	out, _, err = run(t, nil, "events", "list", "--config", path, "--json")
	if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(out, "evt_keep") {
		t.Errorf("events after the erasure: %v\n%s", err, out)
	}
	if qs, _ := m.Store.ListQuarantined(context.Background(), hookwatch.QuarantineFilter{}); len(qs) != 0 {
		t.Errorf("the quarantined copy survived the erasure")
	}

	// Purge: --before is required; a cut-off in the past finds nothing,
	// one in the future the event left.
	if _, _, err := run(t, nil, "events", "purge", "--config", path); hookwatch.ErrorCode(err) != hookwatch.EINVALID || !strings.Contains(err.Error(), "2026-01-01") {
		t.Errorf("purge without --before: %v", err)
	}
	out, _, err = run(t, nil, "events", "purge", "--config", path, "--before", "1h")
	if err != nil || !strings.Contains(out, "purged 0 events") {
		t.Errorf("purge --before 1h: %v\n%s", err, out)
	}
	out, _, err = run(t, nil, "events", "purge", "--config", path, "--source", "stripe", "--before", "2099-01-01", "--dry-run")
	if err != nil || !strings.Contains(out, "1 events received before 2099-01-01T00:00:00Z would be purged (dry run") {
		t.Errorf("purge --dry-run: %v\n%s", err, out)
	}
	out, _, err = run(t, map[string]string{"USER": "ops"}, "events", "purge", "--config", path, "--source", "stripe", "--before", "2099-01-01", "--json")
	var p hookwatch.Purge
	if err != nil || json.Unmarshal([]byte(out), &p) != nil || p.Events != 1 || p.Actor != "cli:ops" {
		t.Errorf("purge --json: %v\n%s", err, out)
	}

	out, _, err = run(t, nil, "purges", "list", "--config", path, "--json")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Contains(out, subject) {
		t.Fatalf("purges list --json: want 3 records without the subject:\n%s", out)
	}
	var erased hookwatch.Purge
	json.Unmarshal([]byte(lines[2]), &erased)
	if erased.Kind != hookwatch.PurgeErasure || erased.Actor != "cli:dpo" || erased.Events != 2 || !strings.HasPrefix(erased.Filter.SubjectHash, "hmac-sha256:") {
		t.Errorf("the erasure record: %+v", erased)
	}
	out, _, err = run(t, nil, "purges", "list", "--config", path)
	if err != nil || !strings.Contains(out, "KIND") || !strings.Contains(out, "subject=hmac-sha256:") || !strings.Contains(out, "source=stripe before=2099-01-01T00:00:00Z") {
		t.Errorf("purges list: %v\n%s", err, out)
	}
	out, stderr, err := run(t, nil, "replays", "list", "--config", path)
	if err != nil || !strings.Contains(out, "ACTOR") || !strings.Contains(stderr, "no replays recorded") {
		t.Errorf("replays list: %v\n%s%s", err, out, stderr)
	}
	for _, cmd := range [][]string{{"erase"}, {"events", "purge"}, {"purges", "list"}, {"replays", "list"}} {
		_, stderr, err := run(t, nil, append(cmd, "--help")...)
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "Usage: hookwatch "+strings.Join(cmd, " ")) || !strings.Contains(stderr, "-json") {
			t.Errorf("%s --help: %v\n%s", strings.Join(cmd, " "), err, stderr)
		}
	}
}
