package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Slack posts to a Slack incoming webhook: a Block Kit message with a
// header, one section per alert (what fired, the figures, a link to the
// issue) and a plain-text fallback.
type Slack struct {
	// URL is the incoming webhook URL: a credential.
	URL    string
	Client *http.Client
}

// Notify posts m.
func (s *Slack) Notify(ctx context.Context, m Message) error {
	body, err := json.Marshal(SlackPayload(m))
	if err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	if err := post(ctx, s.Client, s.URL, nil, body); err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	return nil
}

// SlackPayload is the Block Kit message for m.
func SlackPayload(m Message) map[string]any {
	text := func(s string) map[string]any { return map[string]any{"type": "mrkdwn", "text": s} }
	blocks := []any{
		map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": trim(m.Title(), 150)}},
	}
	for _, it := range m.Items {
		mark := ":red_circle:"
		switch describe(it) {
		case "RESOLVED":
			mark = ":large_green_circle:"
		case "TEST":
			mark = ":white_check_mark:"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s *%s* %s  (`%s` on %s)", mark, describe(it), slackEscape(it.Headline()), it.Rule, slackEscape(it.Subject))
		for _, l := range it.Lines() {
			switch {
			case l.Code:
				fmt.Fprintf(&b, "\n*%s:* `%s`", l.Label, strings.ReplaceAll(l.Text, "`", "'"))
			case l.URL && l.Label == "Issue":
				fmt.Fprintf(&b, "\n<%s|View issue %s>", l.Text, it.IssueID)
			case l.URL:
				fmt.Fprintf(&b, "\n<%s|Open the alerts dashboard>", l.Text)
			default:
				fmt.Fprintf(&b, "\n*%s:* %s", l.Label, slackEscape(l.Text))
			}
		}
		blocks = append(blocks, map[string]any{"type": "section", "text": text(trim(b.String(), 3000))})
	}
	blocks = append(blocks, map[string]any{"type": "context", "elements": []any{text("Sent by Hookwatch")}})
	return map[string]any{"text": m.Title(), "blocks": blocks}
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning
// to, so that an answer body cannot make links or mentions.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
