package alert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/alert"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
	"github.com/hookwatch/hookwatch/web"
	"golang.org/x/crypto/bcrypt"
)

type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// relay is a local SMTP server without TLS or auth (an internal relay)
// that keeps the last message.
type relay struct {
	mu   sync.Mutex
	data []byte
}

func (r *relay) NewSession(*smtp.Conn) (smtp.Session, error) { return &relaySession{r}, nil }

type relaySession struct{ r *relay }

func (s *relaySession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *relaySession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.r.mu.Lock()
	s.r.data = b
	s.r.mu.Unlock()
	return err
}
func (s *relaySession) Reset()        {}
func (s *relaySession) Logout() error { return nil }

// bodyOf keeps the last body posted to a local receiver.
type bodyOf struct {
	mu   sync.Mutex
	body []byte
}

func (b *bodyOf) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.body = body
	b.mu.Unlock()
}

func (b *bodyOf) get() []byte { b.mu.Lock(); defer b.mu.Unlock(); return b.body }

// failAt stores an event of source and type routed to app whose attempt
// failed with status and body (retried or dead), and records the failure
// into its issue as the engine's recorder does.
func failAt(t *testing.T, s hookwatch.Store, source, typ string, at time.Time, status int, body string, o hookwatch.Outcome) {
	t.Helper()
	ctx := context.Background()
	e := storetest.NewEvent(source, "", at)
	e.Type, e.Destinations = typ, []string{"app"}
	if _, err := s.InsertEvents(ctx, []*hookwatch.Event{e}); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "w", Now: at, Lease: time.Minute, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.EventID != e.ID {
			s.ReleaseDeliveries(ctx, "w", []string{d.ID})
			continue
		}
		a := hookwatch.Attempt{DeliveryID: d.ID, Owner: "w", At: at, Class: hookwatch.ClassValidation, StatusCode: status, Error: "HTTP 422",
			Response: []byte(body)}
		if _, err := s.FinishDeliveries(ctx, []hookwatch.Finish{{Owner: "w", Outcome: o, NextAttemptAt: at.Add(time.Hour), Attempt: a}}); err != nil {
			t.Fatal(err)
		}
		kind := hookwatch.FailureAttempt
		if o == hookwatch.OutcomeDead {
			kind = hookwatch.FailureDeadLetter
		}
		if _, err := s.RecordFailures(ctx, []hookwatch.Failure{{Kind: kind, Source: source, Destination: "app", Class: string(a.Class),
			EventID: e.ID, DeliveryID: d.ID, At: at, Message: a.Error}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLinksOpenTheIssue sends a dead-letter alert to local Slack, webhook
// and SMTP receivers with base_url set to a running dashboard, and follows
// each message's link the way an on-call engineer does: signed out, then
// through the sign-in page, to the page of the issue whose dead letters
// fired the alert. Each message carries the figures to act on.
func TestLinksOpenTheIssue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	hash, _ := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err := s.CreateUser(ctx, &hookwatch.User{Name: "alice", PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	dash, err := web.New(web.Options{Store: s, Sources: []string{"github", "stripe"}, Destinations: []web.Destination{{Name: "app", URL: "https://app.example.com/hooks"}}})
	if err != nil {
		t.Fatal(err)
	}
	dashSrv := httptest.NewServer(dash)
	t.Cleanup(dashSrv.Close)

	now := time.Now().UTC().Truncate(time.Second)
	// GitHub's pushes are refused (422, dead letters); Stripe's invoice
	// fails later and is retried: the newer issue, but not the dead letters.
	for i := range 2 {
		failAt(t, s, "github", "push", now.Add(time.Duration(i)*time.Second), 422, "{\"error\":\"unknown repository\"}\nat handler.go:42", hookwatch.OutcomeDead)
	}
	failAt(t, s, "stripe", "invoice.paid", now.Add(5*time.Second), 500, "Internal Server Error", hookwatch.OutcomeRetry)
	issues, _ := s.ListIssues(ctx, hookwatch.IssueFilter{})
	var githubIssue string
	for _, i := range issues {
		if i.Source == "github" {
			githubIssue = i.ID
		}
	}

	slack, hook := &bodyOf{}, &bodyOf{}
	slackSrv, hookSrv := httptest.NewServer(slack), httptest.NewServer(hook)
	t.Cleanup(slackSrv.Close)
	t.Cleanup(hookSrv.Close)
	rl := &relay{}
	smtpSrv := smtp.NewServer(rl)
	smtpSrv.Domain, smtpSrv.AllowInsecureAuth = "relay.test", true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go smtpSrv.Serve(ln)
	t.Cleanup(func() { smtpSrv.Close() })
	wh, _ := alert.NewWebhook(hookSrv.URL, "")
	channels := map[string]alert.Notifier{
		"slack": &alert.Slack{URL: slackSrv.URL},
		"hooks": wh,
		"mail":  &alert.Email{Addr: ln.Addr().String(), TLS: "none", From: "hookwatch@example.com", To: []string{"ops@example.com"}},
	}
	rule := alert.Rule{Name: "dead-letter", Kind: hookwatch.AlertDeadLetters, Per: "destination", Window: 5 * time.Minute,
		Cooldown: 30 * time.Minute}
	e := alert.New(alert.Options{Store: s, Rules: []alert.Rule{rule}, Channels: channels, Clock: &fixedClock{now.Add(10 * time.Second)},
		BaseURL: dashSrv.URL + "/", Owner: "a", Destinations: map[string]string{"app": "https://deploy:hunter2@app.example.com/hooks?token=s3cr3t&v=2#frag"},
		Sleep: func(context.Context, time.Duration) error { return nil }})
	if err := e.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	hist, _ := s.ListNotifications(ctx, hookwatch.NotificationFilter{})
	for _, n := range hist {
		if n.Status != hookwatch.NotificationSent {
			t.Fatalf("notification %s to %s: %s %s", n.ID, n.Channel, n.Status, n.Error)
		}
	}

	// The messages, as each receiver got them.
	var slackMsg struct {
		Blocks []struct {
			Text struct{ Text string } `json:"text"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(slack.get(), &slackMsg); err != nil || len(slackMsg.Blocks) < 2 {
		t.Fatalf("slack got %s (%v)", slack.get(), err)
	}
	slackText := slackMsg.Blocks[1].Text.Text
	var hookMsg alert.WebhookPayload
	if err := json.Unmarshal(hook.get(), &hookMsg); err != nil || len(hookMsg.Alerts) != 1 {
		t.Fatalf("webhook got %s (%v)", hook.get(), err)
	}
	rl.mu.Lock()
	raw := rl.data
	rl.mu.Unlock()
	mailText, subject := textPart(t, raw)

	links := map[string]string{
		"slack":   regexpFind(`<([^|>]+)\|View issue`, slackText),
		"webhook": hookMsg.Alerts[0].IssueURL,
		"email":   regexpFind(`Issue: (\S+)`, mailText),
	}
	texts := map[string]string{"slack": slackText, "webhook": hookMsg.Alerts[0].Text, "email": mailText}
	for channel, link := range links {
		u, err := url.Parse(link)
		if err != nil || link == "" || u.Host != strings.TrimPrefix(dashSrv.URL, "http://") {
			t.Errorf("%s: link %q is not on the dashboard %s", channel, link, dashSrv.URL)
			continue
		}
		status, page := follow(t, dashSrv.URL, link)
		if status != http.StatusOK || !strings.Contains(page, githubIssue) || !strings.Contains(page, "github") || !strings.Contains(page, "validation_error") {
			t.Errorf("%s: %s answered %d, want the page of the GitHub issue %s:\n%.1500s", channel, link, status, githubIssue, page)
		}
		text := texts[channel]
		for _, want := range []string{
			"app: dead letters", // what fired
			"https://[redacted]@app.example.com/hooks?token=[redacted]&v=[redacted]", // where, redacted
			"HTTP 422: {\"error\":\"unknown repository\"}",                           // the last answer's first line
			"1 delivery waiting for",                                                 // the backlog (Stripe's retry)
			"Going on for",                                                           // how long
			"sources github, stripe",                                                 // what is affected
			"event types push",
			"hookwatch replay --destination app --status dead --since 5m", // the next step
			dashSrv.URL + "/alerts?rule=dead-letter",
		} {
			if !strings.Contains(strings.ReplaceAll(text, "&amp;", "&"), want) {
				t.Errorf("%s: message lacks %q:\n%s", channel, want, text)
			}
		}
		for _, secret := range []string{"hunter2", "s3cr3t", "frag", "handler.go"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s: message shows %q:\n%s", channel, secret, text)
			}
		}
	}
	if subject != "[Hookwatch] app: dead letters" {
		t.Errorf("email subject = %q", subject)
	}
}

// follow opens link in a new browser: signed out it is sent to sign in,
// signs in, and lands where the link pointed.
func follow(t *testing.T, base, link string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	signin := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(signin, "/signin?next=") {
		t.Fatalf("signed out, %s answered %d %q; want the sign-in page", link, resp.StatusCode, signin)
	}
	resp, err = c.Get(base + signin)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexpFind(`name="csrf" value="([^"]+)"`, string(b))
	next := regexpFind(`name="next" value="([^"]+)"`, string(b))
	resp, err = c.PostForm(base+"/signin", url.Values{"csrf": {csrf}, "name": {"alice"}, "password": {"correct horse"}, "next": {htmlUnescape(next)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in answered %d", resp.StatusCode)
	}
	resp, err = c.Get(base + resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ = io.ReadAll(resp.Body)
	if resp.Request.URL.Path != mustPath(link) {
		t.Errorf("landed on %s, want %s", resp.Request.URL.Path, mustPath(link))
	}
	return resp.StatusCode, string(b)
}

func mustPath(link string) string {
	u, _ := url.Parse(link)
	return u.Path
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#x2F;", "/", "&#47;", "/").Replace(s)
}

func regexpFind(re, s string) string {
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}

// textPart returns the text/plain part of a multipart message and its
// subject.
func textPart(t *testing.T, raw []byte) (string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("email: %v\n%s", err, raw)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			t.Fatal("no text/plain part")
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, _ := io.ReadAll(p)
			return string(b), subject
		}
	}
}
