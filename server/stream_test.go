package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/server"
	"github.com/hookwatch/hookwatch/sqlite"
)

const streamToken = "stream-test-admin-token"

// streamSetup is a running admin API over an encrypted SQLite store, with
// the receive path's committer notifying the streams as serve wires it.
type streamSetup struct {
	url       string
	store     *sqlite.Store
	committer *ingest.Committer
	logs      *logCapture
}

func newStreamSetup(t *testing.T, so server.StreamOptions) *streamSetup {
	t.Helper()
	key := bytes.Repeat([]byte{7}, 32)
	cipher, err := encrypt.New([][]byte{key}, false)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hw.db"), sqlite.WithCipher(cipher))
	if err != nil {
		t.Fatal(err)
	}
	events := new(hookwatch.Broadcaster)
	committer := ingest.NewCommitter(store, 64, func(b ingest.Batch) {
		if b.Err == nil {
			events.Notify()
		}
	})
	logs := &logCapture{}
	srv := server.New(server.Options{Store: store, AdminToken: streamToken, Events: events, Stream: so,
		Logger: slog.New(logs)})
	ts := httptest.NewServer(srv.Admin())
	t.Cleanup(func() {
		srv.CloseStreams()
		ts.Close()
		committer.Close()
		store.Close()
	})
	return &streamSetup{url: ts.URL, store: store, committer: committer, logs: logs}
}

// A settle delay well above a commit's time on a loaded machine.
var testStream = server.StreamOptions{Poll: 50 * time.Millisecond, Settle: 300 * time.Millisecond}

// commit stores one event through the committer, as ingest does, and
// returns its ID.
func (s *streamSetup) commit(t *testing.T, source, typ string, body []byte) string {
	t.Helper()
	e := &hookwatch.Event{ID: hookwatch.NewID("evt", time.Now()), Source: source, Provider: "standard", Type: typ,
		Headers: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer provider-credential"}, "Webhook-Id": {"msg_1"}},
		Body:    body, ReceivedAt: time.Now().UTC(), Test: strings.HasPrefix(typ, "test.")}
	if _, err := s.committer.Commit(context.Background(), e); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return e.ID
}

// stream is an open GET /api/events/stream.
type stream struct {
	resp *http.Response
	r    *bufio.Reader
}

func (s *streamSetup) open(t *testing.T, query, lastEventID string) *stream {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+"/api/events/stream"+query, nil)
	req.Header.Set("Authorization", "Bearer "+streamToken)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("stream: %s %s", resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q, want text/event-stream", ct)
	}
	st := &stream{resp: resp, r: bufio.NewReader(resp.Body)}
	t.Cleanup(st.close)
	return st
}

func (st *stream) close() { st.resp.Body.Close() }

// next returns the next message that is not a heartbeat nor the start
// cursor.
func (st *stream) next(t *testing.T) server.StreamMessage {
	t.Helper()
	for {
		m, err := server.ReadStreamMessage(st.r)
		if err != nil {
			t.Fatalf("read stream: %v", err)
		}
		if !m.Comment && m.Event != "" {
			return m
		}
	}
}

// events reads n event messages and returns them decoded.
func (st *stream) events(t *testing.T, n int) []server.StreamEvent {
	t.Helper()
	var out []server.StreamEvent
	for len(out) < n {
		m := st.next(t)
		if m.Event != "event" {
			t.Fatalf("message %q (%s), want an event", m.Event, m.Data)
		}
		var e server.StreamEvent
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatalf("event data %s: %v", m.Data, err)
		}
		if m.ID != e.ID {
			t.Fatalf("message id %q for event %s", m.ID, e.ID)
		}
		out = append(out, e)
	}
	return out
}

func ids(es []server.StreamEvent) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// Events committed while a client is connected arrive once each, in
// receive order, decrypted, with credentials redacted and the test flag,
// even when concurrent requests commit in batches out of receive order.
func TestStreamDeliversCommittedEventsOnceInOrder(t *testing.T) {
	t.Parallel()
	s := newStreamSetup(t, testStream)
	st := s.open(t, "", "")

	var mu sync.Mutex
	var want []string
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				typ := "invoice.paid"
				if g == 0 && i == 0 {
					typ = "test.ping"
				}
				id := s.commit(t, "billing", typ, fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i))
				mu.Lock()
				want = append(want, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	got := st.events(t, 40)
	slices.Sort(want)
	if !slices.Equal(ids(got), want) {
		t.Fatalf("received %v\nwant (receive order) %v", ids(got), want)
	}
	tests := 0
	for _, e := range got {
		if e.Source != "billing" || !strings.HasPrefix(e.Body, `{"g":`) {
			t.Errorf("event %s: source %q body %q", e.ID, e.Source, e.Body)
		}
		if a := e.Headers.Get("Authorization"); a != hookwatch.Redacted {
			t.Errorf("event %s: Authorization %q, want it redacted", e.ID, a)
		}
		if e.Headers.Get("Content-Type") != "application/json" {
			t.Errorf("event %s: Content-Type %q", e.ID, e.Headers.Get("Content-Type"))
		}
		if e.Test != (e.Type == "test.ping") {
			t.Errorf("event %s (%s): test %v", e.ID, e.Type, e.Test)
		}
		if e.Test {
			tests++
		}
	}
	if tests != 1 {
		t.Errorf("%d test events, want 1", tests)
	}
	// Nothing more than the 40: the next message is the next event.
	last := s.commit(t, "billing", "invoice.paid", []byte(`{}`))
	if e := st.events(t, 1)[0]; e.ID != last {
		t.Errorf("after the 40: event %s, want %s (a repeat or a stray)", e.ID, last)
	}
}

