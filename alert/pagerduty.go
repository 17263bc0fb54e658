package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hookwatch/hookwatch"
)

// PagerDuty sends PagerDuty Events API v2 events: trigger when an alert
// fires, resolve when it clears, with a dedup key per alert (rule and
// subject) so that PagerDuty pairs them. A message of several alerts is
// several events: PagerDuty incidents are per alert.
type PagerDuty struct {
	// RoutingKey is the integration key: a credential.
	RoutingKey string
	// EventsURL is the events endpoint (the config's events_url, by default
	// PagerDuty's).
	EventsURL string
	Client    *http.Client
}

// PagerDutyEvent is an Events API v2 event.
type PagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"` // trigger, resolve
	DedupKey    string            `json:"dedup_key"`
	Payload     *PagerDutyPayload `json:"payload,omitempty"`
	Client      string            `json:"client,omitempty"`
	ClientURL   string            `json:"client_url,omitempty"`
	Links       []PagerDutyLink   `json:"links,omitempty"`
}

// PagerDutyPayload is the payload of a trigger event.
type PagerDutyPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"` // critical, error, warning, info
	Component     string         `json:"component,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// PagerDutyLink is a link shown on the incident.
type PagerDutyLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// DedupKey is the PagerDuty dedup key of an alert.
func DedupKey(rule, subject string) string { return "hookwatch/" + rule + "/" + subject }

// Notify sends one event per alert of m.
func (p *PagerDuty) Notify(ctx context.Context, m Message) error {
	var errs []error
	for _, it := range m.Items {
		ev := PagerDutyEvent{RoutingKey: p.RoutingKey, DedupKey: DedupKey(it.Rule, it.Subject), Client: "Hookwatch"}
		switch it.Kind {
		case hookwatch.NotifyResolved:
			ev.EventAction = "resolve"
		default:
			ev.EventAction = "trigger"
			sev := "error"
			if it.Kind == hookwatch.NotifyTest {
				sev = "info"
			}
			details := map[string]any{"value": it.Value, "threshold": it.Threshold, "issue_id": it.IssueID, "rule": it.Rule, "subject": it.Subject}
			for _, l := range it.Lines() {
				if !l.URL {
					details[strings.ToLower(strings.ReplaceAll(l.Label, " ", "_"))] = l.Text
				}
			}
			ev.Payload = &PagerDutyPayload{Summary: trim(it.Headline()+": "+it.Summary, 1024), Source: it.Subject,
				Severity: sev, Component: it.Subject, Class: it.Rule, CustomDetails: details}
			if it.IssueURL != "" {
				ev.ClientURL = it.IssueURL
				ev.Links = append(ev.Links, PagerDutyLink{Href: it.IssueURL, Text: "Hookwatch issue " + it.IssueID})
			}
			if it.AlertsURL != "" {
				if ev.ClientURL == "" {
					ev.ClientURL = it.AlertsURL
				}
				ev.Links = append(ev.Links, PagerDutyLink{Href: it.AlertsURL, Text: "Hookwatch alerts: " + it.Rule})
			}
		}
		body, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("pagerduty: %w", err)
		}
		if err := post(ctx, p.Client, p.EventsURL, nil, body); err != nil {
			errs = append(errs, fmt.Errorf("pagerduty: %s %s: %w", ev.EventAction, ev.DedupKey, err))
		}
	}
	return errors.Join(errs...)
}
