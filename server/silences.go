package server

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
)

// Silences are answered as hookwatch.Silence, the shape the CLI's --json
// prints too.

// NewSilence checks a silence asked of the CLI (`hookwatch alerts
// silence`) or the API (POST /api/silences) and builds it: rule must be
// one of rules (the configured rules' names), d its length, by who asks
// (recorded as created_by). The store's AddSilence checks the rest
// (hookwatch.ValidateSilence: the subject's form, at most 30 days).
func NewSilence(rules []string, rule, subject string, d time.Duration, comment, by string, now time.Time) (*hookwatch.Silence, error) {
	found := false
	for _, r := range rules {
		found = found || r == rule
	}
	if !found {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "no alert rule named %q (rules: %s)", rule, strings.Join(rules, ", "))
	}
	now = now.UTC().Truncate(time.Microsecond)
	return &hookwatch.Silence{ID: hookwatch.NewID("sil", now), Rule: rule, Subject: subject, Comment: comment, CreatedBy: by,
		CreatedAt: now, ExpiresAt: now.Add(d)}, nil
}

// SilenceRequest is POST /api/silences' body.
type SilenceRequest struct {
	// Rule is the alert rule's name.
	Rule string `json:"rule"`
	// Subject is destination:NAME, source:NAME or all; empty: every
	// subject of the rule.
	Subject string `json:"subject,omitempty"`
	// For is how long: "30m", "2h", "1d" (at most 30d).
	For     string `json:"for"`
	Comment string `json:"comment,omitempty"`
	// By is who asks, recorded with the caller's address.
	By string `json:"by,omitempty"`
}

// listSilences serves GET /api/silences: {"silences": [Silence]}, soonest
// to end first: those in force, or with since those in force at any time
// since then (expired ones are kept 30 days).
func (s *Server) listSilences(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.opts.Now()
	since := now
	if q.Get("since") != "" {
		var err error
		if since, err = QueryTime(q, "since", now); err != nil {
			s.error(w, r, err)
			return
		}
	}
	limit, err := QueryLimit(q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	ss, err := s.opts.Store.ListSilences(r.Context(), since)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if ss == nil {
		ss = []*hookwatch.Silence{}
	}
	if limit > 0 && len(ss) > limit {
		ss = ss[:limit]
	}
	WriteJSON(w, http.StatusOK, map[string]any{"silences": ss})
}

// createSilence serves POST /api/silences: 201 with the Silence.
func (s *Server) createSilence(w http.ResponseWriter, r *http.Request) {
	const shape = `send {"rule": "RULE", "for": "2h", "subject": "destination:NAME", "comment": "why", "by": "who"} (subject, comment and by are optional)`
	var body SilenceRequest
	if err := decodeJSON(r, &body); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("empty body")
		}
		s.error(w, r, hookwatch.Errorf(hookwatch.EINVALID, "silence: %v: %s", err, shape))
		return
	}
	if body.Rule == "" || body.For == "" {
		s.error(w, r, hookwatch.Errorf(hookwatch.EINVALID, "silence: rule and for are required: %s", shape))
		return
	}
	d, err := config.ParseDuration(body.For)
	if err != nil {
		s.error(w, r, hookwatch.Errorf(hookwatch.EINVALID, "for: %v", err))
		return
	}
	rules := make([]string, 0, len(s.opts.AlertRules))
	for _, rule := range s.opts.AlertRules {
		rules = append(rules, rule.Name)
	}
	si, err := NewSilence(rules, body.Rule, body.Subject, d, body.Comment, apiActor(r, body.By), s.opts.Now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.opts.Store.AddSilence(r.Context(), si); err != nil {
		s.error(w, r, err)
		return
	}
	s.opts.Logger.InfoContext(r.Context(), "silence added", "id", si.ID, "rule", si.Rule, "subject", si.Subject,
		"expires_at", si.ExpiresAt, "by", si.CreatedBy)
	w.Header().Set("Location", "/api/silences/"+si.ID)
	WriteJSON(w, http.StatusCreated, si)
}

// removeSilence serves DELETE /api/silences/{id}: the removed Silence;
// the rule's notifications are sent again from the next evaluation.
func (s *Server) removeSilence(w http.ResponseWriter, r *http.Request) {
	si, err := s.opts.Store.RemoveSilence(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.opts.Logger.InfoContext(r.Context(), "silence removed", "id", si.ID, "rule", si.Rule, "subject", si.Subject,
		"by", apiActor(r, ""))
	WriteJSON(w, http.StatusOK, si)
}

// apiActor is who an admin API call is recorded as: "admin-api" and the
// caller's address, with the name the caller gave ("by") if any.
func apiActor(r *http.Request, by string) string {
	if by == "" {
		return "admin-api " + r.RemoteAddr
	}
	return "admin-api:" + by + " " + r.RemoteAddr
}
