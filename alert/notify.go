package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Item is one alert of a message.
type Item struct {
	hookwatch.Notification
	// IssueURL links to the related issue's dashboard page, if any;
	// AlertsURL to the dashboard's alerts page of the rule.
	IssueURL  string
	AlertsURL string
}

// Headline names what the item is about: "app: circuit open" (the rule and
// subject for notifications recorded without details).
func (it Item) Headline() string {
	if it.Details != nil && it.Details.Headline != "" {
		return it.Details.Headline
	}
	return it.Rule + " on " + it.Subject
}

// Message is what one channel is told at once: every alert queued for it
// since its last message (a storm is one message).
type Message struct {
	Items []Item
}

// Title sums the message up in one line that names what fired:
// "[Hookwatch] app: circuit open", "[Hookwatch] app: circuit open, 3
// more", "[Hookwatch] Resolved: app: circuit open (lasted 12m)".
func (m Message) Title() string {
	var firing, resolved, test []Item
	for _, it := range m.Items {
		switch it.Kind {
		case hookwatch.NotifyFiring:
			firing = append(firing, it)
		case hookwatch.NotifyResolved:
			resolved = append(resolved, it)
		case hookwatch.NotifyTest:
			test = append(test, it)
		}
	}
	more := func(n int) string {
		if n == 0 {
			return ""
		}
		return fmt.Sprintf(", %d more", n)
	}
	switch {
	case len(firing) > 0:
		t := "[Hookwatch] " + firing[0].Headline() + more(len(firing)-1)
		if len(resolved) > 0 {
			t += fmt.Sprintf(" (%d resolved)", len(resolved))
		}
		return t
	case len(resolved) == 1:
		t := "[Hookwatch] Resolved: " + resolved[0].Headline()
		if d := resolved[0].Details; d != nil && d.Lasted > 0 {
			t += " (lasted " + shortDur(time.Duration(d.Lasted)*time.Second) + ")"
		}
		return t
	case len(resolved) > 1:
		return "[Hookwatch] Resolved: " + resolved[0].Headline() + more(len(resolved)-1)
	case len(test) > 0:
		return "[Hookwatch] Test notification"
	}
	return "[Hookwatch] Alerts"
}

// Line is one labelled line of an item's text: the notifiers render the
// same lines their own way.
type Line struct {
	Label, Text string
	// Code marks a command to copy; URL a link.
	Code, URL bool
}

// Lines are what an item says, in order: the summary, the destination and
// its last answer, the backlog, how long, what is affected, the next step
// and its command, and the links. A resolved item says how long it lasted
// and what cleared it.
func (it Item) Lines() []Line {
	var ls []Line
	add := func(label, text string) {
		if text != "" {
			ls = append(ls, Line{Label: label, Text: text})
		}
	}
	d := it.Details
	if d == nil {
		d = &hookwatch.AlertDetails{}
	}
	if it.Kind == hookwatch.NotifyResolved {
		if d.Lasted > 0 {
			add("Lasted", shortDur(time.Duration(d.Lasted)*time.Second)+" (since "+d.Since.UTC().Format("2006-01-02 15:04 UTC")+")")
		}
		add("Cleared", it.Summary)
	} else {
		add("What", it.Summary)
	}
	if d.Destination != "" {
		add("Destination", strings.TrimSpace(d.Destination+" "+d.URL))
	}
	if d.LastStatus != 0 || d.LastError != "" {
		answer := "no answer"
		if d.LastStatus != 0 {
			answer = "HTTP " + strconv.Itoa(d.LastStatus)
		}
		if d.LastError != "" && d.LastError != answer {
			answer += ": " + d.LastError
		}
		add("Last answer", answer)
	}
	if d.Backlog > 0 {
		what := "deliveries waiting, the oldest"
		if d.Backlog == 1 {
			what = "delivery waiting"
		}
		add("Backlog", fmt.Sprintf("%d %s for %s", d.Backlog, what, shortDur(time.Duration(d.OldestWaiting)*time.Second)))
	} else if it.Kind != hookwatch.NotifyTest && d.Headline != "" {
		add("Backlog", "none waiting")
	}
	if it.Kind == hookwatch.NotifyFiring && !d.Since.IsZero() {
		took := "less than a minute"
		if it.CreatedAt.Sub(d.Since) >= time.Minute {
			took = shortDur(it.CreatedAt.Sub(d.Since))
		}
		add("Going on for", took+" (since "+d.Since.UTC().Format("2006-01-02 15:04 UTC")+")")
	}
	var affected []string
	if len(d.Sources) > 0 {
		affected = append(affected, "sources "+strings.Join(d.Sources, ", "))
	}
	if len(d.EventTypes) > 0 {
		affected = append(affected, "event types "+strings.Join(d.EventTypes, ", "))
	}
	add("Affected", strings.Join(affected, "; "))
	add("Held back", d.HeldBack)
	add("Next step", d.NextStep)
	if d.Command != "" {
		ls = append(ls, Line{Label: "Run", Text: d.Command, Code: true})
	}
	if it.IssueURL != "" {
		ls = append(ls, Line{Label: "Issue", Text: it.IssueURL, URL: true})
	}
	if it.AlertsURL != "" {
		ls = append(ls, Line{Label: "Dashboard", Text: it.AlertsURL, URL: true})
	}
	return ls
}

// Text is the item as plain text: a first line, then one indented line per
// Line.
func (it Item) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (rule %s on %s)\n", describe(it), it.Headline(), it.Rule, it.Subject)
	for _, l := range it.Lines() {
		fmt.Fprintf(&b, "  %s: %s\n", l.Label, l.Text)
	}
	return b.String()
}

// Notifier sends messages to one channel. Errors never contain the
// channel's secrets (webhook URLs, keys, passwords).
type Notifier interface {
	Notify(ctx context.Context, m Message) error
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
