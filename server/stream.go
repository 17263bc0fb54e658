package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookwatch/hookwatch"
)

// The event stream, GET /api/events/stream: Server-Sent Events, one
// message per committed event, read from the store after the client's
// cursor. Resuming (Last-Event-ID) and following live are one code path:
// the stream pages the store forward from its cursor (EventFilter.After),
// and a commit only wakes it (Options.Events, a Broadcaster the committer
// pokes without blocking) to read again sooner than its poll. The poll
// alone serves the events other instances commit on a shared PostgreSQL.
//
// Events are read in ID order (receive order), but a commit may finish
// after that of an event received later (concurrent requests, batches in
// flight together): a cursor that had passed the later one would skip the
// earlier. So the stream only reads events received more than Settle ago,
// by when their commits have finished; a stream is that much behind live.

// StreamOptions tune the event stream. Zero fields take the defaults.
type StreamOptions struct {
	// Heartbeat is how often an idle stream sends a comment line, so that
	// proxies keep it open and a client can tell a quiet stream from a dead
	// one (15s).
	Heartbeat time.Duration
	// Poll is how often a stream reads the store without being woken: what
	// brings another instance's events (1s).
	Poll time.Duration
	// Settle is how long after an event's receipt the stream waits before
	// reading past it (1s): longer than a commit takes, so that no event
	// received earlier is still committing when the cursor passes it.
	Settle time.Duration
	// Buffer and BufferBytes bound what is read ahead of a client, per
	// client (256 events, 4 MiB; one event beyond the bytes if it alone is
	// larger).
	Buffer      int
	BufferBytes int
	// Stall is how long a full buffer may wait for the client to take
	// something (10s). Then the client is behind: it gets what is buffered,
	// a "behind" message naming the ID to resume from, and the stream ends.
	Stall time.Duration
	// WriteTimeout bounds each write to the client (60s): a client that
	// stops reading altogether is disconnected.
	WriteTimeout time.Duration
}

func (o StreamOptions) withDefaults() StreamOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Heartbeat, 15*time.Second)
	def(&o.Poll, time.Second)
	def(&o.Settle, time.Second)
	def(&o.Stall, 10*time.Second)
	def(&o.WriteTimeout, 60*time.Second)
	if o.Buffer <= 0 {
		o.Buffer = 256
	}
	if o.BufferBytes <= 0 {
		o.BufferBytes = 4 << 20
	}
	return o
}

// StreamEvent is the data of a stream's "event" message: the event as GET
// /api/events/{id} shows it (headers with credentials redacted, the exact
// body, as text or hex), with its test flag always present.
type StreamEvent struct {
	Event
	// Test is set for test events (a provider's test mode, hookwatch
	// send), which a developer may want to tell from production ones.
	Test bool `json:"test"`
}

// StreamBehind is the data of a "behind" message: the client read too
// slowly, the stream ends, and a new one with Last-Event-ID: ResumeFrom
// continues with no gap.
type StreamBehind struct {
	ResumeFrom string `json:"resume_from"`
	Message    string `json:"message"`
}

// StreamError is the data of an "error" message: the stream could not
// read the store and ends; resume from ResumeFrom.
type StreamError struct {
	Error      string `json:"error"`
	Message    string `json:"message"`
	ResumeFrom string `json:"resume_from"`
}

// streamPage is how many events one store read takes.
const streamPage = 100

// lastScan bounds how many events ?last=N looks through for N matches of
// a type pattern.
const lastScan = 10000

// streams ends every open stream when the server shuts down
// (CloseStreams): http.Server.Shutdown waits for handlers, and a stream
// would never return on its own.
type streams struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
}

func (s *Server) streamsCtx() context.Context {
	s.streams.once.Do(func() { s.streams.ctx, s.streams.cancel = context.WithCancel(context.Background()) })
	return s.streams.ctx
}

