package server

import (
	"net/http"
	"time"

	"github.com/hookwatch/hookwatch"
)

// AlertRule is an alert rule as GET /api/alerts shows it: snake_case keys,
// and every duration both as a string ("5m0s") and in seconds, so that a
// script need not parse Go durations. Zero durations are left out.
type AlertRule struct {
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	Source      string   `json:"source,omitempty"`
	Destination string   `json:"destination,omitempty"`
	Per         string   `json:"per,omitempty"`
	Threshold   float64  `json:"threshold"`
	Window      *Seconds `json:"window,omitempty"`
	MinVolume   int      `json:"min_volume,omitempty"`
	Percentile  float64  `json:"percentile,omitempty"`
	Latency     *Seconds `json:"latency,omitempty"`
	Age         *Seconds `json:"age,omitempty"`
	Objective   float64  `json:"objective,omitempty"`
	Within      *Seconds `json:"within,omitempty"`
	LongWindow  *Seconds `json:"long_window,omitempty"`
	ShortWindow *Seconds `json:"short_window,omitempty"`
	BurnRate    float64  `json:"burn_rate,omitempty"`
	For         *Seconds `json:"for,omitempty"`
	Cooldown    *Seconds `json:"cooldown,omitempty"`
	// NotifyResolved is the effective value (unset in the config: true).
	NotifyResolved bool     `json:"notify_resolved"`
	Channels       []string `json:"channels,omitempty"`
}

// Seconds is a duration in the API: {"duration": "5m0s", "seconds": 300}.
type Seconds struct {
	Duration string  `json:"duration"`
	Seconds  float64 `json:"seconds"`
}

// NewSeconds returns d as Seconds, or nil for 0 (left out of the answer).
func NewSeconds(d time.Duration) *Seconds {
	if d == 0 {
		return nil
	}
	return &Seconds{Duration: d.String(), Seconds: d.Seconds()}
}

// health serves GET /api/health: the health report (alert.Report).
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	rep, err := s.opts.Health(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, rep)
}

// listAlerts serves GET /api/alerts: {"rules": [AlertRule], "states":
// [AlertState], "silences": [Silence in force]}.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	states, err := s.opts.Store.AlertStates(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	if states == nil {
		states = []hookwatch.AlertState{}
	}
	silences, err := s.opts.Store.ListSilences(r.Context(), s.opts.Now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	if silences == nil {
		silences = []*hookwatch.Silence{}
	}
	rules := s.opts.AlertRules
	if rules == nil {
		rules = []AlertRule{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"rules": rules, "states": states, "silences": silences})
}

// alertHistory serves GET /api/alerts/history: {"notifications":
// [Notification]}, newest first (channel, rule, status, limit).
func (s *Server) alertHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := hookwatch.NotificationFilter{Channel: q.Get("channel"), Rule: q.Get("rule")}
	var err error
	if f.Status, err = QueryStatus(q, hookwatch.NotificationQueued, hookwatch.NotificationSent,
		hookwatch.NotificationFailed, hookwatch.NotificationInhibited, hookwatch.NotificationSilenced); err != nil {
		s.error(w, r, err)
		return
	}
	if f.Limit, err = QueryLimit(q); err != nil {
		s.error(w, r, err)
		return
	}
	ns, err := s.opts.Store.ListNotifications(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if ns == nil {
		ns = []*hookwatch.Notification{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"notifications": ns})
}

// testChannel serves POST /api/alerts/test/{channel}: the test
// Notification, recorded in the history.
func (s *Server) testChannel(w http.ResponseWriter, r *http.Request) {
	n, err := s.opts.TestChannel(r.Context(), r.PathValue("channel"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, n)
}
