package alert

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
)

func sample() Message {
	return Message{Items: []Item{
		{Notification: hookwatch.Notification{ID: "ntf_1", Rule: "error-rate", Subject: "destination:app", Kind: hookwatch.NotifyFiring,
			Summary: "error rate 12.0% over 5m (12 failed of 100 attempts)", Value: 0.12, Threshold: 0.05, IssueID: "iss_1", CreatedAt: t0,
			Details: &hookwatch.AlertDetails{Headline: "app: error rate over 5%", Destination: "app", URL: "https://app.example.com/hooks?key=…",
				LastStatus: 500, LastError: "database is down", Backlog: 42, OldestWaiting: 720, Since: t0.Add(-14 * time.Minute),
				Sources: []string{"github", "stripe"}, EventTypes: []string{"invoice.paid", "push"}, NextStep: "Fix app.",
				Command: "hookwatch replay --destination app --status dead --since 20m"}},
			IssueURL: "https://hookwatch.example.com/issues/iss_1", AlertsURL: "https://hookwatch.example.com/alerts?rule=error-rate"},
		{Notification: hookwatch.Notification{ID: "ntf_2", Rule: "dead-letter", Subject: "destination:crm", Kind: hookwatch.NotifyResolved,
			Summary: "0 dead letters over 5m", CreatedAt: t0,
			Details: &hookwatch.AlertDetails{Headline: "crm: dead letters", Destination: "crm", Since: t0.Add(-90 * time.Minute), Lasted: 5400,
				Cleared: "0 dead letters over 5m"}}},
	}}
}

// figures are what every channel must show of sample's firing alert.
var figures = []string{"app: error rate over 5%", "12 failed of 100", "https://app.example.com/hooks?key=…", "HTTP 500: database is down",
	"42 deliveries waiting, the oldest for 12m", "14m (since 2026-11-28 11:46 UTC)", "sources github, stripe", "event types invoice.paid, push",
	"hookwatch replay --destination app --status dead --since 20m", "https://hookwatch.example.com/issues/iss_1",
	"https://hookwatch.example.com/alerts?rule=error-rate"}

// resolvedFigures: how long it lasted and what cleared it.
var resolvedFigures = []string{"crm: dead letters", "Lasted: 1h30m", "Cleared: 0 dead letters over 5m"}

func missing(s string, want []string) []string {
	var out []string
	for _, w := range want {
		if !strings.Contains(s, w) {
			out = append(out, w)
		}
	}
	return out
}

// receiver is a local HTTP endpoint that keeps requests.
func receiver(t *testing.T, status int) (*httptest.Server, func() []*http.Request, func() [][]byte) {
	var mu sync.Mutex
	var reqs []*http.Request
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs, bodies = append(reqs, r), append(bodies, b)
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []*http.Request { mu.Lock(); defer mu.Unlock(); return reqs },
		func() [][]byte { mu.Lock(); defer mu.Unlock(); return bodies }
}

func TestSlack(t *testing.T) {
	t.Parallel()
	srv, reqs, bodies := receiver(t, 200)
	if err := (&Slack{URL: srv.URL + "/services/T0/B0/secret-token"}).Notify(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	if len(reqs()) != 1 || reqs()[0].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("requests = %v", reqs())
	}
	var p struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text struct {
				Type, Text string
			} `json:"text"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(bodies()[0], &p); err != nil {
		t.Fatal(err)
	}
	if p.Text != "[Hookwatch] app: error rate over 5% (1 resolved)" || len(p.Blocks) != 4 || p.Blocks[0].Type != "header" || p.Blocks[3].Type != "context" {
		t.Fatalf("payload = %s", bodies()[0])
	}
	s := p.Blocks[1].Text
	if m := missing(s.Text, append(figures[:len(figures)-2], "*FIRING* app: error rate over 5%",
		"<https://hookwatch.example.com/issues/iss_1|View issue iss_1>",
		"<https://hookwatch.example.com/alerts?rule=error-rate|Open the alerts dashboard>", "`hookwatch replay")); s.Type != "mrkdwn" || len(m) > 0 {
		t.Errorf("first alert section lacks %q:\n%s", m, s.Text)
	}
	if m := missing(p.Blocks[2].Text.Text, []string{"*RESOLVED* crm: dead letters", "*Lasted:* 1h30m", "*Cleared:* 0 dead letters over 5m"}); len(m) > 0 {
		t.Errorf("second section lacks %q:\n%s", m, p.Blocks[2].Text.Text)
	}
	// A failure never shows the webhook URL (it is a credential).
	down, _, _ := receiver(t, 500)
	err := (&Slack{URL: down.URL + "/services/T0/B0/secret-token"}).Notify(context.Background(), sample())
	if err == nil || strings.Contains(err.Error(), "secret-token") || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("error = %v", err)
	}
	down.Close()
	err = (&Slack{URL: down.URL + "/services/T0/B0/secret-token"}).Notify(context.Background(), sample())
	if err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("connection error = %v", err)
	}
}

