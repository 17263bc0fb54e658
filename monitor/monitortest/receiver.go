// Package monitortest is a Sentry receiver for tests: an httptest server
// that a DSN points at, which parses the envelopes the real SDK sends
// (a header line, then items: an item header line and its payload) and
// keeps every item for assertions. It does not use the SDK, so tests check
// what goes over the wire, not what the SDK meant to send.
package monitortest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Item is one envelope item.
type Item struct {
	// Type is the item type: event, transaction, log, check_in,
	// client_report...
	Type string
	// Header is the envelope's header (event_id, trace...).
	EnvelopeHeader map[string]any
	// Raw is the payload as sent.
	Raw []byte
	// JSON is the payload decoded (nil if it is not JSON).
	JSON map[string]any
}

// Receiver is a fake Sentry.
type Receiver struct {
	*httptest.Server
	mu    sync.Mutex
	items []Item
	raw   [][]byte
	// Handler, if set, answers instead of 200 (429, hangs...); the
	// envelope is recorded first.
	Handler func(w http.ResponseWriter, r *http.Request)
}

// New starts a receiver closed at the end of the test.
func New(t testing.TB) *Receiver {
	rc := &Receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Server.Close)
	return rc
}

// DSN is a DSN pointing at the receiver, project 1.
func (rc *Receiver) DSN() string {
	return strings.Replace(rc.URL, "http://", "http://public@", 1) + "/1"
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	items, err := Parse(body)
	rc.mu.Lock()
	rc.raw = append(rc.raw, body)
	rc.items = append(rc.items, items...)
	rc.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rc.Handler != nil {
		rc.Handler(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{}`)
}

// Parse splits an envelope into its items.
func Parse(b []byte) ([]Item, error) {
	rd := bufio.NewReader(bytes.NewReader(b))
	line, err := rd.ReadBytes('\n')
	if err != nil && err != io.EOF {
		return nil, err
	}
	var header map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(line), &header); err != nil {
		return nil, fmt.Errorf("envelope header: %w", err)
	}
	var items []Item
	for {
		line, err := rd.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) == 0 {
			if err != nil {
				return items, nil
			}
			continue
		}
		var ih struct {
			Type   string `json:"type"`
			Length *int   `json:"length"`
		}
		if err := json.Unmarshal(bytes.TrimSpace(line), &ih); err != nil {
			return items, fmt.Errorf("item header %q: %w", line, err)
		}
		var payload []byte
		if ih.Length != nil {
			payload = make([]byte, *ih.Length)
			if _, err := io.ReadFull(rd, payload); err != nil {
				return items, fmt.Errorf("item payload: %w", err)
			}
			rd.ReadByte() // the newline after the payload, if any
		} else {
			payload, _ = rd.ReadBytes('\n')
			payload = bytes.TrimRight(payload, "\n")
		}
		it := Item{Type: ih.Type, EnvelopeHeader: header, Raw: payload}
		_ = json.Unmarshal(payload, &it.JSON)
		items = append(items, it)
	}
}

// Items returns the items received so far of the given type ("" for all).
func (rc *Receiver) Items(typ string) []Item {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []Item
	for _, it := range rc.items {
		if typ == "" || it.Type == typ {
			out = append(out, it)
		}
	}
	return out
}

// Raw returns every envelope received, as sent.
func (rc *Receiver) Raw() []byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return bytes.Join(rc.raw, []byte("\n"))
}

// Wait waits up to timeout for an item of typ for which match is true
// (match nil: any), and returns it.
func (rc *Receiver) Wait(t testing.TB, timeout time.Duration, typ string, match func(Item) bool) Item {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, it := range rc.Items(typ) {
			if match == nil || match(it) {
				return it
			}
		}
		if time.Now().After(deadline) {
			var types []string
			for _, it := range rc.Items("") {
				types = append(types, it.Type)
			}
			t.Fatalf("no matching %s item within %s; received: %v", typ, timeout, types)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Logs returns the log records received (log items hold several).
func (rc *Receiver) Logs() []map[string]any {
	var out []map[string]any
	for _, it := range rc.Items("log") {
		items, _ := it.JSON["items"].([]any)
		for _, x := range items {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// Get walks a decoded JSON value by keys ("contexts", "webhook",
// "event_id"); numbers index arrays.
func Get(v any, path ...string) any {
	for _, k := range path {
		switch t := v.(type) {
		case map[string]any:
			v = t[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

// Str is Get as a string ("" when absent or not a string).
func Str(v any, path ...string) string {
	s, _ := Get(v, path...).(string)
	return s
}
