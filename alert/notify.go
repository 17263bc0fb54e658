package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
)

// Item is one alert of a message.
type Item struct {
	hookwatch.Notification
	// IssueURL links to the related issue, if any.
	IssueURL string
}

// Message is what one channel is told at once: every alert queued for it
// since its last message (a storm is one message).
type Message struct {
	Items []Item
}

// Title sums the message up in one line.
func (m Message) Title() string {
	var firing, resolved, test int
	for _, it := range m.Items {
		switch it.Kind {
		case hookwatch.NotifyFiring:
			firing++
		case hookwatch.NotifyResolved:
			resolved++
		case hookwatch.NotifyTest:
			test++
		}
	}
	if test > 0 && firing+resolved == 0 {
		return "[Hookwatch] Test notification"
	}
	if len(m.Items) == 1 {
		it := m.Items[0]
		if it.Kind == hookwatch.NotifyResolved {
			return fmt.Sprintf("[Hookwatch] Resolved: %s on %s", it.Rule, it.Subject)
		}
		return fmt.Sprintf("[Hookwatch] Firing: %s on %s", it.Rule, it.Subject)
	}
	var parts []string
	if firing > 0 {
		parts = append(parts, fmt.Sprintf("%d firing", firing))
	}
	if resolved > 0 {
		parts = append(parts, fmt.Sprintf("%d resolved", resolved))
	}
	return "[Hookwatch] " + strings.Join(parts, ", ")
}

// Notifier sends messages to one channel. Errors never contain the
// channel's secrets (webhook URLs, keys, passwords).
type Notifier interface {
	Notify(ctx context.Context, m Message) error
}

// NewNotifier builds the notifier of a configured channel.
func NewNotifier(c config.AlertChannel) (Notifier, error) {
	switch c.Type {
	case config.ChannelSlack:
		return &Slack{URL: c.URL}, nil
	case config.ChannelWebhook:
		return NewWebhook(c.URL, c.Secret)
	case config.ChannelPagerDuty:
		return &PagerDuty{RoutingKey: c.RoutingKey, EventsURL: c.EventsURL}, nil
	case config.ChannelEmail:
		return &Email{Addr: c.SMTP.Addr, Username: c.SMTP.Username, Password: c.SMTP.Password, TLS: c.SMTP.TLS,
			From: c.SMTP.From, To: c.SMTP.To}, nil
	}
	return nil, hookwatch.Errorf(hookwatch.EINVALID, "alert channel %s: unknown type %q", c.Name, c.Type)
}

// Notifiers builds every configured channel's notifier, by name.
func Notifiers(cs []config.AlertChannel) (map[string]Notifier, error) {
	out := map[string]Notifier{}
	for _, c := range cs {
		n, err := NewNotifier(c)
		if err != nil {
			return nil, err
		}
		out[c.Name] = n
	}
	return out, nil
}

var httpClient = &http.Client{Timeout: 15 * time.Second}

// post sends body to u and wants a 2xx. The error never includes the URL:
// it is a credential for Slack and many webhooks.
func post(ctx context.Context, client *http.Client, u string, header http.Header, body []byte) error {
	if client == nil {
		client = httpClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return errors.New("invalid URL")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "Hookwatch/"+hookwatch.Version)
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(answer)))
	}
	return nil
}

// describe prints an item's kind as a word with an emoji-free marker.
func describe(it Item) string {
	switch it.Kind {
	case hookwatch.NotifyFiring:
		return "FIRING"
	case hookwatch.NotifyResolved:
		return "RESOLVED"
	}
	return "TEST"
}
