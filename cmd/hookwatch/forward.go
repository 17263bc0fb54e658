package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/server"
)

// hookwatch forward and hookwatch tail: clients of the admin API's event
// stream (GET /api/events/stream, docs/forward.md). Both are read-only:
// they never change an event's deliveries.

// tokenEnv is where forward and tail read the admin or API token when
// --token is not given (a flag's value shows in ps).
const tokenEnv = "HOOKWATCH_TOKEN"

// streamFlags are the flags forward and tail share: which server, which
// events, from when.
type streamFlags struct {
	config, from, token, source, typ, since string
	last                                    int
}

func (f *streamFlags) declare(fs *flagSet) {
	fs.StringVar(&f.config, "config", "hookwatch.yaml", "config file (for the local server's admin address and admin_token; not read with --from and a token)")
	fs.StringVar(&f.from, "from", "", "Hookwatch admin URL to stream from, e.g. https://hookwatch.example.com (default: http:// + the config's admin_listen)")
	fs.StringVar(&f.token, "token", "", "admin or API token (default: $"+tokenEnv+", else the config's admin_token)")
	fs.StringVar(&f.source, "source", "", "only events of this source")
	fs.StringVar(&f.typ, "type", "", "only events of this type; a pattern such as 'invoice.*' is allowed")
	fs.StringVar(&f.since, "since", "", "start with the events received since: a duration (10m, 2h) or an RFC 3339 time (default: from now on)")
	fs.IntVar(&f.last, "last", 0, "start with the last N events (instead of --since)")
}

// client resolves the server's URL and token: flags, then the
// environment, then the config file.
func (f *streamFlags) client(env *Env) (*apiClient, error) {
	if f.since != "" && f.last != 0 {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "--since and --last: give one of them, not both")
	}
	if f.last < 0 {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "--last %d: give a positive number of events", f.last)
	}
	token := f.token
	if token == "" {
		token, _ = env.Getenv(tokenEnv)
	}
	base := f.from
	if base == "" || token == "" {
		cfg, err := loadConfig(env, f.config)
		if err != nil {
			if base == "" {
				return nil, fmt.Errorf("%w (or give --from URL and --token)", err)
			}
			return nil, fmt.Errorf("no token: give --token or set %s (reading %s for admin_token: %w)", tokenEnv, f.config, err)
		}
		if base == "" {
			base = "http://" + dialable(cfg.AdminListen)
		}
		if token == "" {
			token = cfg.AdminToken
		}
	}
	if token == "" {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "no token: give --token, set %s, or set admin_token in %s", tokenEnv, f.config)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "--from %q: give an http:// or https:// URL", base)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		fmt.Fprintf(env.Stderr, "hookwatch: warning: --from %s is plain http: the token and the events cross the network unencrypted (use https://)\n", u.Host)
	}
	return &apiClient{base: strings.TrimRight(base, "/"), token: token}, nil
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (f *streamFlags) query() url.Values {
	q := url.Values{}
	if f.source != "" {
		q.Set("source", f.source)
	}
	if f.typ != "" {
		q.Set("type", f.typ)
	}
	if f.since != "" {
		q.Set("since", f.since)
	}
	if f.last > 0 {
		q.Set("last", strconv.Itoa(f.last))
	}
	return q
}

// apiClient calls a Hookwatch admin API.
type apiClient struct {
	base, token string
}

func (c *apiClient) request(ctx context.Context, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "%v", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", "hookwatch/"+hookwatch.Version)
	return req, nil
}

// apiError turns an error answer of the API into an error that says it.
func apiError(resp *http.Response) error {
	var e struct{ Error, Message string }
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &e) != nil || e.Message == "" {
		e.Message = strings.TrimSpace(string(b))
	}
	code := hookwatch.EINTERNAL
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		code = hookwatch.EUNAUTHORIZED
	case http.StatusForbidden:
		code = hookwatch.EFORBIDDEN
	case http.StatusBadRequest:
		code = hookwatch.EINVALID
	case http.StatusNotFound:
		code = hookwatch.ENOTFOUND
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		code = hookwatch.EUNAVAILABLE
	}
	return hookwatch.Errorf(code, "the server answered %s: %s", resp.Status, e.Message)
}

