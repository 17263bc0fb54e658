package monitor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// sendOutcome is Sentry's answer to one envelope.
type sendOutcome struct {
	status     int
	retryAfter int
	detail     string // X-Sentry-Error, or the start of the body
	err        error
}

// sendWatch is the SDK's HTTP transport. It passes every request on, and
// looks at the header line of an envelope (never further) for two things
// the SDK does not do:
//
//   - for the envelopes someone watches (SendTest's), it reports Sentry's
//     answer, which the SDK keeps to itself;
//   - for the envelopes of a trace continued from an event (a delivery's
//     transaction, its dead letter), it puts back the trace's dynamic
//     sampling context as the trace's head decided it (sample rate,
//     transaction name): sentry-go rebuilds it from the continuing
//     transaction (Scope.ApplyToEvent), which says sample rate 1 for every
//     continued sampled trace, and Sentry would extrapolate those counts
//     wrongly.
type sendWatch struct {
	next     http.RoundTripper
	mu       sync.Mutex
	watched  map[string]chan sendOutcome
	dsc      map[string]map[string]string // trace ID -> the head's sampling context
	order    []string                     // the trace IDs of dsc, oldest first (a ring of maxTraces)
	nextSlot int
}

// maxTraces bounds the sampling contexts kept: the newest attempts'. An
// envelope is sent within seconds of its attempt, long before its entry is
// overwritten.
const maxTraces = 4096

func (w *sendWatch) watch(id string) <-chan sendOutcome {
	ch := make(chan sendOutcome, 1)
	w.mu.Lock()
	if w.watched == nil {
		w.watched = map[string]chan sendOutcome{}
	}
	w.watched[id] = ch
	w.mu.Unlock()
	return ch
}

func (w *sendWatch) unwatch(id string) {
	w.mu.Lock()
	delete(w.watched, id)
	w.mu.Unlock()
}

// keepDSC remembers the sampling context of a continued trace.
func (w *sendWatch) keepDSC(traceID string, entries map[string]string) {
	if traceID == "" || len(entries) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dsc == nil {
		w.dsc = map[string]map[string]string{}
		w.order = make([]string, maxTraces)
	}
	if _, ok := w.dsc[traceID]; !ok {
		if old := w.order[w.nextSlot]; old != "" {
			delete(w.dsc, old)
		}
		w.order[w.nextSlot] = traceID
		w.nextSlot = (w.nextSlot + 1) % maxTraces
	}
	w.dsc[traceID] = entries
}

// maxEnvelopeHead is the longest envelope header line looked at; a longer
// one goes on untouched.
const maxEnvelopeHead = 4096

func (w *sendWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	w.mu.Lock()
	active := len(w.watched) > 0 || len(w.dsc) > 0
	w.mu.Unlock()
	if !active || r.Body == nil || r.Body == http.NoBody || r.Header.Get("Content-Encoding") != "" {
		return w.next.RoundTrip(r)
	}
	orig := r.Body
	br := bufio.NewReaderSize(orig, maxEnvelopeHead)
	line, err := br.ReadSlice('\n')
	head := append([]byte(nil), line...)
	out, id := head, ""
	if err == nil {
		out, id = w.inspect(head)
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(out), br), orig}
	if d := len(out) - len(head); d != 0 {
		if r.ContentLength > 0 {
			r.ContentLength += int64(d)
		}
		r.GetBody = nil
	}
	w.mu.Lock()
	ch := w.watched[id]
	w.mu.Unlock()
	resp, err := w.next.RoundTrip(r)
	if ch == nil {
		return resp, err
	}
	o := sendOutcome{err: err}
	if err == nil {
		o.status = resp.StatusCode
		o.retryAfter, _ = strconv.Atoi(resp.Header.Get("Retry-After"))
		o.detail = resp.Header.Get("X-Sentry-Error")
		if o.status >= 300 {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(b))
			if o.detail == "" {
				o.detail = strings.TrimSpace(string(b))
			}
		}
	}
	select {
	case ch <- o:
	default:
	}
	return resp, err
}

// inspect reads an envelope header line: its event ID, and the line with
// the trace's sampling context put back when it is a continued trace's.
func (w *sendWatch) inspect(line []byte) ([]byte, string) {
	var h map[string]json.RawMessage
	if json.Unmarshal(line, &h) != nil {
		return line, ""
	}
	var id string
	_ = json.Unmarshal(h["event_id"], &id)
	var tr map[string]any
	if json.Unmarshal(h["trace"], &tr) != nil {
		return line, id
	}
	traceID, _ := tr["trace_id"].(string)
	w.mu.Lock()
	dsc := w.dsc[traceID]
	w.mu.Unlock()
	if dsc == nil {
		return line, id
	}
	b, err := json.Marshal(dsc)
	if err != nil {
		return line, id
	}
	h["trace"] = b
	out, err := json.Marshal(h)
	if err != nil {
		return line, id
	}
	return append(out, '\n'), id
}
