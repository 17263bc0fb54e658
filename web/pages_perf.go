package web

import (
	"net/http"
	"slices"

	"github.com/hookwatch/hookwatch"
)

// Setting is one line of a source's or destination's configuration summary,
// as the dashboard shows it: secrets and URL credentials already redacted
// by whoever built it.
type Setting struct {
	Name, Value string
}

// performance is the performance view: every source and destination over
// the chosen range.
func (h *Handler) performance(w http.ResponseWriter, r *http.Request, p *page) {
	rng, err := parseRange(r.URL.Query(), p.now)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d, err := h.performanceData(r.Context(), rng, "", "", false)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d.Base = "/performance"
	p.Title, p.Nav, p.Refresh, p.Data = "Performance", "performance", true, d
	h.render(w, r, http.StatusOK, "performance", p)
}

// sourcePage is what a source's page shows.
type sourcePage struct {
	Name     string
	Settings []Setting
	Perf     *perfData
	Issues   []*hookwatch.Issue
}

// source is a source's page: its charts, configuration and open issues.
func (h *Handler) source(w http.ResponseWriter, r *http.Request, p *page) {
	name := r.PathValue("name")
	if !slices.Contains(h.opts.Sources, name) {
		// A source no longer configured still has a page while it has
		// events.
		es, err := h.opts.Store.ListEvents(r.Context(), hookwatch.EventFilter{Source: name, Limit: 1})
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		if len(es) == 0 {
			h.fail(w, r, p, hookwatch.Errorf(hookwatch.ENOTFOUND, "no source named %q is configured or has events", name))
			return
		}
	}
	rng, err := parseRange(r.URL.Query(), p.now)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := &sourcePage{Name: name, Settings: h.opts.SourceSettings[name]}
	if d.Perf, err = h.performanceData(r.Context(), rng, name, "", false); err != nil {
		h.fail(w, r, p, err)
		return
	}
	d.Perf.Base = "/sources/" + name
	if h.issues != nil {
		if d.Issues, err = h.issues.ListIssues(r.Context(), hookwatch.IssueFilter{Status: hookwatch.IssueOpen, Source: name, Limit: 20}); err != nil {
			h.fail(w, r, p, err)
			return
		}
	}
	p.Title, p.Nav, p.Refresh, p.Data = "Source "+name, "performance", true, d
	h.render(w, r, http.StatusOK, "source", p)
}

// destinationPage is what a destination's page shows.
type destinationPage struct {
	Info     destInfo
	Settings []Setting
	Perf     *perfData
	Issues   []*hookwatch.Issue
	// Dead are its latest dead letters; Failing its pending deliveries
	// whose last attempt failed.
	Dead, Failing []*hookwatch.Delivery
}

// destination is a destination's page: its state and actions, charts,
// configuration, recent failures and open issues.
func (h *Handler) destination(w http.ResponseWriter, r *http.Request, p *page) {
	name := r.PathValue("name")
	infos, err := h.destinationInfos(r)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	i := slices.IndexFunc(infos, func(d destInfo) bool { return d.Name == name })
	if i < 0 {
		h.fail(w, r, p, hookwatch.Errorf(hookwatch.ENOTFOUND, "no destination named %q is configured or has deliveries", name))
		return
	}
	rng, err := parseRange(r.URL.Query(), p.now)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := &destinationPage{Info: infos[i]}
	for _, c := range h.opts.Destinations {
		if c.Name == name {
			d.Settings = c.Settings
		}
	}
	ctx := r.Context()
	if d.Perf, err = h.performanceData(ctx, rng, "", name, false); err != nil {
		h.fail(w, r, p, err)
		return
	}
	d.Perf.Base = "/destinations/" + name
	if d.Dead, err = h.opts.Store.ListDeliveries(ctx, hookwatch.DeliveryFilter{Destination: name, Status: hookwatch.DeliveryDead, Limit: 10}); err != nil {
		h.fail(w, r, p, err)
		return
	}
	pending, err := h.opts.Store.ListDeliveries(ctx, hookwatch.DeliveryFilter{Destination: name, Status: hookwatch.DeliveryPending, Limit: 100})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	for _, dl := range pending {
		if dl.LastClass != "" && len(d.Failing) < 10 {
			d.Failing = append(d.Failing, dl)
		}
	}
	if h.issues != nil {
		if d.Issues, err = h.issues.ListIssues(ctx, hookwatch.IssueFilter{Status: hookwatch.IssueOpen, Destination: name, Limit: 20}); err != nil {
			h.fail(w, r, p, err)
			return
		}
	}
	p.Title, p.Nav, p.Refresh, p.Data = "Destination "+name, "destinations", true, d
	h.render(w, r, http.StatusOK, "destination", p)
}
