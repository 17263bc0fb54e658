package server

import (
	"net/http"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
)

// Destination is a destination as the admin API and the CLI's --json
// print it.
type Destination struct {
	Name           string     `json:"name"`
	URL            string     `json:"url,omitempty"`
	State          string     `json:"state"`
	Paused         bool       `json:"paused,omitempty"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	Circuit        string     `json:"circuit"`
	ProbeAt        *time.Time `json:"probe_at,omitempty"`
	// RetryAfterUntil is set while the app's Retry-After holds it back.
	RetryAfterUntil *time.Time     `json:"retry_after_until,omitempty"`
	Waiting         *Waiting       `json:"waiting"`
	Counts          map[string]int `json:"counts"`
}

// NewDestination returns i as printed at now (the URL's credentials
// redacted).
func NewDestination(i deliver.DestinationInfo, now time.Time) Destination {
	j := Destination{Name: i.Name, URL: hookwatch.RedactURL(i.URL), State: i.StateName(), Paused: i.State.Paused,
		DisabledAt: timePtr(i.State.DisabledAt), DisabledReason: i.State.DisabledReason, Circuit: string(i.State.Circuit),
		Waiting: NewWaiting(i.Waiting(now)), Counts: map[string]int{}}
	if i.State.Circuit == hookwatch.CircuitOpen || i.State.Circuit == hookwatch.CircuitHalfOpen {
		j.ProbeAt = timePtr(i.State.ProbeAt)
	}
	if i.State.NotBefore.After(now) {
		j.RetryAfterUntil = timePtr(i.State.NotBefore)
	}
	if j.Circuit == "" {
		j.Circuit = string(hookwatch.CircuitClosed)
	}
	for _, s := range []hookwatch.DeliveryStatus{hookwatch.DeliveryPending, hookwatch.DeliverySucceeded, hookwatch.DeliveryDead} {
		j.Counts[string(s)] = i.Counts[s]
	}
	return j
}

// listDestinations serves GET /api/destinations: {"destinations":
// [Destination]}, configured ones and those with deliveries in the store.
func (s *Server) listDestinations(w http.ResponseWriter, r *http.Request) {
	infos, err := deliver.ListDestinations(r.Context(), s.opts.Store, s.opts.Engine.Destinations())
	if err != nil {
		s.error(w, r, err)
		return
	}
	now := s.opts.Now()
	out := make([]Destination, 0, len(infos))
	for _, i := range infos {
		out = append(out, NewDestination(i, now))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"destinations": out})
}

// pauseDestination serves POST /api/destinations/{name}/pause.
func (s *Server) pauseDestination(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.opts.Engine.SetPaused(r.Context(), name, true); err != nil {
		s.error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"name": name, "paused": true})
}

// resumeDestination serves POST /api/destinations/{name}/resume. Resume
// probes at once; the probe's outcome is in the answer, and a failed probe
// leaves the destination resumed (probe_error says why).
func (s *Server) resumeDestination(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	res, err := s.opts.Engine.Resume(r.Context(), name)
	if res == nil {
		s.error(w, r, err)
		return
	}
	probeErr := ""
	if err != nil {
		probeErr = hookwatch.ErrorMessage(err)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"name": name, "paused": false, "probe": res, "probe_error": probeErr})
}

// probeDestination serves POST /api/destinations/{name}/probe: the
// deliver.ProbeResult.
func (s *Server) probeDestination(w http.ResponseWriter, r *http.Request) {
	res, err := s.opts.Engine.Probe(r.Context(), r.PathValue("name"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, res)
}
