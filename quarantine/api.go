package quarantine

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/server"
)

// View is a quarantined request as the CLI and the admin API print it.
// Headers were redacted when it was kept.
type View struct {
	*hookwatch.Quarantined
	Size         int    `json:"size"`
	Body         string `json:"body,omitempty"`
	BodyEncoding string `json:"body_encoding,omitempty"`
}

// NewView returns q's view; with full, the headers and body too.
func NewView(q *hookwatch.Quarantined, full bool) View {
	v := View{Quarantined: q, Size: len(q.Body)}
	if !full {
		c := *q
		c.Headers = nil
		v.Quarantined = &c
		return v
	}
	v.Body, v.BodyEncoding = hookwatch.TextOrHex(q.Body)
	return v
}

// API returns the admin API routes of the quarantine, for
// server.Options.API (which requires the admin token):
//
//	GET  /api/quarantine             list (source, reason, status, since, until, before, limit)
//	GET  /api/quarantine/{id}        one request with headers and body
//	POST /api/quarantine/release     a Request as JSON; answers the Report
//
// Releases are recorded as by "admin-api" plus the caller's "by" and
// address.
func API(store Store, rl *Releaser) map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /api/quarantine": func(w http.ResponseWriter, r *http.Request) {
			f, err := parseFilter(r)
			if err != nil {
				server.WriteError(w, r, err)
				return
			}
			qs, err := store.ListQuarantined(r.Context(), f)
			if err != nil {
				server.WriteError(w, r, err)
				return
			}
			out := make([]View, 0, len(qs))
			for _, q := range qs {
				out = append(out, NewView(q, false))
			}
			server.WriteJSON(w, http.StatusOK, map[string]any{"quarantined": out})
		},
		"GET /api/quarantine/{id}": func(w http.ResponseWriter, r *http.Request) {
			q, err := store.GetQuarantined(r.Context(), r.PathValue("id"))
			if err != nil {
				server.WriteError(w, r, err)
				return
			}
			server.WriteJSON(w, http.StatusOK, NewView(q, true))
		},
		"POST /api/quarantine/release": func(w http.ResponseWriter, r *http.Request) {
			var req Request
			dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				server.WriteError(w, r, hookwatch.Errorf(hookwatch.EINVALID, "release: the body must be a JSON object {filter: {ids, source, reason, since, until}, unverified, dry_run, by}: %v", err))
				return
			}
			by := "admin-api " + r.RemoteAddr
			if req.By != "" {
				by = "admin-api:" + req.By + " " + r.RemoteAddr
			}
			req.By = by
			rep, err := rl.Release(r.Context(), req)
			if err != nil {
				server.WriteError(w, r, err)
				return
			}
			server.WriteJSON(w, http.StatusOK, rep)
		},
	}
}

// parseFilter reads a listing filter from the query string, with the
// admin API's query rules (server.QueryLimit, server.QueryTime).
func parseFilter(r *http.Request) (hookwatch.QuarantineFilter, error) {
	q := r.URL.Query()
	f := hookwatch.QuarantineFilter{Source: q.Get("source"), Reason: q.Get("reason"), Before: q.Get("before")}
	var err error
	if f.Status, err = hookwatch.ParseQuarantineStatus(q.Get("status")); err != nil {
		return f, err
	}
	now := time.Now()
	if f.Since, err = server.QueryTime(q, "since", now); err != nil {
		return f, err
	}
	if f.Until, err = server.QueryTime(q, "until", now); err != nil {
		return f, err
	}
	if f.Limit, err = server.QueryLimit(q); err != nil {
		return f, err
	}
	return f, nil
}
