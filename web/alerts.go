package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// AlertRule is a configured alert rule as the alerts page lists it, every
// figure with its unit (alert.Describe makes them).
type AlertRule struct {
	Name, Kind string
	// Scope is what it watches ("each destination"); Condition when it
	// fires ("error rate > 5% over 5m (at least 20 attempts)").
	Scope, Condition string
	// For and Cooldown are durations written "5m".
	For, Cooldown string
	Channels      []string
}

func init() {
	// The alerts page's own flash messages (see redirect).
	flashes["silenced"] = "Silence added: the rule's firing notifications are held back until it ends."
	flashes["unsilenced"] = "Silence removed."
}

type alertsData struct {
	// Rules are every configured rule, evaluated or not, with their alerts.
	Rules []ruleRow
	// Others are alerts of rules no longer configured.
	Others   []hookwatch.AlertState
	Silences []*hookwatch.Silence
	History  []*hookwatch.Notification
	// Channel and Rule narrow the history.
	Channel, Rule string
	// RuleNames fill the silence form's choice.
	RuleNames []string
}

type ruleRow struct {
	AlertRule
	States []hookwatch.AlertState
	// Evaluated is false for a rule the evaluator has not measured yet.
	Evaluated bool
}

// alertList shows every configured rule with its alerts (firing first),
// the silences in force with a form to add one, and the notification
// history.
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
		return states[i].Subject < states[j].Subject
	})
	d := &alertsData{Channel: r.URL.Query().Get("channel"), Rule: r.URL.Query().Get("rule")}
	known := map[string]int{}
	for i, rule := range h.opts.AlertRules {
		known[rule.Name] = i
		d.Rules = append(d.Rules, ruleRow{AlertRule: rule})
		d.RuleNames = append(d.RuleNames, rule.Name)
	}
	for _, s := range states {
		i, ok := known[s.Rule]
		if !ok {
			d.Others = append(d.Others, s)
			continue
		}
		d.Rules[i].Evaluated = true
		if s.Status != hookwatch.AlertOK || s.HeldBack != "" {
			d.Rules[i].States = append(d.Rules[i].States, s)
		}
	}
	if d.Silences, err = h.alerts.ListSilences(ctx, p.now); err != nil {
		h.fail(w, r, p, err)
		return
	}
	if d.History, err = h.alerts.ListNotifications(ctx, hookwatch.NotificationFilter{Channel: d.Channel, Rule: d.Rule, Limit: 200}); err != nil {
		h.fail(w, r, p, err)
		return
	}
	p.Title, p.Nav, p.Refresh, p.Data = "Alerts", "alerts", true, d
	h.render(w, r, http.StatusOK, "alerts", p)
}

// silence adds a silence from the alerts page's form.
func (h *Handler) silence(w http.ResponseWriter, r *http.Request, p *page) {
	rule := strings.TrimSpace(r.PostFormValue("rule"))
	found := false
	for _, ar := range h.opts.AlertRules {
		found = found || ar.Name == rule
	}
	if !found {
		h.fail(w, r, p, hookwatch.Errorf(hookwatch.EINVALID, "no alert rule named %q", rule))
		return
	}
	d, err := parseFor(r.PostFormValue("for"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	now := p.now.UTC().Truncate(time.Microsecond)
	si := &hookwatch.Silence{ID: hookwatch.NewID("sil", now), Rule: rule, Subject: strings.TrimSpace(r.PostFormValue("subject")),
		Comment: strings.TrimSpace(r.PostFormValue("comment")), CreatedBy: "dashboard:" + p.User, CreatedAt: now, ExpiresAt: now.Add(d)}
	if err := h.alerts.AddSilence(r.Context(), si); err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.opts.Logger.InfoContext(r.Context(), "alert silenced from the dashboard", "silence", si.ID, "rule", si.Rule, "subject", si.Subject,
		"until", si.ExpiresAt, "user", p.User)
	redirect(w, r, "/alerts#silences", "silenced", -1)
}

// unsilence removes a silence.
func (h *Handler) unsilence(w http.ResponseWriter, r *http.Request, p *page) {
	si, err := h.alerts.RemoveSilence(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.opts.Logger.InfoContext(r.Context(), "silence removed from the dashboard", "silence", si.ID, "rule", si.Rule, "user", p.User)
	redirect(w, r, "/alerts#silences", "unsilenced", -1)
}

// parseFor reads a silence's duration: Go's units plus days ("2h",
// "90m", "1d").
func parseFor(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := hookwatch.Errorf(hookwatch.EINVALID, "duration %q: write a number and a unit: 30m, 2h, 1d", s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, bad
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}
