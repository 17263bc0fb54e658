package web

import (
	"net/http"
	"sort"

	"github.com/hookwatch/hookwatch"
)

type alertsData struct {
	States  []hookwatch.AlertState
	History []*hookwatch.Notification
	// Channel and Rule narrow the history.
	Channel, Rule string
}

// alertList shows every alert (a rule on a subject) with its state, firing
// first, and the notification history.
func (h *Handler) alertList(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	states, err := h.alerts.AlertStates(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	rank := map[hookwatch.AlertStatus]int{hookwatch.AlertFiring: 0, hookwatch.AlertPending: 1, hookwatch.AlertOK: 2}
	sort.SliceStable(states, func(i, j int) bool {
		if rank[states[i].Status] != rank[states[j].Status] {
			return rank[states[i].Status] < rank[states[j].Status]
		}
		if states[i].Rule != states[j].Rule {
			return states[i].Rule < states[j].Rule
		}
		return states[i].Subject < states[j].Subject
	})
	d := &alertsData{States: states, Channel: r.URL.Query().Get("channel"), Rule: r.URL.Query().Get("rule")}
	if d.History, err = h.alerts.ListNotifications(ctx, hookwatch.NotificationFilter{Channel: d.Channel, Rule: d.Rule, Limit: 200}); err != nil {
		h.fail(w, r, p, err)
		return
	}
	p.Title, p.Nav, p.Refresh, p.Data = "Alerts", "alerts", true, d
	h.render(w, r, http.StatusOK, "alerts", p)
}
