package server

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
)

// ParseBefore reads a purge's cut-off: a date (2026-01-01, midnight UTC),
// an RFC 3339 time, or an age back from now (30d, 12h). name is the flag
// or field named in the error.
func ParseBefore(name, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, hookwatch.Errorf(hookwatch.EINVALID, "%s is required: a date (2026-01-01), an RFC 3339 time or an age (30d, 12h)", name)
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, hookwatch.Errorf(hookwatch.EINVALID, "%s %q: use a date (2026-01-01), an RFC 3339 time or an age (30d, 12h)", name, s)
	}
	return now.Add(-d), nil
}

// decodeOptional reads a JSON body like decodeJSON; an empty one leaves v
// as it is.
func decodeOptional(r *http.Request, what string, v any) error {
	if err := decodeJSON(r, v); err != nil && !errors.Is(err, io.EOF) {
		return hookwatch.Errorf(hookwatch.EINVALID, "%s: bad JSON body: %v", what, err)
	}
	return nil
}

// purgeEvents serves POST /api/events/purge: {source, type, before,
// dry_run, actor}, answered with the purge record (hookwatch.Purge).
func (s *Server) purgeEvents(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Source string `json:"source"`
		Type   string `json:"type"`
		Before string `json:"before"`
		DryRun bool   `json:"dry_run"`
		Actor  string `json:"actor"`
	}
	if err := decodeOptional(r, "purge", &body); err != nil {
		s.error(w, r, err)
		return
	}
	now := s.opts.Now()
	before, err := ParseBefore("before", body.Before, now)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p, err := s.opts.Store.PurgeEvents(r.Context(), hookwatch.PurgeRequest{Source: body.Source, Type: body.Type, Before: before,
		Actor: apiActor(r, body.Actor), Now: now, DryRun: body.DryRun})
	if err != nil {
		s.error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, p)
}

// erase serves POST /api/erase: {subject} or {provider_id, source}, with
// dry_run and actor, answered with the erasure record. The subject comes in
// the body, never the URL, so that no access log holds it; it is never
// logged.
func (s *Server) erase(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Subject    string `json:"subject"`
		ProviderID string `json:"provider_id"`
		Source     string `json:"source"`
		DryRun     bool   `json:"dry_run"`
		Actor      string `json:"actor"`
	}
	if err := decodeOptional(r, "erase", &body); err != nil {
		s.error(w, r, err)
		return
	}
	p, err := s.opts.Store.EraseEvents(r.Context(), hookwatch.ErasureRequest{Subject: body.Subject, ProviderEventID: body.ProviderID,
		Source: body.Source, Actor: apiActor(r, body.Actor), Now: s.opts.Now(), DryRun: body.DryRun})
	if err != nil {
		s.error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, p)
}

// listPurges serves GET /api/purges: {"purges": [hookwatch.Purge]},
// newest first (limit).
func (s *Server) listPurges(w http.ResponseWriter, r *http.Request) {
	limit, err := QueryLimit(r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	ps, err := s.opts.Store.ListPurges(r.Context(), limit)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if ps == nil {
		ps = []*hookwatch.Purge{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"purges": ps})
}

// listReplays serves GET /api/replays: {"replays": [hookwatch.Replay]},
// newest first (limit).
func (s *Server) listReplays(w http.ResponseWriter, r *http.Request) {
	limit, err := QueryLimit(r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	rs, err := s.opts.Store.ListReplays(r.Context(), limit)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if rs == nil {
		rs = []*hookwatch.Replay{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"replays": rs})
}