// CloseStreams ends every event stream (clients reconnect and resume):
// call it before, or register it with, the admin http.Server's Shutdown
// (RegisterOnShutdown).
func (s *Server) CloseStreams() {
	s.streamsCtx()
	s.streams.cancel()
}

// streamFilter is what a stream sends: a source, and a type or a type
// pattern (path.Match: "invoice.*").
type streamFilter struct {
	source, typ string
	glob        bool
}

func (f streamFilter) store() hookwatch.EventFilter {
	ef := hookwatch.EventFilter{Source: f.source, Limit: streamPage}
	if !f.glob {
		ef.Type = f.typ
	}
	return ef
}

func (f streamFilter) match(e *hookwatch.Event) bool {
	if !f.glob {
		return true // the store filtered
	}
	ok, _ := path.Match(f.typ, e.Type)
	return ok
}

// streamEvents serves GET /api/events/stream (source, type, since, last;
// Last-Event-ID).
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) {
	o := s.opts.Stream.withDefaults()
	q := r.URL.Query()
	f := streamFilter{source: q.Get("source"), typ: q.Get("type")}
	if strings.ContainsAny(f.typ, `*?[\`) {
		if _, err := path.Match(f.typ, ""); err != nil {
			s.error(w, r, hookwatch.Errorf(hookwatch.EINVALID, "type %q: not a valid pattern (use * and ?, as in invoice.*)", f.typ))
			return
		}
		f.glob = true
	}
	cursor, err := s.streamStart(r, q, f, o)
	if err != nil {
		s.error(w, r, err)
		return
	}

	rc := http.NewResponseController(w)
	// The server's read timeout would end the request (and cancel its
	// context) while the stream is open; writes get a deadline each.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.streamsCtx(), cancel)
	defer stop()
	var wake <-chan struct{}
	if s.opts.Events != nil {
		wake = s.opts.Events.Subscribe(ctx)
	}
	buf := newStreamBuffer(o.Buffer, o.BufferBytes)
	var fetching sync.WaitGroup
	fetching.Add(1)
	go func() {
		defer fetching.Done()
		defer buf.close()
		s.fetch(ctx, buf, f, cursor, wake, o)
	}()
	defer fetching.Wait()
	defer cancel()

	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(o.WriteTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// A retry hint for EventSource clients, and the start cursor as an id
	// alone (no event): a client that reconnects before any event came
	// resumes from there, not from a later "now".
	if !write([]byte("retry: 2000\nid: " + cursor + "\n\n")) {
		return
	}
	heartbeat := time.NewTicker(o.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-buf.ready:
			frames, last, done := buf.take()
			var out []byte
			for _, fr := range frames {
				out = append(out, fr...)
			}
			if len(out) > 0 && !write(out) {
				return
			}
			if done {
				if last != nil {
					write(last)
				}
				return
			}
		case <-heartbeat.C:
			if !write([]byte(": heartbeat\n\n")) {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// streamStart returns the cursor a stream starts after: the client's
// Last-Event-ID, else the event before the window since= or last= asks
// for, else now (events received from now on).
func (s *Server) streamStart(r *http.Request, q url.Values, f streamFilter, o StreamOptions) (string, error) {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if !validEventID(id) {
			return "", hookwatch.Errorf(hookwatch.EINVALID, "Last-Event-ID %q is not an event ID (evt_ and 26 characters)", id)
		}
		return id, nil
	}
	now := s.opts.Now()
	since, last := q.Get("since"), q.Get("last")
	if since != "" && last != "" {
		return "", hookwatch.Errorf(hookwatch.EINVALID, "since and last: give one of them, not both")
	}
	if since != "" {
		t, err := ParseTime("since", since, now)
		if err != nil {
			return "", err
		}
		return hookwatch.IDFloor("evt", t), nil
	}
	if last != "" {
		n, err := strconv.Atoi(last)
		if err != nil || n < 1 || n > MaxLimit {
			return "", hookwatch.Errorf(hookwatch.EINVALID, "last %q: use a number from 1 to %d", last, MaxLimit)
		}
		return s.lastCursor(r.Context(), f, n, now.Add(-o.Settle))
	}
	return hookwatch.IDFloor("evt", now), nil
}

// minCursor sorts below every event ID (the floor of the Unix epoch): a
// stream after it starts with the oldest event.
var minCursor = hookwatch.IDFloor("evt", time.UnixMilli(0))

// lastCursor returns the cursor after which the n newest events matching f
// (received before horizon) come: the ID of the one before them.
func (s *Server) lastCursor(ctx context.Context, f streamFilter, n int, horizon time.Time) (string, error) {
	ef := f.store()
	ef.Before = hookwatch.IDFloor("evt", horizon)
	found, scanned := 0, 0
	for scanned < lastScan {
		ef.Limit = streamPage
		page, err := s.opts.Store.ListEvents(ctx, ef)
		if err != nil {
			return "", err
		}
		for _, e := range page {
			if found == n {
				return e.ID, nil // the one before the n newest
			}
			if f.match(e) {
				found++
			}
		}
		if len(page) < streamPage {
			return minCursor, nil
		}
		scanned += len(page)
		ef.Before = page[len(page)-1].ID
	}
	// Too many non-matching events: start where the scan stopped.
	return ef.Before, nil
}

func validEventID(id string) bool {
	rest, ok := strings.CutPrefix(id, "evt_")
	if !ok || len(rest) != 26 {
		return false
	}
	for _, c := range rest {
		if !strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", c) {
			return false
		}
	}
	return true
}

// fetch reads the store after cursor into buf until ctx is done, the
// client falls behind or a read fails.
func (s *Server) fetch(ctx context.Context, buf *streamBuffer, f streamFilter, cursor string, wake <-chan struct{}, o StreamOptions) {
	sent := cursor // the last event handed to the client: where it resumes
	poll := time.NewTimer(0)
	defer poll.Stop()
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-wake:
			if !ok {
				wake = nil
				continue
			}
			// The new events become readable once settled (and a
			// millisecond: the bound is an ID floor, exclusive).
			if settle == nil {
				settle = time.After(o.Settle + 2*time.Millisecond)
			}
			continue
		case <-settle:
			settle = nil
		case <-poll.C:
		}
		for {
			ef := f.store()
			ef.After = cursor
			ef.Before = hookwatch.IDFloor("evt", s.opts.Now().Add(-o.Settle))
			page, err := s.opts.Store.ListEvents(ctx, ef)
			if err != nil {
				if ctx.Err() == nil {
					buf.finish(frame("error", "", StreamError{Error: hookwatch.ErrorCode(err), Message: hookwatch.ErrorMessage(err), ResumeFrom: sent}))
				}
				return
			}
			for _, e := range page {
				cursor = e.ID
				if !f.match(e) {
					continue
				}
				fr := frame("event", e.ID, StreamEvent{Event: NewEvent(e, true), Test: e.Test})
				if !buf.put(ctx, fr, o.Stall) {
					if ctx.Err() == nil {
						s.opts.Logger.Info("event stream: a client read too slowly and is disconnected; it can resume", "resume_from", sent)
						buf.finish(frame("behind", "", StreamBehind{ResumeFrom: sent,
							Message: "this client read too slowly and fell behind: reconnect with Last-Event-ID: " + sent + " to continue with no gap"}))
					}
					return
				}
				sent = e.ID
			}
			if len(page) < streamPage {
				break
			}
		}
		poll.Reset(o.Poll)
	}
}

// frame is one SSE message: an id line when id is set, the event name and
// the JSON data on one line.
func frame(event, id string, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil { // the types above always marshal
		data = []byte(`{}`)
	}
	var b bytes.Buffer
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", event, data)
	return b.Bytes()
}

// streamBuffer is what a stream has read ahead of its client: at most max
// frames and maxBytes bytes. The fetcher puts, the writer takes.
type streamBuffer struct {
	mu            sync.Mutex
	frames        [][]byte
	bytes         int
	max, maxBytes int
	last          []byte // the final message (behind, error)
	done          bool
	ready         chan struct{} // something to take (or done)
	room          chan struct{} // something was taken
}

func newStreamBuffer(max, maxBytes int) *streamBuffer {
	return &streamBuffer{max: max, maxBytes: maxBytes, ready: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// put adds fr, waiting up to stall for room; false when there was none
// (or ctx ended).
func (b *streamBuffer) put(ctx context.Context, fr []byte, stall time.Duration) bool {
	var timer *time.Timer
	for {
		b.mu.Lock()
		if len(b.frames) == 0 || len(b.frames) < b.max && b.bytes+len(fr) <= b.maxBytes {
			b.frames = append(b.frames, fr)
			b.bytes += len(fr)
			b.mu.Unlock()
			signal(b.ready)
			if timer != nil {
				timer.Stop()
			}
			return true
		}
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(stall)
			defer timer.Stop()
		}
		select {
		case <-b.room:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// finish ends the buffer with a final message, sent after what is
// buffered.
func (b *streamBuffer) finish(last []byte) {
	b.mu.Lock()
	b.last, b.done = last, true
	b.mu.Unlock()
	signal(b.ready)
}

// close ends the buffer (the fetcher returned).
func (b *streamBuffer) close() {
	b.mu.Lock()
	b.done = true
	b.mu.Unlock()
	signal(b.ready)
}

// take returns every buffered frame, the final message and whether the
// buffer is done.
func (b *streamBuffer) take() (frames [][]byte, last []byte, done bool) {
	b.mu.Lock()
	frames, b.frames, b.bytes = b.frames, nil, 0
	last, done = b.last, b.done
	b.mu.Unlock()
	signal(b.room)
	return frames, last, done
}

// StreamMessage is one message of the event stream as a client reads it
// (ReadStreamMessage): an "event", "behind" or "error" message, a
// heartbeat (Comment set), or the stream's start cursor (an ID without an
// event: where to resume if no event comes before a reconnect).
type StreamMessage struct {
	ID, Event string
	Data      []byte
	Comment   bool
}

// MaxStreamLine bounds one line a stream reader accepts (an event's data:
// its body as text or hex, in JSON): a server cannot make a client hold
// more.
const MaxStreamLine = 64 << 20

// ReadStreamMessage reads the next message from an event stream (the
// Server-Sent Events format: "field: value" lines, a blank line ending a
// message, ":" starting a comment). It returns io.EOF at the end of the
// stream, io.ErrUnexpectedEOF if it ends inside a message.
func ReadStreamMessage(r *bufio.Reader) (StreamMessage, error) {
	var m StreamMessage
	started := false
	for {
		line, err := readLine(r)
		if err != nil {
			if err == io.EOF && started {
				return m, io.ErrUnexpectedEOF
			}
			return m, err
		}
		if len(line) == 0 {
			if started {
				return m, nil
			}
			continue
		}
		if line[0] == ':' {
			if !started {
				return StreamMessage{Comment: true, Data: bytes.TrimSpace(line[1:])}, nil
			}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			m.ID, started = string(value), true
		case "event":
			m.Event, started = string(value), true
		case "data":
			if m.Data != nil {
				m.Data = append(m.Data, '\n')
			}
			m.Data, started = append(m.Data, value...), true
		}
		// "retry" and unknown fields are ignored, as EventSource does.
	}
}

// readLine reads one line without its line ending, at most MaxStreamLine
// bytes.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) > MaxStreamLine {
			return nil, fmt.Errorf("event stream: a line longer than %d bytes", MaxStreamLine)
		}
		line = append(line, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")), nil
	}
}
