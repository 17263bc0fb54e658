package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
)

// Webhook posts alerts as JSON to any URL, signed the Standard Webhooks way
// (webhook-id, webhook-timestamp, webhook-signature: v1,<base64>) when a
// secret is set, so the receiver verifies it with any Standard Webhooks
// library.
type Webhook struct {
	URL    string
	key    []byte
	Client *http.Client
	Now    func() time.Time
}

// NewWebhook returns a webhook notifier; secret is "whsec_" + base64, or
// empty for unsigned requests.
func NewWebhook(url, secret string) (*Webhook, error) {
	w := &Webhook{URL: url, Now: time.Now}
	if secret != "" {
		key, err := deliver.ParseSecret(secret)
		if err != nil {
			return nil, hookwatch.Errorf(hookwatch.EINVALID, "webhook channel: %v", err)
		}
		w.key = key
	}
	return w, nil
}

// WebhookPayload is the JSON body of a webhook notification.
type WebhookPayload struct {
	Type   string          `json:"type"` // "hookwatch.alerts"
	Title  string          `json:"title"`
	Alerts []WebhookAlerts `json:"alerts"`
}

// WebhookAlerts is one alert of a webhook notification.
type WebhookAlerts struct {
	ID        string  `json:"id"`
	Status    string  `json:"status"` // firing, resolved, test
	Rule      string  `json:"rule"`
	Subject   string  `json:"subject"`
	Summary   string  `json:"summary"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	IssueID   string  `json:"issue_id,omitempty"`
	IssueURL  string  `json:"issue_url,omitempty"`
	// DashboardURL is the dashboard's alerts page of the rule.
	DashboardURL string    `json:"dashboard_url,omitempty"`
	At           time.Time `json:"at"`
	// Headline and Text are the alert in words, as the other channels
	// say it; Details are its figures and next step.
	Headline string                  `json:"headline"`
	Text     string                  `json:"text"`
	Details  *hookwatch.AlertDetails `json:"details,omitempty"`
}

// Notify posts m.
func (w *Webhook) Notify(ctx context.Context, m Message) error {
	p := WebhookPayload{Type: "hookwatch.alerts", Title: m.Title()}
	for _, it := range m.Items {
		p.Alerts = append(p.Alerts, WebhookAlerts{ID: it.ID, Status: string(it.Kind), Rule: it.Rule, Subject: it.Subject,
			Summary: it.Summary, Value: it.Value, Threshold: it.Threshold, IssueID: it.IssueID, IssueURL: it.IssueURL, DashboardURL: it.AlertsURL,
			At: it.CreatedAt, Headline: it.Headline(), Text: it.Text(), Details: it.Details})
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	now := w.Now()
	id := hookwatch.NewID("msg", now)
	if len(m.Items) > 0 {
		id = m.Items[0].ID // stable across retries: the receiver dedupes
	}
	h := http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {strconv.FormatInt(now.Unix(), 10)}}
	if w.key != nil {
		h.Set("Webhook-Signature", deliver.Sign(w.key, id, now, body))
	}
	if err := post(ctx, w.Client, w.URL, h, body); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	return nil
}