// A client that disconnects and comes back with Last-Event-ID gets every
// event after the one it saw, committed while it was away or after, once.
func TestStreamResumeWithLastEventID(t *testing.T) {
	t.Parallel()
	s := newStreamSetup(t, testStream)
	st := s.open(t, "", "")
	var all []string
	for i := range 10 {
		all = append(all, s.commit(t, "billing", "invoice.paid", fmt.Appendf(nil, `{"n":%d}`, i)))
	}
	seen := st.events(t, 4)
	st.close()
	if !slices.Equal(ids(seen), all[:4]) {
		t.Fatalf("first connection: %v, want %v", ids(seen), all[:4])
	}
	for i := 10; i < 20; i++ {
		all = append(all, s.commit(t, "billing", "invoice.paid", fmt.Appendf(nil, `{"n":%d}`, i)))
	}

	again := s.open(t, "", seen[3].ID)
	got := again.events(t, 16)
	if !slices.Equal(ids(got), all[4:]) {
		t.Fatalf("resumed after %s: %v\nwant %v", seen[3].ID, ids(got), all[4:])
	}
	for i, e := range got {
		if want := fmt.Sprintf(`{"n":%d}`, i+4); e.Body != want {
			t.Errorf("event %s: body %s, want %s", e.ID, e.Body, want)
		}
	}
	live := s.commit(t, "billing", "invoice.paid", []byte(`{"n":"live"}`))
	if e := again.events(t, 1)[0]; e.ID != live {
		t.Errorf("after catching up: %s, want the live event %s", e.ID, live)
	}
}

// logCapture is a slog handler that keeps the messages logged.
type logCapture struct {
	mu   sync.Mutex
	msgs []string
	ch   chan struct{}
}

func (l *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCapture) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logCapture) WithGroup(string) slog.Handler            { return l }
func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	if l.ch != nil && strings.Contains(r.Message, "too slowly") {
		close(l.ch)
		l.ch = nil
	}
	return nil
}

