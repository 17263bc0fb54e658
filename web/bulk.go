package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/quarantine"
)

// Bulk actions from a filtered list: every one shows what it would do
// first (a dry run: nothing changed or recorded), and acts only on the
// confirming POST, which carries the same filter.

// maxReplayRate bounds the rate a bulk replay is spread at (per second).
const maxReplayRate = 10000

// bulkFilter is the filter of a bulk replay, read from a query or a form:
// the events list's source, type, destination, status and since.
type bulkFilter struct {
	Source, Type, Destination, Status, Since string
}

// Query is the filter as a query string, for links back to the list.
func (f bulkFilter) Query() string {
	q := url.Values{}
	for k, v := range map[string]string{"source": f.Source, "type": f.Type, "destination": f.Destination, "status": f.Status, "since": f.Since} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

// Describe says in words what the filter selects.
func (f bulkFilter) Describe() string {
	var parts []string
	if f.Status != "" {
		parts = append(parts, f.Status)
	}
	parts = append(parts, "deliveries")
	if f.Destination != "" {
		parts = append(parts, "to "+f.Destination)
	}
	if f.Source != "" {
		parts = append(parts, "of "+f.Source+" events")
	}
	if f.Type != "" {
		parts = append(parts, "of type "+f.Type)
	}
	if f.Since != "" {
		parts = append(parts, "from the last "+f.Since)
	}
	return strings.Join(parts, " ")
}

// readBulkFilter reads and checks the filter (vals is r.URL.Query() or
// r.PostForm) into the store's.
func readBulkFilter(vals url.Values, now time.Time) (bulkFilter, hookwatch.DeliveryFilter, error) {
	f := bulkFilter{Source: vals.Get("source"), Type: vals.Get("type"), Destination: vals.Get("destination"), Status: vals.Get("status"), Since: vals.Get("since")}
	df := hookwatch.DeliveryFilter{Source: f.Source, Type: f.Type, Destination: f.Destination, Status: hookwatch.DeliveryStatus(f.Status)}
	switch f.Status {
	case string(hookwatch.DeliverySucceeded), string(hookwatch.DeliveryDead):
	case "":
		return f, df, hookwatch.Errorf(hookwatch.EINVALID, "choose which deliveries to replay: status dead or succeeded (pending ones are already queued)")
	default:
		return f, df, hookwatch.Errorf(hookwatch.EINVALID, "status %q: a replay takes dead or succeeded deliveries", f.Status)
	}
	if f.Since != "" {
		d, ok := sinceDur[f.Since]
		if !ok {
			return f, df, hookwatch.Errorf(hookwatch.EINVALID, "since %q: choose 1h, 24h, 7d or 30d", f.Since)
		}
		df.Since = now.Add(-d)
	}
	return f, df, nil
}

// replayPreview is what the bulk replay page shows.
type replayPreview struct {
	Filter bulkFilter
	Count  int
}

func (h *Handler) replay(r *http.Request, req hookwatch.ReplayRequest) (*hookwatch.Replay, error) {
	if h.opts.Control != nil {
		return h.opts.Control.Replay(r.Context(), req)
	}
	return h.opts.Store.ReplayDeliveries(r.Context(), req)
}

// replayMatchingPreview counts what "replay all matching" would re-queue,
// and asks for a rate and a confirmation.
func (h *Handler) replayMatchingPreview(w http.ResponseWriter, r *http.Request, p *page) {
	f, df, err := readBulkFilter(r.URL.Query(), p.now)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	rep, err := h.replay(r, hookwatch.ReplayRequest{Filter: df, Actor: "dashboard:" + p.User, Now: p.now, DryRun: true})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	p.Title, p.Nav, p.Data = "Replay all matching", "events", &replayPreview{Filter: f, Count: rep.Count}
	h.render(w, r, http.StatusOK, "replay", p)
}

// replayMatching re-queues every matching delivery, spread at the chosen
// rate, and records the replay (the audit page lists it).
func (h *Handler) replayMatching(w http.ResponseWriter, r *http.Request, p *page) {
	f, df, err := readBulkFilter(r.PostForm, p.now)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	rate := 0.0
	if v := strings.TrimSpace(r.PostFormValue("rate")); v != "" {
		if rate, err = strconv.ParseFloat(v, 64); err != nil || rate < 0 || rate > maxReplayRate {
			h.fail(w, r, p, hookwatch.Errorf(hookwatch.EINVALID, "rate %q: a number of deliveries per second from 0 (all at once) to %d", v, maxReplayRate))
			return
		}
	}
	rep, err := h.replay(r, hookwatch.ReplayRequest{Filter: df, Actor: "dashboard:" + p.User, Now: p.now, Rate: rate})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.opts.Logger.InfoContext(r.Context(), "deliveries replayed in bulk from the dashboard", "user", p.User, "filter", f.Describe(),
		"deliveries", rep.Count, "rate", rate, "replay", rep.ID)
	redirect(w, r, "/audit", "replayed", rep.Count)
}

// releasePreview is what the bulk release page shows: the dry run's
// outcome per request.
type releasePreview struct {
	Source, Reason string
	Report         *quarantine.Report
}

// Count returns how many requests had outcome o in the dry run.
func (d *releasePreview) Count(o string) int { return d.Report.Counts[quarantine.Outcome(o)] }

// Query is the filter as a query string.
func (d *releasePreview) Query() string {
	q := url.Values{}
	if d.Source != "" {
		q.Set("source", d.Source)
	}
	if d.Reason != "" {
		q.Set("reason", d.Reason)
	}
	return q.Encode()
}

func readReleaseFilter(vals url.Values) (hookwatch.QuarantineFilter, error) {
	f := hookwatch.QuarantineFilter{Source: vals.Get("source"), Reason: vals.Get("reason"), Status: hookwatch.QuarantineHeld}
	if f.Source == "" && f.Reason == "" {
		return f, hookwatch.Errorf(hookwatch.EINVALID, "filter the quarantine by source or reason first: a bulk release needs one")
	}
	return f, nil
}

// releaseMatchingPreview verifies every held request the filter selects
// again, storing nothing, and shows what a release would do.
func (h *Handler) releaseMatchingPreview(w http.ResponseWriter, r *http.Request, p *page) {
	if h.opts.Releaser == nil {
		h.fail(w, r, p, hookwatch.Errorf(hookwatch.ECONFLICT, "this server cannot release: use hookwatch quarantine release"))
		return
	}
	f, err := readReleaseFilter(r.URL.Query())
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	rep, err := h.opts.Releaser.Release(r.Context(), quarantine.Request{Filter: f, By: "dashboard:" + p.User, DryRun: true})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	p.Title, p.Nav, p.Data = "Release all matching", "quarantine", &releasePreview{Source: f.Source, Reason: f.Reason, Report: rep}
	h.render(w, r, http.StatusOK, "release", p)
}

// releaseMatching releases every held request the filter selects that
// verifies now (the others stay held).
func (h *Handler) releaseMatching(w http.ResponseWriter, r *http.Request, p *page) {
	if h.opts.Releaser == nil {
		h.fail(w, r, p, hookwatch.Errorf(hookwatch.ECONFLICT, "this server cannot release: use hookwatch quarantine release"))
		return
	}
	f, err := readReleaseFilter(r.PostForm)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	rep, err := h.opts.Releaser.Release(r.Context(), quarantine.Request{Filter: f, By: "dashboard:" + p.User})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	n := rep.Counts[quarantine.Released] + rep.Counts[quarantine.Duplicate]
	h.opts.Logger.InfoContext(r.Context(), "quarantined requests released in bulk from the dashboard", "user", p.User,
		"source", f.Source, "reason", f.Reason, "released", n)
	redirect(w, r, "/quarantine", "released", n)
}

// ReplayLink is the bulk replay page of the events list's filter.
func (d *eventsData) ReplayLink() template.URL {
	f := d.Filter
	return link("/replay", bulkFilter{Source: f.Source, Type: f.Type, Destination: f.Destination, Status: f.Status, Since: f.Since}.Query())
}

// ReleaseLink is the bulk release page of the quarantine list's filter.
func (d *quarantineData) ReleaseLink() template.URL {
	return link("/quarantine/release", (&releasePreview{Source: d.Filter.Source, Reason: d.Filter.Reason}).Query())
}

// ListLink is the events list of the filter.
func (f bulkFilter) ListLink() template.URL { return link("/events", f.Query()) }

// ListLink is the quarantine list of the filter.
func (d *releasePreview) ListLink() template.URL { return link("/quarantine", d.Query()) }

// link joins a path of ours and a query encoded by url.Values: safe as a
// URL as it stands, so the template must not escape it again.
func link(path, query string) template.URL {
	if query == "" {
		return template.URL(path)
	}
	return template.URL(path + "?" + query)
}
