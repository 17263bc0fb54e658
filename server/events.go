package server

import (
	"net/http"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Event is a stored event as the CLI's --json prints it. Credential
// headers are redacted.
type Event struct {
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Provider        string    `json:"provider"`
	ProviderEventID string    `json:"provider_event_id,omitempty"`
	Type            string    `json:"type,omitempty"`
	ReceivedAt      time.Time `json:"received_at"`
	Size            int       `json:"size"`
	Malformed       bool      `json:"malformed,omitempty"`
	Test            bool      `json:"test,omitempty"`
	// Subject is personal data: shown with the body only (full).
	Subject      string      `json:"subject,omitempty"`
	Headers      http.Header `json:"headers,omitempty"`
	Body         string      `json:"body,omitempty"`
	BodyEncoding string      `json:"body_encoding,omitempty"`
	// Filtered lists the routes whose filters left the event out of
	// destinations (full only).
	Filtered []Filtered `json:"filtered,omitempty"`
}

// Filtered is a route whose filter left an event out of destinations.
type Filtered struct {
	// Route is the route's number in the config, from 1.
	Route        int      `json:"route"`
	Destinations []string `json:"destinations"`
	// Error is why the filter failed; empty when it was false.
	Error string `json:"error,omitempty"`
	// Text says it in a sentence ("filter of route 2 left out ...").
	Text string `json:"text"`
}

// NewFiltered returns fs as printed.
func NewFiltered(fs []hookwatch.Filtered) []Filtered {
	out := make([]Filtered, 0, len(fs))
	for _, f := range fs {
		out = append(out, Filtered{Route: f.Route, Destinations: f.Destinations, Error: f.Err, Text: f.String()})
	}
	return out
}

// NewEvent returns e as printed; with full, its headers (redacted) and
// body too.
func NewEvent(e *hookwatch.Event, full bool) Event {
	j := Event{
		ID: e.ID, Source: e.Source, Provider: e.Provider, ProviderEventID: e.ProviderEventID, Type: e.Type,
		ReceivedAt: e.ReceivedAt, Size: len(e.Body), Malformed: e.Malformed, Test: e.Test,
	}
	if full {
		j.Subject = e.Subject
		j.Headers = hookwatch.RedactHeaders(e.Headers, false)
		j.Body, j.BodyEncoding = hookwatch.TextOrHex(e.Body)
	}
	return j
}

// listEvents serves GET /api/events: {"events": [Event]} without headers
// and bodies, newest first (source, type, provider_id, since, until,
// before, limit).
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.opts.Now()
	f := hookwatch.EventFilter{Source: q.Get("source"), Type: q.Get("type"), ProviderEventID: q.Get("provider_id"), Before: q.Get("before")}
	var err error
	if f.Since, err = QueryTime(q, "since", now); err != nil {
		s.error(w, r, err)
		return
	}
	if f.Until, err = QueryTime(q, "until", now); err != nil {
		s.error(w, r, err)
		return
	}
	if f.Limit, err = QueryLimit(q); err != nil {
		s.error(w, r, err)
		return
	}
	es, err := s.opts.Store.ListEvents(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]Event, 0, len(es))
	for _, e := range es {
		out = append(out, NewEvent(e, false))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"events": out})
}

// getEvent serves GET /api/events/{id}: one Event with its headers
// (credentials redacted) and body.
func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) {
	e, err := s.opts.Store.GetEvent(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	j := NewEvent(e, true)
	fs, err := s.opts.Store.EventFilters(r.Context(), e.ID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if len(fs) > 0 {
		j.Filtered = NewFiltered(fs)
	}
	WriteJSON(w, http.StatusOK, j)
}