func TestWebhookSigned(t *testing.T) {
	t.Parallel()
	srv, reqs, bodies := receiver(t, 204)
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	w, err := NewWebhook(srv.URL, secret)
	if err != nil {
		t.Fatal(err)
	}
	w.Now = func() time.Time { return t0 }
	if err := w.Notify(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	r, body := reqs()[0], bodies()[0]
	key, _ := deliver.ParseSecret(secret)
	if r.Header.Get("Webhook-Id") != "ntf_1" || r.Header.Get("Webhook-Timestamp") != "1795867200" ||
		r.Header.Get("Webhook-Signature") != deliver.Sign(key, "ntf_1", t0, body) {
		t.Errorf("headers = %v", r.Header)
	}
	var p WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "hookwatch.alerts" || len(p.Alerts) != 2 || p.Alerts[0].Status != "firing" || p.Alerts[0].Value != 0.12 ||
		p.Alerts[0].IssueURL != "https://hookwatch.example.com/issues/iss_1" || p.Alerts[1].Status != "resolved" ||
		p.Alerts[0].DashboardURL != "https://hookwatch.example.com/alerts?rule=error-rate" || p.Title != "[Hookwatch] app: error rate over 5% (1 resolved)" {
		t.Errorf("payload = %s", body)
	}
	if d := p.Alerts[0].Details; d == nil || d.LastStatus != 500 || d.Backlog != 42 || d.URL != "https://app.example.com/hooks?key=…" ||
		d.Command != "hookwatch replay --destination app --status dead --since 20m" || len(d.Sources) != 2 {
		t.Errorf("details = %+v", d)
	}
	if m := missing(p.Alerts[0].Text, figures); len(m) > 0 {
		t.Errorf("alert text lacks %q:\n%s", m, p.Alerts[0].Text)
	}
	if m := missing(p.Alerts[1].Text, resolvedFigures); len(m) > 0 || p.Alerts[1].Details.Lasted != 5400 {
		t.Errorf("resolved text lacks %q:\n%s", m, p.Alerts[1].Text)
	}
}

func TestPagerDuty(t *testing.T) {
	t.Parallel()
	srv, reqs, bodies := receiver(t, 202)
	p := &PagerDuty{RoutingKey: "R0UT1NGKEY", EventsURL: srv.URL + "/v2/enqueue"}
	if err := p.Notify(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	if len(reqs()) != 2 || reqs()[0].URL.Path != "/v2/enqueue" {
		t.Fatalf("want one event per alert, got %d", len(reqs()))
	}
	var trig, res map[string]any
	json.Unmarshal(bodies()[0], &trig)
	json.Unmarshal(bodies()[1], &res)
	payload, _ := trig["payload"].(map[string]any)
	if trig["routing_key"] != "R0UT1NGKEY" || trig["event_action"] != "trigger" || trig["dedup_key"] != "hookwatch/error-rate/destination:app" ||
		payload["severity"] != "error" || payload["source"] != "destination:app" || !strings.Contains(payload["summary"].(string), "app: error rate over 5%: error rate 12.0%") ||
		trig["client_url"] != "https://hookwatch.example.com/issues/iss_1" {
		t.Errorf("trigger = %s", bodies()[0])
	}
	if m := missing(string(bodies()[0]), append(figures[1:len(figures)-2], `"last_answer":"HTTP 500: database is down"`, `"run":"hookwatch replay`,
		`{"href":"https://hookwatch.example.com/issues/iss_1","text":"Hookwatch issue iss_1"}`, `"href":"https://hookwatch.example.com/alerts?rule=error-rate"`)); len(m) > 0 {
		t.Errorf("trigger lacks %q: %s", m, bodies()[0])
	}
	if res["event_action"] != "resolve" || res["dedup_key"] != "hookwatch/dead-letter/destination:crm" || res["payload"] != nil {
		t.Errorf("resolve = %s", bodies()[1])
	}
}

// smtpBackend is an in-process SMTP server's backend that keeps messages.
type smtpBackend struct {
	mu    sync.Mutex
	auths []string
	from  string
	to    []string
	data  []byte
	tls   bool
}

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &smtpSession{b: b, tls: isTLS}, nil
}

type smtpSession struct {
	b    *smtpBackend
	tls  bool
	auth bool
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		s.b.mu.Lock()
		s.b.auths = append(s.b.auths, username+":"+password)
		s.b.mu.Unlock()
		if username != "alerts" || password != "s3cret" {
			return errors.New("invalid credentials")
		}
		s.auth = true
		return nil
	}), nil
}
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.auth {
		return errors.New("authenticate first")
	}
	s.b.mu.Lock()
	s.b.from = from
	s.b.mu.Unlock()
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.b.mu.Lock()
	s.b.to = append(s.b.to, to)
	s.b.mu.Unlock()
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.b.mu.Lock()
	s.b.data, s.b.tls = b, s.tls
	s.b.mu.Unlock()
	return err
}
func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestEmailSTARTTLS(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	be := &smtpBackend{}
	srv := smtp.NewServer(be)
	srv.Domain = "smtp.test"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.AllowInsecureAuth = false // AUTH only after STARTTLS
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	e := &Email{Addr: ln.Addr().String(), Username: "alerts", Password: "s3cret", TLS: "starttls",
		From: "Hookwatch <hookwatch@example.com>", To: []string{"ops@example.com", "Oncall <oncall@example.com>"},
		TLSConfig: &tls.Config{RootCAs: pool}, Now: func() time.Time { return t0 }}
	if err := e.Notify(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	be.mu.Lock()
	if !be.tls || len(be.auths) != 1 || be.auths[0] != "alerts:s3cret" || be.from != "hookwatch@example.com" ||
		strings.Join(be.to, ",") != "ops@example.com,oncall@example.com" {
		t.Fatalf("conversation: tls %v, auths %v, from %q, to %v", be.tls, be.auths, be.from, be.to)
	}
	data := be.data
	be.mu.Unlock()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	if h.Get("From") != "Hookwatch <hookwatch@example.com>" || h.Get("To") != "ops@example.com, Oncall <oncall@example.com>" ||
		h.Get("Subject") != "[Hookwatch] app: error rate over 5% (1 resolved)" || h.Get("MIME-Version") != "1.0" || h.Get("Date") != t0.Format(time.RFC1123Z) ||
		!strings.HasSuffix(h.Get("Message-ID"), "@example.com>") {
		t.Errorf("headers = %v", h)
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type = %q", h.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts []string
	var types []string
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		parts, types = append(parts, string(b)), append(types, p.Header.Get("Content-Type"))
	}
	if len(parts) != 2 || types[0] != "text/plain; charset=utf-8" || types[1] != "text/html; charset=utf-8" {
		t.Fatalf("parts = %v", types)
	}
	if m := missing(parts[0], append(figures, resolvedFigures...)); len(m) > 0 || !strings.Contains(parts[0], "FIRING: app: error rate over 5% (rule error-rate on destination:app)") {
		t.Errorf("text part lacks %q:\n%s", m, parts[0])
	}
	if m := missing(parts[1], []string{`<a href="https://hookwatch.example.com/issues/iss_1">`, "<b>RESOLVED</b> crm: dead letters", "HTTP 500: database is down",
		"<code>hookwatch replay --destination app --status dead --since 20m</code>", "https://app.example.com/hooks?key=…"}); len(m) > 0 {
		t.Errorf("html part lacks %q:\n%s", m, parts[1])
	}

	// A wrong password fails, and the error does not show it.
	e.Password = "wrong-pass"
	err = e.Notify(context.Background(), sample())
	if err == nil || strings.Contains(err.Error(), "wrong-pass") {
		t.Errorf("wrong password: %v", err)
	}
}

// TestTitles: a message's title (the email subject, Slack's header) names
// what fired first, and how many more.
func TestTitles(t *testing.T) {
	t.Parallel()
	item := func(kind hookwatch.NotificationKind, headline string, lasted float64) Item {
		return Item{Notification: hookwatch.Notification{Kind: kind, Rule: "r", Subject: "destination:app",
			Details: &hookwatch.AlertDetails{Headline: headline, Lasted: lasted}}}
	}
	for _, tc := range []struct {
		items []Item
		want  string
	}{
		{[]Item{item(hookwatch.NotifyFiring, "app: circuit open", 0)}, "[Hookwatch] app: circuit open"},
		{[]Item{item(hookwatch.NotifyFiring, "app: circuit open", 0), item(hookwatch.NotifyFiring, "crm: dead letters", 0),
			item(hookwatch.NotifyFiring, "all traffic: delivery SLO burning", 0), item(hookwatch.NotifyFiring, "source stripe: signature failures", 0)},
			"[Hookwatch] app: circuit open, 3 more"},
		{[]Item{item(hookwatch.NotifyResolved, "web: dead letters", 60), item(hookwatch.NotifyFiring, "app: circuit open", 0)},
			"[Hookwatch] app: circuit open (1 resolved)"},
		{[]Item{item(hookwatch.NotifyResolved, "app: circuit open", 750)}, "[Hookwatch] Resolved: app: circuit open (lasted 12m30s)"},
		{[]Item{item(hookwatch.NotifyResolved, "app: circuit open", 750), item(hookwatch.NotifyResolved, "crm: dead letters", 60)},
			"[Hookwatch] Resolved: app: circuit open, 1 more"},
		{[]Item{{Notification: hookwatch.Notification{Kind: hookwatch.NotifyTest}}}, "[Hookwatch] Test notification"},
		// Recorded before notifications had details: rule and subject.
		{[]Item{{Notification: hookwatch.Notification{Kind: hookwatch.NotifyFiring, Rule: "dead-letter", Subject: "destination:app"}}},
			"[Hookwatch] dead-letter on destination:app"},
	} {
		if got := (Message{Items: tc.items}).Title(); got != tc.want {
			t.Errorf("Title = %q, want %q", got, tc.want)
		}
	}
}
