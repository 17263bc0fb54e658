package server

import (
	"time"

	"github.com/hookwatch/hookwatch/config"
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

// NewAlertRules converts the config's rules for the API.
func NewAlertRules(rules []config.AlertRule) []AlertRule {
	out := make([]AlertRule, 0, len(rules))
	for _, r := range rules {
		out = append(out, AlertRule{Name: r.Name, Kind: r.Kind, Source: r.Source, Destination: r.Destination,
			Per: r.Per, Threshold: r.Threshold, Window: NewSeconds(r.Window.D()), MinVolume: r.MinVolume,
			Percentile: r.Percentile, Latency: NewSeconds(r.Latency.D()), Age: NewSeconds(r.Age.D()),
			Objective: r.Objective, Within: NewSeconds(r.Within.D()), LongWindow: NewSeconds(r.LongWindow.D()),
			ShortWindow: NewSeconds(r.ShortWindow.D()), BurnRate: r.BurnRate, For: NewSeconds(r.For.D()),
			Cooldown: NewSeconds(r.Cooldown.D()), NotifyResolved: r.Resolved(), Channels: r.Channels})
	}
	return out
}