// getEvent reads one event (GET /api/events/{id}).
func (c *apiClient) getEvent(ctx context.Context, id string) (*server.Event, error) {
	req, err := c.request(ctx, "/api/events/"+url.PathEscape(id))
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("read event %s from %s: %w", id, c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp)
	}
	var e server.Event
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		return nil, fmt.Errorf("read event %s: %w", id, err)
	}
	return &e, nil
}

// follow streams events to handle until ctx is done, reconnecting with
// backoff after any failure and resuming after the last event seen (or
// the stream's start), so that handle sees each event once, in order. It
// returns only ctx's end, an error handle returned, or an answer that
// retrying cannot change (a wrong token, a bad filter).
func (c *apiClient) follow(ctx context.Context, q url.Values, stderr io.Writer, handle func(server.StreamEvent) error) error {
	var cursor string
	backoff := time.Duration(0)
	for {
		if backoff > 0 {
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
		}
		got, err := c.streamOnce(ctx, q, &cursor, handle)
		if ctx.Err() != nil {
			return nil
		}
		var he *handleError
		if errors.As(err, &he) {
			return he.err
		}
		if code := hookwatch.ErrorCode(err); code == hookwatch.EUNAUTHORIZED || code == hookwatch.EFORBIDDEN || code == hookwatch.EINVALID || code == hookwatch.ENOTFOUND {
			return err
		}
		// Connected and got something: try again at once; otherwise back
		// off, up to 10s.
		if got {
			backoff = 0
		}
		backoff = min(max(2*backoff, 250*time.Millisecond), 10*time.Second)
		if err == nil {
			err = errors.New("the stream ended")
		}
		fmt.Fprintf(stderr, "hookwatch: %v; reconnecting in %s\n", hookwatch.RedactURLs(err.Error()), backoff)
	}
}

// handleError is an error of the caller's handler: follow returns it.
type handleError struct{ err error }

func (e *handleError) Error() string { return e.err.Error() }

// streamOnce runs one connection: it reports whether it received anything
// (the stream was up) and why it ended.
func (c *apiClient) streamOnce(ctx context.Context, q url.Values, cursor *string, handle func(server.StreamEvent) error) (bool, error) {
	path := "/api/events/stream"
	if *cursor == "" && len(q) > 0 {
		path += "?" + q.Encode()
	} else if *cursor != "" {
		// Resuming: the filters stay, the start is the cursor.
		rq := url.Values{}
		for _, k := range []string{"source", "type"} {
			if v := q.Get(k); v != "" {
				rq.Set(k, v)
			}
		}
		if len(rq) > 0 {
			path += "?" + rq.Encode()
		}
	}
	req, err := c.request(ctx, path)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if *cursor != "" {
		req.Header.Set("Last-Event-ID", *cursor)
	}
	// No overall timeout: the stream is long-lived. Heartbeats (15s) keep
	// it alive; a read that waits a minute means the connection is dead.
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return false, fmt.Errorf("connect to %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, apiError(resp)
	}
	body := &idleReader{r: resp.Body, timeout: time.Minute}
	defer body.stop()
	r := bufio.NewReaderSize(body, 64<<10)
	got := false
	for {
		m, err := server.ReadStreamMessage(r)
		if err != nil {
			if body.timedOut() {
				err = errors.New("no heartbeat for a minute")
			}
			return got, err
		}
		got = true
		switch m.Event {
		case "":
			if m.ID != "" && !m.Comment {
				*cursor = m.ID // the stream's start
			}
		case "event":
			var e server.StreamEvent
			if err := json.Unmarshal(m.Data, &e); err != nil {
				return got, fmt.Errorf("event stream: a message that is not an event: %w", err)
			}
			if err := handle(e); err != nil {
				return got, &handleError{err}
			}
			*cursor = e.ID
		case "behind":
			var b server.StreamBehind
			json.Unmarshal(m.Data, &b)
			if b.ResumeFrom != "" {
				*cursor = b.ResumeFrom
			}
			return got, errors.New("fell behind the stream (the server cut it off)")
		case "error":
			var se server.StreamError
			json.Unmarshal(m.Data, &se)
			if se.ResumeFrom != "" {
				*cursor = se.ResumeFrom
			}
			return got, fmt.Errorf("the server could not read events: %s", se.Message)
		}
	}
}

