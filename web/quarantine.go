package web

import (
	"net/http"
	"net/url"
	"sort"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/quarantine"
)

type quarantineData struct {
	Filter struct{ Source, Reason, Status string }
	Rows   []*hookwatch.Quarantined
	Older  string
	// CanRelease is set when the server can verify and release.
	CanRelease bool
}

// quarantineList lists rejected requests, newest first, with their reasons.
func (h *Handler) quarantineList(w http.ResponseWriter, r *http.Request, p *page) {
	q := r.URL.Query()
	d := &quarantineData{CanRelease: h.opts.Releaser != nil}
	d.Filter.Source, d.Filter.Reason, d.Filter.Status = q.Get("source"), q.Get("reason"), q.Get("status")
	status, err := hookwatch.ParseQuarantineStatus(d.Filter.Status)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d.Rows, err = h.quarantine.ListQuarantined(r.Context(), hookwatch.QuarantineFilter{Source: d.Filter.Source, Reason: d.Filter.Reason,
		Status: status, Before: q.Get("before"), Limit: pageSize})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if len(d.Rows) == pageSize {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("before", d.Rows[len(d.Rows)-1].ID)
		d.Older = "/quarantine?" + nq.Encode()
	}
	p.Title, p.Nav, p.Refresh, p.Data = "Quarantine", "quarantine", true, d
	h.render(w, r, http.StatusOK, "quarantine", p)
}

type quarantinedData struct {
	Q          *hookwatch.Quarantined
	Headers    []header
	Body       string
	BodyNote   string
	CanRelease bool
}

// quarantined shows one rejected request: why, its headers (credentials
// already redacted when it was kept) and body.
func (h *Handler) quarantined(w http.ResponseWriter, r *http.Request, p *page) {
	qr, err := h.quarantine.GetQuarantined(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := &quarantinedData{Q: qr, CanRelease: h.opts.Releaser != nil}
	for k, vs := range hookwatch.RedactHeaders(qr.Headers, false) {
		for _, v := range vs {
			d.Headers = append(d.Headers, header{k, v})
		}
	}
	sort.SliceStable(d.Headers, func(i, j int) bool { return d.Headers[i].Name < d.Headers[j].Name })
	d.Body, d.BodyNote = showBody(qr.Body)
	p.Title, p.Nav, p.Data = qr.ID, "quarantine", d
	h.render(w, r, http.StatusOK, "quarantined", p)
}

// releaseQuarantined verifies a request again with the current secrets and
// stores it as an event if it passes; with unverified=1 it is stored even
// if it does not (recorded as unverified, by the user).
func (h *Handler) releaseQuarantined(w http.ResponseWriter, r *http.Request, p *page) {
	if h.opts.Releaser == nil {
		h.fail(w, r, p, hookwatch.Errorf(hookwatch.ECONFLICT, "this server cannot release: use hookwatch quarantine release"))
		return
	}
	id := r.PathValue("id")
	rep, err := h.opts.Releaser.Release(r.Context(), quarantine.Request{
		Filter:     hookwatch.QuarantineFilter{IDs: []string{id}},
		Unverified: r.PostFormValue("unverified") == "1",
		By:         "dashboard:" + p.User,
	})
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if len(rep.Results) == 0 {
		h.fail(w, r, p, hookwatch.Errorf(hookwatch.ENOTFOUND, "quarantined request %s not found", id))
		return
	}
	res := rep.Results[0]
	h.opts.Logger.InfoContext(r.Context(), "quarantined request released from the dashboard", "id", id, "user", p.User, "outcome", res.Outcome)
	switch res.Outcome {
	case quarantine.Released, quarantine.Duplicate:
		redirect(w, r, "/events/"+url.PathEscape(res.EventID), "released", 1)
	default:
		h.fail(w, r, p, hookwatch.Errorf(hookwatch.ECONFLICT, "not released (%s): %s", res.Outcome, res.Reason))
	}
}
