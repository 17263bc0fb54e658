package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Email sends alerts over SMTP: STARTTLS (required unless TLS says
// otherwise), AUTH PLAIN when a username is set, and a multipart/alternative
// body with a plain-text and an HTML part.
type Email struct {
	// Addr is the server's host:port.
	Addr     string
	Username string
	// Password is a credential: never logged, never in an error.
	Password string
	// TLS is "starttls" (default), "tls" (implicit TLS, port 465) or "none".
	TLS  string
	From string
	To   []string
	// TLSConfig overrides the TLS settings (tests trust their own CA).
	TLSConfig *tls.Config
	// LocalName is sent in EHLO; default "hookwatch".
	LocalName string
	Now       func() time.Time
}

// Notify sends m as one email to every recipient.
func (e *Email) Notify(ctx context.Context, m Message) error {
	if err := e.send(ctx, m); err != nil {
		return fmt.Errorf("email: %w", err)
	}
	return nil
}

func (e *Email) send(ctx context.Context, m Message) error {
	host, _, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return fmt.Errorf("smtp address %q is not host:port", e.Addr)
	}
	from, err := mail.ParseAddress(e.From)
	if err != nil {
		return fmt.Errorf("from address: %w", err)
	}
	var to []string
	for _, t := range e.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return fmt.Errorf("recipient %q: %w", t, err)
		}
		to = append(to, a.Address)
	}
	msg, err := e.Build(m)
	if err != nil {
		return err
	}
	tlsCfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if e.TLSConfig != nil {
		tlsCfg = e.TLSConfig.Clone()
		if tlsCfg.ServerName == "" {
			tlsCfg.ServerName = host
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dialer := &net.Dialer{Deadline: deadline}
	var conn net.Conn
	if e.TLS == "tls" {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tlsCfg}).DialContext(ctx, "tcp", e.Addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", e.Addr)
	}
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	name := e.LocalName
	if name == "" {
		name = "hookwatch"
	}
	if err := c.Hello(name); err != nil {
		return fmt.Errorf("ehlo: %w", err)
	}
	if e.TLS == "" || e.TLS == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("the server does not offer STARTTLS (set tls: none only for a trusted local relay)")
		}
		if err := c.StartTLS(tlsCfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if e.Username != "" {
		// PlainAuth refuses to send the password over an unencrypted
		// connection to anything but localhost.
		if err := c.Auth(smtp.PlainAuth("", e.Username, e.Password, host)); err != nil {
			return fmt.Errorf("auth as %s: %w", e.Username, err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	for _, t := range to {
		if err := c.Rcpt(t); err != nil {
			return fmt.Errorf("rcpt to %s: %w", t, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	return c.Quit()
}

var emailHTML = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2>{{.Title}}</h2>
{{range .Items}}<h3 style="margin-bottom: 4px"><b>{{.Status}}</b> {{.Item.Headline}}</h3>
<p style="margin-top: 0; color: #666">rule {{.Item.Rule}} on {{.Item.Subject}}</p>
<table cellpadding="4" style="border-collapse: collapse">
{{range .Lines}}<tr><th align="left" valign="top">{{.Label}}</th><td>{{if .URL}}<a href="{{.Text}}">{{.Text}}</a>{{else if .Code}}<code>{{.Text}}</code>{{else}}{{.Text}}{{end}}</td></tr>
{{end}}</table>
{{end}}
<p style="color: #666">Sent by Hookwatch.</p>
</body></html>
`))

// Build returns the whole RFC 5322 message for m: headers and a
// multipart/alternative body (text/plain, then text/html).
func (e *Email) Build(m Message) ([]byte, error) {
	now := time.Now()
	if e.Now != nil {
		now = e.Now()
	}
	var text strings.Builder
	fmt.Fprintf(&text, "%s\n\n", m.Title())
	type row struct {
		Item   Item
		Status string
		Lines  []Line
	}
	var rows []row
	for _, it := range m.Items {
		text.WriteString(it.Text())
		text.WriteString("\n")
		rows = append(rows, row{it, describe(it), it.Lines()})
	}
	text.WriteString("Sent by Hookwatch.\n")
	var html bytes.Buffer
	if err := emailHTML.Execute(&html, map[string]any{"Title": m.Title(), "Items": rows}); err != nil {
		return nil, fmt.Errorf("html body: %w", err)
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct{ ctype, content string }{{"text/plain; charset=utf-8", text.String()}, {"text/html; charset=utf-8", html.String()}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(part.content)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	var msg bytes.Buffer
	id := hookwatch.NewID("msg", now)
	domain := "hookwatch"
	if a, err := mail.ParseAddress(e.From); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			domain = a.Address[i+1:]
		}
	}
	header := [][2]string{
		{"From", e.From},
		{"To", strings.Join(e.To, ", ")},
		{"Subject", mime.QEncoding.Encode("utf-8", m.Title())},
		{"Date", now.Format(time.RFC1123Z)},
		{"Message-ID", "<" + id + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "multipart/alternative; boundary=" + mw.Boundary()},
		{"Auto-Submitted", "auto-generated"},
	}
	for _, h := range header {
		fmt.Fprintf(&msg, "%s: %s\r\n", h[0], h[1])
	}
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}
