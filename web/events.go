package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/expr"
)

// pageSize is how many rows a list shows; "Older" continues.
const pageSize = 50

// eventFilter is the events list's query string.
type eventFilter struct {
	Source, Type, Destination, Status, Since, Q string
	Before                                      string
	// Match is a CEL expression over the event (body, headers, source,
	// type, provider_event_id) that the listed events satisfy.
	Match string
}

// sinceChoices are the time windows offered by the filter.
var sinceChoices = []struct{ Value, Label string }{
	{"", "any time"}, {"1h", "last hour"}, {"24h", "last 24 hours"}, {"7d", "last 7 days"}, {"30d", "last 30 days"},
}

var sinceDur = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

// eventRow is an event with its deliveries.
type eventRow struct {
	Event      *hookwatch.Event
	Deliveries []*hookwatch.Delivery
}

type eventsData struct {
	Filter       eventFilter
	Rows         []eventRow
	Sources      []string
	Destinations []Destination
	Statuses     []hookwatch.DeliveryStatus
	Since        []struct{ Value, Label string }
	// Older is the link to the next page, empty on the last.
	Older string
	// Scanned is how many events a content search read for this page;
	// Bounded says the range has more that it did not read.
	Scanned int
	Bounded bool
}

// events lists events, newest first, filtered by source, type, delivery
// status and destination, and time; q finds an event by Hookwatch ID or
// provider event ID.
func (h *Handler) events(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	q := r.URL.Query()
	f := eventFilter{Source: q.Get("source"), Type: q.Get("type"), Destination: q.Get("destination"), Status: q.Get("status"),
		Since: q.Get("since"), Q: strings.TrimSpace(q.Get("q")), Before: q.Get("before"), Match: strings.TrimSpace(q.Get("match"))}
	d := &eventsData{Filter: f, Sources: h.opts.Sources, Destinations: h.opts.Destinations, Since: sinceChoices,
		Statuses: []hookwatch.DeliveryStatus{hookwatch.DeliveryPending, hookwatch.DeliverySucceeded, hookwatch.DeliveryDead}}
	var since time.Time
	if f.Since != "" {
		dd, ok := sinceDur[f.Since]
		if !ok {
			h.fail(w, r, p, hookwatch.Errorf(hookwatch.EINVALID, "since %q: choose 1h, 24h, 7d or 30d", f.Since))
			return
		}
		since = p.now.Add(-dd)
	}
	switch f.Status {
	case "", string(hookwatch.DeliveryPending), string(hookwatch.DeliverySucceeded), string(hookwatch.DeliveryDead):
	default:
		h.fail(w, r, p, hookwatch.Errorf(hookwatch.EINVALID, "status %q: choose pending, succeeded or dead", f.Status))
		return
	}

	var events []*hookwatch.Event
	cursor := ""
	switch {
	case f.Match != "":
		// A search by content reads a bounded range (24 hours unless
		// chosen) in pages and keeps what the expression matches.
		if since.IsZero() {
			since, d.Filter.Since = p.now.Add(-24*time.Hour), "24h"
		}
		var err error
		events, cursor, d.Scanned, err = h.searchContent(r, f, since)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		d.Bounded = cursor != ""
	case f.Q != "" && f.Status == "" && f.Destination == "":
		// A Hookwatch ID or a provider event ID: Stripe's start with evt_
		// too, so both are looked up.
		e, err := h.opts.Store.GetEvent(ctx, f.Q)
		if err != nil && hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			h.fail(w, r, p, err)
			return
		}
		if e != nil {
			events = append(events, e)
		}
		es, err := h.opts.Store.ListEvents(ctx, hookwatch.EventFilter{Source: f.Source, Type: f.Type, ProviderEventID: f.Q,
			Since: since, Before: f.Before, Limit: pageSize})
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		for _, x := range es {
			if e == nil || x.ID != e.ID {
				events = append(events, x)
			}
		}
	case f.Status != "" || f.Destination != "":
		// Filtering by delivery: list the deliveries, then their events.
		ds, err := h.opts.Store.ListDeliveries(ctx, hookwatch.DeliveryFilter{Source: f.Source, Destination: f.Destination, Type: f.Type,
			Status: hookwatch.DeliveryStatus(f.Status), Since: since, Before: f.Before, Limit: pageSize})
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		seen := map[string]bool{}
		for _, dl := range ds {
			if seen[dl.EventID] {
				continue
			}
			seen[dl.EventID] = true
			e, err := h.opts.Store.GetEvent(ctx, dl.EventID)
			if err != nil {
				h.fail(w, r, p, err)
				return
			}
			if f.Q == "" || e.ProviderEventID == f.Q || e.ID == f.Q {
				events = append(events, e)
			}
		}
		if len(ds) == pageSize {
			cursor = ds[len(ds)-1].ID
		}
	default:
		es, err := h.opts.Store.ListEvents(ctx, hookwatch.EventFilter{Source: f.Source, Type: f.Type, Since: since, Before: f.Before, Limit: pageSize})
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		events = es
		if len(es) == pageSize {
			cursor = es[len(es)-1].ID
		}
	}
	rows, err := h.withDeliveries(r, events)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d.Rows = rows
	if cursor != "" {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("before", cursor)
		d.Older = "/events?" + nq.Encode()
	}
	p.Title, p.Nav, p.Refresh, p.Data = "Events", "events", f.Before == "", d
	h.render(w, r, http.StatusOK, "events", p)
}

