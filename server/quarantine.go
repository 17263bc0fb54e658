package server

import (
	"net/http"

	"github.com/hookwatch/hookwatch"
)

// Quarantined is a quarantined request as the admin API and the CLI's
// --json print it. Headers were redacted when it was kept.
type Quarantined struct {
	*hookwatch.Quarantined
	Size         int    `json:"size"`
	Body         string `json:"body,omitempty"`
	BodyEncoding string `json:"body_encoding,omitempty"`
}

// NewQuarantined returns q as printed; with full, the headers and body
// too (listings leave them out).
func NewQuarantined(q *hookwatch.Quarantined, full bool) Quarantined {
	v := Quarantined{Quarantined: q, Size: len(q.Body)}
	if !full {
		c := *q
		c.Headers = nil
		v.Quarantined = &c
		return v
	}
	v.Body, v.BodyEncoding = hookwatch.TextOrHex(q.Body)
	return v
}

// ReleaseRequest asks POST /api/quarantine/release for a release; cmd
// turns it into a quarantine.Request. By is who asks as the API records
// it ("admin-api:alice 127.0.0.1:5123").
type ReleaseRequest struct {
	Filter     hookwatch.QuarantineFilter
	Unverified bool
	DryRun     bool
	By         string
}

// releaseBody is POST /api/quarantine/release's body: since and until
// take a duration back from now or an RFC 3339 time, as everywhere.
type releaseBody struct {
	Filter struct {
		IDs    []string `json:"ids"`
		Source string   `json:"source"`
		Reason string   `json:"reason"`
		Since  string   `json:"since"`
		Until  string   `json:"until"`
	} `json:"filter"`
	Unverified bool   `json:"unverified"`
	DryRun     bool   `json:"dry_run"`
	By         string `json:"by"`
}

// listQuarantined serves GET /api/quarantine: {"quarantined":
// [Quarantined]} without headers and bodies, newest first.
func (s *Server) listQuarantined(w http.ResponseWriter, r *http.Request) {
	f, err := quarantineFilter(r.URL.Query(), s.opts.Now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	qs, err := s.opts.Store.ListQuarantined(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]Quarantined, 0, len(qs))
	for _, q := range qs {
		out = append(out, NewQuarantined(q, false))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"quarantined": out})
}

// getQuarantined serves GET /api/quarantine/{id}: one Quarantined with
// its headers and body.
func (s *Server) getQuarantined(w http.ResponseWriter, r *http.Request) {
	q, err := s.opts.Store.GetQuarantined(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, NewQuarantined(q, true))
}

// releaseQuarantined serves POST /api/quarantine/release: the release's
// report (quarantine.Report). Releases are recorded as by "admin-api"
// plus the caller's "by" and address.
func (s *Server) releaseQuarantined(w http.ResponseWriter, r *http.Request) {
	var body releaseBody
	if err := decodeJSON(r, &body); err != nil {
		s.error(w, r, hookwatch.Errorf(hookwatch.EINVALID, "release: the body must be a JSON object {filter: {ids, source, reason, since, until}, unverified, dry_run, by}: %v", err))
		return
	}
	now := s.opts.Now()
	f := hookwatch.QuarantineFilter{IDs: body.Filter.IDs, Source: body.Filter.Source, Reason: body.Filter.Reason}
	var err error
	if f.Since, err = ParseTime("filter.since", body.Filter.Since, now); err != nil {
		s.error(w, r, err)
		return
	}
	if f.Until, err = ParseTime("filter.until", body.Filter.Until, now); err != nil {
		s.error(w, r, err)
		return
	}
	rep, err := s.opts.Release(r.Context(), ReleaseRequest{Filter: f, Unverified: body.Unverified, DryRun: body.DryRun, By: apiActor(r, body.By)})
	if err != nil {
		s.error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, rep)
}