// A client that stops reading is cut off once its buffer stays full: it
// then reads what was sent, a "behind" message with the ID to resume from,
// and the end of the stream; resuming there misses nothing. Meanwhile
// every commit went through: the slow client never held ingest back.
func TestStreamSlowClientCutOffWithResumeHint(t *testing.T) {
	t.Parallel()
	so := testStream
	so.Buffer, so.BufferBytes, so.Stall = 4, 256<<10, 200*time.Millisecond
	s := newStreamSetup(t, so)
	behind := make(chan struct{})
	s.logs.mu.Lock()
	s.logs.ch = behind
	s.logs.mu.Unlock()

	st := s.open(t, "", "")
	// Far more than the socket buffers and the stream's buffer hold: the
	// client reads nothing while they are committed.
	body := bytes.Repeat([]byte("x"), 32<<10)
	var all []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	// Commit until the server cuts the client off (how much the loopback
	// socket buffers absorb first depends on the kernel's autotuning), at
	// most 8 × 96 events of 32 KiB.
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 96 {
				select {
				case <-behind:
					return
				default:
				}
				id := s.commit(t, "billing", "invoice.paid", fmt.Appendf(bytes.Clone(body), "%d", g*96+i))
				mu.Lock()
				all = append(all, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(all)
	select {
	case <-behind: // the server logged that it cut the client off
	case <-time.After(60 * time.Second):
		t.Fatalf("the server never cut off a client that read nothing while %d events of 32 KiB were committed", len(all))
	}

	var got []string
	var m server.StreamMessage
	for {
		m = st.next(t)
		if m.Event != "event" {
			break
		}
		var e server.StreamEvent
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatal(err)
		}
		got = append(got, e.ID)
	}
	if m.Event != "behind" {
		t.Fatalf("message %q %s, want behind", m.Event, m.Data)
	}
	var b server.StreamBehind
	if err := json.Unmarshal(m.Data, &b); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || len(got) >= len(all) || !slices.Equal(got, all[:len(got)]) {
		t.Fatalf("before behind: %d events (want a prefix in order of the %d)", len(got), len(all))
	}
	if b.ResumeFrom != got[len(got)-1] {
		t.Errorf("resume_from %s, want the last event received %s", b.ResumeFrom, got[len(got)-1])
	}
	if _, err := server.ReadStreamMessage(st.r); err != io.EOF {
		t.Errorf("after behind: %v, want the end of the stream", err)
	}

	again := s.open(t, "", b.ResumeFrom)
	rest := again.events(t, len(all)-len(got))
	if !slices.Equal(ids(rest), all[len(got):]) {
		t.Errorf("resumed: %d events, not the %d after %s in order", len(rest), len(all)-len(got), b.ResumeFrom)
	}
}

// Heartbeats keep an idle stream open; the filters select by source and
// type pattern; since= and last= start in the past.
func TestStreamFiltersHeartbeatAndStart(t *testing.T) {
	t.Parallel()
	so := testStream
	so.Heartbeat = 20 * time.Millisecond
	s := newStreamSetup(t, so)
	st := s.open(t, "", "")
	m, err := server.ReadStreamMessage(st.r)
	if err != nil || m.Event != "" || !strings.HasPrefix(m.ID, "evt_") {
		t.Fatalf("first message: %+v %v, want the start cursor", m, err)
	}
	m, err = server.ReadStreamMessage(st.r)
	if err != nil || !m.Comment {
		t.Fatalf("idle stream: %+v %v, want a heartbeat comment", m, err)
	}

	a := s.commit(t, "billing", "invoice.paid", []byte(`{"a":1}`))
	s.commit(t, "billing", "customer.created", []byte(`{}`))
	s.commit(t, "code", "invoice.paid", []byte(`{}`))
	b := s.commit(t, "billing", "invoice.failed", []byte(`{"b":2}`))
	c := s.commit(t, "billing", "invoice.paid", []byte(`{"c":3}`))

	filtered := s.open(t, "?source=billing&type=invoice.*&since=1h", "")
	if got := ids(filtered.events(t, 3)); !slices.Equal(got, []string{a, b, c}) {
		t.Errorf("source=billing type=invoice.*: %v, want %v", got, []string{a, b, c})
	}
	exact := s.open(t, "?type=invoice.failed&since=1h", "")
	if got := ids(exact.events(t, 1)); got[0] != b {
		t.Errorf("type=invoice.failed: %v, want %s", got, b)
	}
	last := s.open(t, "?source=billing&last=2", "")
	if got := ids(last.events(t, 2)); !slices.Equal(got, []string{b, c}) {
		t.Errorf("last=2: %v, want %v", got, []string{b, c})
	}
}

// The stream is behind the admin token like the rest of the API, and
// refuses parameters it cannot follow.
func TestStreamRefusals(t *testing.T) {
	t.Parallel()
	s := newStreamSetup(t, testStream)
	cases := []struct {
		name, query, auth, lastID string
		want                      int
	}{
		{"no token", "", "", "", http.StatusUnauthorized},
		{"wrong token", "", "Bearer nope", "", http.StatusUnauthorized},
		{"bad Last-Event-ID", "", "Bearer " + streamToken, "42", http.StatusBadRequest},
		{"bad pattern", "?type=invoice.[", "Bearer " + streamToken, "", http.StatusBadRequest},
		{"since and last", "?since=1h&last=3", "Bearer " + streamToken, "", http.StatusBadRequest},
		{"bad last", "?last=0", "Bearer " + streamToken, "", http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.url+"/api/events/stream"+tc.query, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.lastID != "" {
				req.Header.Set("Last-Event-ID", tc.lastID)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
				t.Errorf("%s %s: %s, want %d and a JSON error", resp.Status, resp.Header.Get("Content-Type"), body, tc.want)
			}
		})
	}
}

// A stream outlives the admin listener's read and write timeouts (which
// bound ordinary requests): it clears the read deadline and gives each
// write its own.
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	t.Parallel()
	so := testStream
	so.Heartbeat = 50 * time.Millisecond
	s := newStreamSetup(t, so)
	srv := server.New(server.Options{Store: s.store, AdminToken: streamToken, Stream: so})
	hs := httptest.NewUnstartedServer(srv.Admin())
	hs.Config.ReadTimeout, hs.Config.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond
	hs.Start()
	t.Cleanup(func() { srv.CloseStreams(); hs.Close() })
	st := (&streamSetup{url: hs.URL}).open(t, "", "")
	time.Sleep(time.Second) // five times both timeouts
	id := s.commit(t, "billing", "invoice.paid", []byte(`{}`))
	if got := st.events(t, 1)[0].ID; got != id {
		t.Errorf("after the timeouts: %s, want %s", got, id)
	}
}
