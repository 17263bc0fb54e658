package monitor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/monitor"
	"github.com/hookwatch/hookwatch/monitor/monitortest"
)

// Without a DSN nothing is sent and the middleware is the handler itself:
// the disabled monitor costs the receive path nothing.
func TestDisabledMonitorIsFree(t *testing.T) {
	m, err := monitor.New(monitor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Enabled() || m.Tracer() != nil || m.Observer() != nil {
		t.Fatalf("a monitor without a DSN is enabled (tracer %v, observer %v)", m.Tracer(), m.Observer())
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	if fmt.Sprintf("%p", m.Ingest(h)) != fmt.Sprintf("%p", h) {
		t.Errorf("the disabled monitor wraps the ingest handler")
	}
	m.ReportError(context.Background(), errors.New("boom")) // must not panic
	var nilMonitor *monitor.Monitor
	nilMonitor.ReportError(context.Background(), errors.New("boom"))
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// An internal error reaches Sentry through the real SDK with the configured
// secrets scrubbed out of every part of the envelope.
func TestReportErrorScrubsSecrets(t *testing.T) {
	const secret = "whsec_do_not_leak_4f1d9a"
	rc := monitortest.New(t)
	m, err := monitor.New(monitor.Options{DSN: rc.DSN(), Environment: "staging", Secrets: []string{secret}, FlushTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cause := fmt.Errorf("sqlite: insert event: %w", &hookwatch.Error{Code: hookwatch.EINTERNAL,
		Err: fmt.Errorf("constraint failed while verifying with %s", secret)})
	m.ReportError(context.Background(), cause)
	if !m.Flush(5 * time.Second) {
		t.Fatal("the SDK did not send within 5s")
	}
	ev := rc.Wait(t, 5*time.Second, "event", nil)
	if got := monitortest.Str(ev.JSON, "environment"); got != "staging" {
		t.Errorf("environment = %q, want staging", got)
	}
	if got := monitortest.Str(ev.JSON, "tags", "error_code"); got != hookwatch.EINTERNAL {
		t.Errorf("error_code tag = %q, want %q", got, hookwatch.EINTERNAL)
	}
	if bytes.Contains(rc.Raw(), []byte(secret)) {
		t.Errorf("the secret reached Sentry:\n%s", rc.Raw())
	}
	if !bytes.Contains(ev.Raw, []byte("constraint failed")) {
		t.Errorf("the error's own words were scrubbed too: %s", ev.Raw)
	}
	m.Close()
}

// A panic in a handler is answered 500, reported with its stack, and does
// not take the server down.
func TestRecoverReportsPanics(t *testing.T) {
	rc := monitortest.New(t)
	m, err := monitor.New(monitor.Options{DSN: rc.DSN(), Environment: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	h := m.Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("nil map write in handler")
	}), nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	for range 2 {
		resp, err := http.Get(srv.URL + "/api/events")
		if err != nil {
			t.Fatalf("the server went down after a panic: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("status after a panic = %d, want 500", resp.StatusCode)
		}
	}
	m.Flush(5 * time.Second)
	rc.Wait(t, 5*time.Second, "event", func(it monitortest.Item) bool {
		return bytes.Contains(it.Raw, []byte("nil map write in handler"))
	})
}

// The values packages take are nil without a DSN (so they report nothing
// and a job just runs), and with one they reach Sentry: an internal error
// through the Reporter, and each run of a job through CheckIns as an
// in_progress check-in with the job's schedule, then its outcome.
func TestReporterAndCheckInsAsValues(t *testing.T) {
	off, err := monitor.New(monitor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if off.Reporter() != nil || off.CheckIns() != nil {
		t.Fatal("a monitor without a DSN returns a reporter or a check-in")
	}
	ran := false
	if err := off.CheckIns().Run(context.Background(), hookwatch.Job{Slug: "x", Every: time.Minute}, func(context.Context) error {
		ran = true
		return nil
	}); err != nil || !ran {
		t.Fatalf("the nil check-in did not just run the job: ran %v, err %v", ran, err)
	}

	rc := monitortest.New(t)
	m, err := monitor.New(monitor.Options{DSN: rc.DSN(), Environment: "staging", FlushTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Reporter().Report(context.Background(), &hookwatch.Error{Code: hookwatch.EINTERNAL, Message: "disk on fire"})
	failed := errors.New("prune failed")
	job := hookwatch.Job{Slug: "hookwatch-test-job", Every: 2 * time.Hour}
	if err := m.CheckIns().Run(context.Background(), job, func(context.Context) error { return failed }); err != failed {
		t.Errorf("the check-in returned %v, want the job's own error", err)
	}
	m.Flush(5 * time.Second)
	rc.Wait(t, 5*time.Second, "event", func(it monitortest.Item) bool {
		return bytes.Contains(it.Raw, []byte("disk on fire"))
	})
	start := rc.Wait(t, 5*time.Second, "check_in", func(it monitortest.Item) bool {
		return monitortest.Str(it.JSON, "monitor_slug") == job.Slug && monitortest.Str(it.JSON, "status") == "in_progress"
	}).JSON
	if unit := monitortest.Str(start, "monitor_config", "schedule", "unit"); unit != "hour" {
		t.Errorf("schedule unit %q, want hour (every 2h): %v", unit, start)
	}
	if v := monitortest.Get(start, "monitor_config", "schedule", "value"); fmt.Sprint(v) != "2" {
		t.Errorf("schedule value %v, want 2", v)
	}
	rc.Wait(t, 5*time.Second, "check_in", func(it monitortest.Item) bool {
		return monitortest.Str(it.JSON, "monitor_slug") == job.Slug && monitortest.Str(it.JSON, "status") == "error"
	})
}
