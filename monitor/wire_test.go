package monitor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/monitor"
)

// rawSentry keeps the envelopes it is sent, as bytes.
type rawSentry struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *rawSentry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.buf.Write(b)
	s.buf.WriteByte('\n')
	s.mu.Unlock()
}

func (s *rawSentry) has(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Contains(s.buf.Bytes(), []byte(sub))
}

// A client that hangs up before the commit is not an error event; a store
// failure logged the same way is.
func TestClientHangUpIsNotAnErrorEvent(t *testing.T) {
	rs := &rawSentry{}
	srv := httptest.NewServer(rs)
	defer srv.Close()
	m, err := monitor.New(monitor.Options{DSN: strings.Replace(srv.URL, "http://", "http://k@", 1) + "/1", Environment: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	log := m.Logger(slog.DiscardHandler)
	log.Error("event not committed: answering 503 so the provider retries", "source", "stripe",
		"error", fmt.Errorf("ingest: request cancelled before commit: %w", context.Canceled))
	log.Error("event not committed: answering 503 so the provider retries", "source", "stripe",
		"error", errors.New("sqlite: disk I/O error"))
	if !m.Flush(5 * time.Second) {
		t.Fatal("not flushed")
	}
	if !rs.has("disk I/O error") {
		t.Fatal("the store failure was not sent")
	}
	if rs.has("cancelled before commit") {
		t.Error("a client hanging up before the commit was sent as an error event")
	}
}

// A destination header's credential is scrubbed on its own too: "Bearer
// T" and "Basic base64(user:password)" leave neither T nor the password.
func TestSecretHeaderPartsScrubbed(t *testing.T) {
	rs := &rawSentry{}
	srv := httptest.NewServer(rs)
	defer srv.Close()
	const token, pass = "tok_unit_7f6e5d4c3b2a", "pa55w0rd-unit"
	m, err := monitor.New(monitor.Options{DSN: strings.Replace(srv.URL, "http://", "http://k@", 1) + "/1", Environment: "staging",
		Secrets: []string{"Bearer " + token, "Basic dXNlcjpwYTU1dzByZC11bml0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.ReportError(context.Background(), fmt.Errorf("the app said: token %s rejected, and %s too", token, pass))
	m.Flush(5 * time.Second)
	if !rs.has("the app said") {
		t.Fatal("nothing sent")
	}
	if rs.has(token) || rs.has(pass) {
		t.Error("a credential of a header value reached Sentry")
	}
}

// Records logged without a request's or a job's context are not one trace
// per process: each is a trace of its own.
func TestContextlessLogsAreSeparateTraces(t *testing.T) {
	rs := &rawSentry{}
	srv := httptest.NewServer(rs)
	defer srv.Close()
	m, err := monitor.New(monitor.Options{DSN: strings.Replace(srv.URL, "http://", "http://k@", 1) + "/1", Environment: "staging", Logs: true})
	if err != nil {
		t.Fatal(err)
	}
	log := m.Logger(slog.DiscardHandler)
	log.Warn("first unrelated record")
	log.Warn("second unrelated record")
	m.Close()
	rs.mu.Lock()
	raw := rs.buf.String()
	rs.mu.Unlock()
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`"trace_id":"([0-9a-f]{32})"[^{}]*"body":"(first|second) unrelated record"`).FindAllStringSubmatch(raw, -1) {
		ids[m[1]] = true
	}
	if len(ids) != 2 {
		t.Fatalf("two unrelated records in %d traces, want 2:\n%s", len(ids), raw)
	}
}