// idleReader closes its reader when no byte came for timeout.
type idleReader struct {
	r       io.ReadCloser
	timeout time.Duration
	timer   *time.Timer
	fired   chan struct{}
}

func (ir *idleReader) Read(p []byte) (int, error) {
	if ir.timer == nil {
		ir.fired = make(chan struct{})
		ir.timer = time.AfterFunc(ir.timeout, func() { close(ir.fired); ir.r.Close() })
	} else {
		ir.timer.Reset(ir.timeout)
	}
	return ir.r.Read(p)
}

func (ir *idleReader) stop() {
	if ir.timer != nil {
		ir.timer.Stop()
	}
}

func (ir *idleReader) timedOut() bool {
	if ir.fired == nil {
		return false
	}
	select {
	case <-ir.fired:
		return true
	default:
		return false
	}
}

// eventBody returns the exact body of an event as the API shows it (text,
// or hex for bytes that are not UTF-8).
func eventBody(e server.Event) ([]byte, error) {
	if e.BodyEncoding == "hex" {
		b, err := hex.DecodeString(e.Body)
		if err != nil {
			return nil, fmt.Errorf("event %s: body is not hex: %w", e.ID, err)
		}
		return b, nil
	}
	return []byte(e.Body), nil
}

func runTail(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "tail", `Prints the events Hookwatch commits, live, one line each (time, source,
type, ID, size; "test" for test events), or with --json one JSON object per
line with headers (credentials redacted) and body. It reconnects by itself
and resumes where it stopped. Read-only. Ctrl-C stops it.

Examples:
  hookwatch tail
  hookwatch tail --source stripe --type 'invoice.*' --json | jq .body
  hookwatch tail --from https://hookwatch.example.com --last 20   (token in $`+tokenEnv+`)`)
	var sf streamFlags
	sf.declare(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per event (the stream's StreamEvent)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("tail takes no arguments: %w", errUsage)
	}
	c, err := sf.client(env)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(env.Stdout)
	return c.follow(ctx, sf.query(), env.Stderr, func(e server.StreamEvent) error {
		if *asJSON {
			return enc.Encode(e)
		}
		test := ""
		if e.Test {
			test = "  test"
		}
		_, err := fmt.Fprintf(env.Stdout, "%s  %-12s %-28s %s  %d bytes%s\n", e.ReceivedAt.Local().Format("15:04:05"),
			e.Source, dash(e.Type), e.ID, e.Size, test)
		return err
	})
}

func runForward(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "forward", `Forwards the events Hookwatch receives to an app on your machine, live: each
event is posted to --to with its original body and content type, signed the
Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature) with
a local secret printed at start (or --secret), and one line is printed per
event: time, source, type, event ID, your app's status and latency.

It reconnects with backoff and resumes after the last event it saw, so a
restart of either side loses nothing. It is read-only: the events'
deliveries in Hookwatch are not changed, and a failed local post is not
retried (resend one with --replay ID).

Examples:
  hookwatch forward --to http://localhost:3000/webhooks
  hookwatch forward --to http://localhost:3000/webhooks --source stripe --type 'invoice.*' --last 5
  HOOKWATCH_TOKEN=... hookwatch forward --from https://hookwatch.example.com --to http://localhost:3000/hooks
  hookwatch forward --to http://localhost:3000/webhooks --replay evt_01J...`)
	var sf streamFlags
	sf.declare(fs)
	to := fs.String("to", "", "URL of your app's webhook endpoint (required), e.g. http://localhost:3000/webhooks")
	secret := fs.String("secret", "", "signing secret whsec_<base64> to sign with (default: a new one, printed at start)")
	keep := fs.Bool("keep-headers", false, "also send the provider's original headers (credential headers are never stored, so never sent)")
	replay := fs.String("replay", "", "send this one event (ID) and exit, instead of following the stream")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for your app's answer to each post")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("forward takes no arguments (flags only): %w", errUsage)
	}
	if *to == "" {
		fs.Usage()
		return fmt.Errorf("forward needs --to URL: %w", errUsage)
	}
	if u, err := url.Parse(*to); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return hookwatch.Errorf(hookwatch.EINVALID, "--to %q: give an http:// or https:// URL", *to)
	}
	if *replay != "" && (sf.since != "" || sf.last != 0) {
		return hookwatch.Errorf(hookwatch.EINVALID, "--replay sends one event: --since and --last do not apply")
	}
	c, err := sf.client(env)
	if err != nil {
		return err
	}
	sec := *secret
	if sec == "" {
		var k [24]byte
		rand.Read(k[:])
		sec = deliver.SecretPrefix + base64.StdEncoding.EncodeToString(k[:])
	}
	key, err := deliver.ParseSecret(sec)
	if err != nil {
		return hookwatch.Errorf(hookwatch.EINVALID, "--secret: %v (give whsec_ and base64)", err)
	}
	fw := &forwarder{to: *to, key: key, keep: *keep, client: &http.Client{Timeout: *timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, out: env.Stdout}
	if *secret == "" {
		fmt.Fprintf(env.Stderr, "Signing secret: %s (verify webhook-signature with it; --secret keeps one)\n", sec)
	}
	if *replay != "" {
		e, err := c.getEvent(ctx, *replay)
		if err != nil {
			return err
		}
		if status := fw.send(ctx, server.StreamEvent{Event: *e, Test: e.Test}); status/100 != 2 {
			return fmt.Errorf("your app did not accept event %s", e.ID)
		}
		return nil
	}
	fmt.Fprintf(env.Stderr, "Forwarding events from %s to %s (Ctrl-C stops)\n", c.base, *to)
	return c.follow(ctx, sf.query(), env.Stderr, func(e server.StreamEvent) error {
		fw.send(ctx, e)
		return nil
	})
}