// Content search bounds: a page reads at most maxScan events.
const (
	maxScan  = 10000
	scanPage = 500
)

// searchContent lists the events of f's source and type received since
// since (older than f.Before) whose content f.Match matches: at most
// pageSize of them, reading at most maxScan events. cursor is where the
// next page starts ("" when the range is exhausted); scanned is how many
// events were read. An expression that does not compile is EINVALID with
// its column; one that fails on an event (a missing field) is no match.
func (h *Handler) searchContent(r *http.Request, f eventFilter, since time.Time) (events []*hookwatch.Event, cursor string, scanned int, err error) {
	prog, err := expr.CompileFilter(f.Match)
	if err != nil {
		return nil, "", 0, hookwatch.Errorf(hookwatch.EINVALID, "search: %v", err)
	}
	before := f.Before
	for scanned < maxScan {
		es, err := h.opts.Store.ListEvents(r.Context(), hookwatch.EventFilter{Source: f.Source, Type: f.Type, Since: since, Before: before, Limit: scanPage})
		if err != nil {
			return nil, "", scanned, err
		}
		for i, e := range es {
			scanned++
			if ok, _ := prog.Match(expr.NewInput(e)); ok {
				events = append(events, e)
				if len(events) == pageSize {
					if i < len(es)-1 || len(es) == scanPage {
						cursor = e.ID
					}
					return events, cursor, scanned, nil
				}
			}
		}
		if len(es) < scanPage {
			return events, "", scanned, nil
		}
		before = es[len(es)-1].ID
	}
	return events, before, scanned, nil
}

// withDeliveries fetches the deliveries of events in one query.
func (h *Handler) withDeliveries(r *http.Request, events []*hookwatch.Event) ([]eventRow, error) {
	if len(events) == 0 {
		return nil, nil
	}
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	ds, err := h.opts.Store.ListDeliveries(r.Context(), hookwatch.DeliveryFilter{EventIDs: ids, Limit: 20 * len(ids)})
	if err != nil {
		return nil, err
	}
	by := map[string][]*hookwatch.Delivery{}
	for _, d := range ds {
		by[d.EventID] = append(by[d.EventID], d)
	}
	rows := make([]eventRow, len(events))
	for i, e := range events {
		rows[i] = eventRow{Event: e, Deliveries: by[e.ID]}
	}
	return rows, nil
}
