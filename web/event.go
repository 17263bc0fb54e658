package web

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
)

// header is one header line as shown.
type header struct{ Name, Value string }

// attemptRow is one attempt in an event's timeline.
type attemptRow struct {
	Destination string
	*hookwatch.Attempt
	// Excerpt is the start of the response body as text.
	Excerpt string
	// SentText is the request as a transform made it and it was sent
	// (hookwatch.Attempt.Sent), as text; "" without a transform.
	SentText string
}

// sentText renders a transformed request as sent: the request line, the
// (redacted) headers, and the kept start of the body.
func sentText(r *hookwatch.SentRequest) string {
	if r == nil {
		return ""
	}
	if r.Unreadable != "" {
		return r.Unreadable
	}
	var b strings.Builder
	b.WriteString("POST " + r.URL + "\n")
	keys := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k + ": " + strings.Join(r.Headers[k], ", ") + "\n")
	}
	b.WriteString("\n" + excerpt(r.Body))
	if len(r.Body) < r.BodySize || len(r.Body) > excerptLen {
		fmt.Fprintf(&b, "\n... (%d bytes in all)", r.BodySize)
	}
	return b.String()
}

type eventData struct {
	Event      *hookwatch.Event
	Headers    []header
	Body       string
	BodyNote   string
	Deliveries []deliveryRow
	Timeline   []attemptRow
	// Filtered are the routes whose filters left the event out of
	// destinations.
	Filtered []hookwatch.Filtered
}

// deliveryRow is one of an event's deliveries with what it waits for (a
// pending one's next attempt is never shown without its reason).
type deliveryRow struct {
	*hookwatch.Delivery
	Waiting deliver.Waiting
	// Behind is the delivery of the same ordering key a pending ordered
	// delivery waits behind (the key's head), nil when it is the head.
	Behind *hookwatch.Delivery
}

// excerptLen is how much of a destination's answer the timeline shows.
const excerptLen = 512

// event shows one event: metadata, headers with credentials redacted, the
// body pretty-printed (as text, never as HTML), and every delivery attempt.
func (h *Handler) event(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	e, err := h.opts.Store.GetEvent(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := &eventData{Event: e}
	for k, vs := range hookwatch.RedactHeaders(e.Headers, false) {
		for _, v := range vs {
			d.Headers = append(d.Headers, header{k, v})
		}
	}
	sort.SliceStable(d.Headers, func(i, j int) bool { return d.Headers[i].Name < d.Headers[j].Name })
	d.Body, d.BodyNote = showBody(e.Body)
	ds, err := h.opts.Store.ListDeliveries(ctx, hookwatch.DeliveryFilter{EventIDs: []string{e.ID}, Limit: 1000})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if d.Filtered, err = h.opts.Store.EventFilters(ctx, e.ID); err != nil {
		h.fail(w, r, p, err)
		return
	}
	states, err := h.opts.Store.DestinationStates(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	configured := map[string]bool{}
	ordered := map[string]Destination{}
	for _, dst := range h.opts.Destinations {
		configured[dst.Name] = true
		if dst.Ordered {
			ordered[dst.Name] = dst
		}
	}
	for _, dl := range ds {
		st, ok := states[dl.Destination]
		if !ok {
			st = hookwatch.DestinationState{Name: dl.Destination, Circuit: hookwatch.CircuitClosed}
		}
		row := deliveryRow{Delivery: dl, Waiting: deliver.DeliveryWaiting(dl, st, configured[dl.Destination], p.now)}
		if dst, ok := ordered[dl.Destination]; ok && dl.Status == hookwatch.DeliveryPending && dl.OrderKey != "" {
			head, err := h.opts.Store.OrderHead(ctx, dl.Destination, dl.OrderKey, dst.OnDead == hookwatch.OnDeadBlock)
			if err != nil && hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
				h.fail(w, r, p, err)
				return
			}
			if head != nil && head.ID != dl.ID {
				row.Behind = head
			}
		}
		d.Deliveries = append(d.Deliveries, row)
	}
	for _, dl := range ds {
		_, as, err := h.opts.Store.GetDelivery(ctx, dl.ID)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		for _, a := range as {
			d.Timeline = append(d.Timeline, attemptRow{Destination: dl.Destination, Attempt: a, Excerpt: excerpt(a.Response), SentText: sentText(a.Sent)})
		}
	}
	sort.SliceStable(d.Timeline, func(i, j int) bool { return d.Timeline[i].At.Before(d.Timeline[j].At) })
	p.Title, p.Nav, p.Refresh, p.Data = e.ID, "events", true, d
	h.render(w, r, http.StatusOK, "event", p)
}

// showBody returns the body as text: indented when it is JSON, as is when
// it is other UTF-8, and in hex otherwise. It is shown in a <pre> through
// the template's escaping, so a body holding HTML is shown, not run.
func showBody(b []byte) (string, string) {
	if len(b) == 0 {
		return "", "empty body"
	}
	var buf bytes.Buffer
	if json.Valid(b) && json.Indent(&buf, b, "", "  ") == nil {
		return buf.String(), "JSON, indented for reading (the stored body is byte-exact)"
	}
	if utf8.Valid(b) {
		return string(b), ""
	}
	return hex.Dump(b), "not UTF-8: shown in hex"
}

func excerpt(b []byte) string {
	if len(b) > excerptLen {
		b = b[:excerptLen]
	}
	if !utf8.Valid(b) {
		// Cut inside a character, or binary: keep what is readable.
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	return string(b)
}

// replayEvent re-queues every delivery of the event.
func (h *Handler) replayEvent(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	if _, err := h.opts.Store.GetEvent(r.Context(), id); err != nil {
		h.fail(w, r, p, err)
		return
	}
	// destination retries only the delivery to that destination.
	dest := r.PostFormValue("destination")
	req := hookwatch.ReplayRequest{Filter: hookwatch.DeliveryFilter{EventIDs: []string{id}, Destination: dest}, Actor: "dashboard:" + p.User, Now: p.now}
	rep, err := h.replay(r, req)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if dest != "" && rep.Count == 0 {
		h.fail(w, r, p, hookwatch.Errorf(hookwatch.ENOTFOUND, "event %s has no delivery to %q to retry", id, dest))
		return
	}
	h.opts.Logger.InfoContext(r.Context(), "event replayed from the dashboard", "event", id, "user", p.User, "destination", dest, "deliveries", rep.Count)
	redirect(w, r, "/events/"+url.PathEscape(id), "replayed", rep.Count)
}