// forwarder posts events to the local app.
type forwarder struct {
	to     string
	key    []byte
	keep   bool
	client *http.Client
	out    io.Writer
}

// notForwarded are headers of the original request that are not the
// event's to send again: the connection's, the body's framing, and
// Hookwatch's own (set fresh).
var notForwarded = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Keep-Alive": true,
	"Te": true, "Trailer": true, "Upgrade": true, "Proxy-Connection": true, "Expect": true,
	"Webhook-Id": true, "Webhook-Timestamp": true, "Webhook-Signature": true,
}

// send posts e, prints its line, and returns the app's status (0 when it
// did not answer).
func (f *forwarder) send(ctx context.Context, e server.StreamEvent) int {
	line := func(result string, took time.Duration) {
		test := ""
		if e.Test {
			test = "  test"
		}
		fmt.Fprintf(f.out, "%s  %-12s %-28s %s  %s  %s%s\n", e.ReceivedAt.Local().Format("15:04:05"), e.Source,
			dash(e.Type), e.ID, result, took.Round(time.Millisecond), test)
	}
	body, err := eventBody(e.Event)
	if err != nil {
		line("error: "+err.Error(), 0)
		return 0
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.to, bytes.NewReader(body))
	if err != nil {
		line("error: "+err.Error(), 0)
		return 0
	}
	h := req.Header
	if f.keep {
		for k, vs := range e.Headers {
			k = http.CanonicalHeaderKey(k)
			if notForwarded[k] || len(vs) == 1 && vs[0] == hookwatch.Redacted {
				continue
			}
			h[k] = append([]string(nil), vs...)
		}
	}
	ct := e.Headers.Get("Content-Type")
	if ct == "" {
		ct = "application/json"
	}
	h.Set("Content-Type", ct)
	if ce := e.Headers.Values("Content-Encoding"); len(ce) > 0 {
		h["Content-Encoding"] = append([]string(nil), ce...) // the body is as received
	}
	now := time.Now()
	h.Set("User-Agent", "hookwatch-forward/"+hookwatch.Version)
	h.Set("Webhook-Id", e.ID)
	h.Set("Webhook-Timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("Webhook-Signature", deliver.Sign(f.key, e.ID, now, body))
	h.Set("X-Hookwatch-Source", e.Source)
	if e.Type != "" {
		h.Set("X-Hookwatch-Event-Type", e.Type)
	}
	if e.Test {
		h.Set(ingest.TestHeader, "1")
	}
	resp, err := f.client.Do(req)
	took := time.Since(now)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		line("error: "+hookwatch.RedactURLs(err.Error()), took)
		return 0
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	line(strconv.Itoa(resp.StatusCode), took)
	return resp.StatusCode
}
