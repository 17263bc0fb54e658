package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// scenario is one request a user could make, and what they must see.
type scenario struct {
	name   string
	method string
	path   string
	// signedIn sends the session cookie; csrf adds the session's token to
	// the form (badCSRF a wrong one).
	signedIn, csrf, badCSRF bool
	form                    url.Values
	status                  int
	// location is the start of the Location header of a redirect.
	location string
	want     []string
	wantNot  []string
	// check verifies the store afterwards (for actions).
	check func(t *testing.T)
}

// fixture ingests two events through the real receive path, lets the real
// engine deliver them (app succeeds, flaky fails until dead), waits for the
// issue, and quarantines a request.
type fixture struct {
	*env
	ev1, ev2, issueID, qrnID string
}

func newFixture(t *testing.T) *fixture {
	e := setup(t)
	f := &fixture{env: e}
	f.ev1 = e.send("evt_stripe_first", "invoice.paid")
	f.ev2 = e.send("evt_stripe_second", "customer.created")
	e.settle()
	ctx := context.Background()
	issues, err := e.store.ListIssues(ctx, hookwatch.IssueFilter{})
	if err != nil || len(issues) == 0 {
		t.Fatalf("issues: %v %v", issues, err)
	}
	f.issueID = issues[0].ID

	// A request that failed verification when it arrived (the config had
	// a wrong secret then), correctly signed with the secret configured now.
	body := []byte(`{"id":"evt_stripe_quarantined","object":"event","type":"invoice.paid","livemode":true}`)
	h := http.Header{"Content-Type": {"application/json"}}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := e.signer.Sign(h, e.ingest.URL+"/in/stripe", body, now); err != nil {
		t.Fatal(err)
	}
	f.qrnID = hookwatch.NewID("qrn", now)
	if err := e.store.AddQuarantined(ctx, []*hookwatch.Quarantined{{ID: f.qrnID, Source: "stripe", Provider: "stripe", Reason: "bad_signature",
		Detail: "no signature matches", Method: "POST", URL: e.ingest.URL + "/in/stripe", Headers: h, Body: body, ReceivedAt: now}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) run(t *testing.T, scenarios []scenario) {
	anon := f.client()
	signed := f.client()
	token := f.signIn(signed)
	for _, sc := range scenarios {
		c := anon
		if sc.signedIn {
			c = signed
		}
		var (
			resp *http.Response
			body string
		)
		if sc.method == http.MethodPost {
			form := url.Values{}
			for k, v := range sc.form {
				form[k] = v
			}
			if sc.csrf {
				form.Set("csrf", token)
			}
			if sc.badCSRF {
				form.Set("csrf", "forged")
			}
			resp, body = f.post(c, sc.path, form)
		} else {
			r, err := c.Get(f.dash.URL + sc.path)
			if err != nil {
				t.Fatal(err)
			}
			resp = r
			var b strings.Builder
			buf := make([]byte, 32<<10)
			for {
				n, err := r.Body.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
			}
			r.Body.Close()
			body = b.String()
		}
		if resp.StatusCode != sc.status {
			t.Errorf("%s: %s %s: status %d, want %d\n%.2000s", sc.name, sc.method, sc.path, resp.StatusCode, sc.status, body)
			continue
		}
		if sc.location != "" && !strings.HasPrefix(resp.Header.Get("Location"), sc.location) {
			t.Errorf("%s: Location %q, want %q...", sc.name, resp.Header.Get("Location"), sc.location)
		}
		if missing := contains(body, sc.want...); len(missing) > 0 {
			t.Errorf("%s: %s %s: page lacks %q\n%.3000s", sc.name, sc.method, sc.path, missing, body)
		}
		for _, no := range sc.wantNot {
			if strings.Contains(body, no) {
				t.Errorf("%s: %s %s: page shows %q", sc.name, sc.method, sc.path, no)
			}
		}
		if sc.check != nil {
			sc.check(t)
		}
	}
}

// TestNothingWithoutSignIn: every page sends an anonymous browser to the
// sign-in page, and every action is refused and changes nothing.
func TestNothingWithoutSignIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	noReplay := func(t *testing.T) {
		if rs, _ := f.store.ListReplays(ctx, 10); len(rs) != 0 {
			t.Errorf("a replay was recorded: %+v", rs[0])
		}
	}
	notPaused := func(t *testing.T) {
		if st, _ := f.store.DestinationStates(ctx); st["app"].Paused {
			t.Error("app was paused")
		}
	}
	issueOpen := func(t *testing.T) {
		if is, _ := f.store.GetIssue(ctx, f.issueID); is.Status != hookwatch.IssueOpen {
			t.Errorf("issue is %s", is.Status)
		}
	}
	held := func(t *testing.T) {
		if q, _ := f.store.GetQuarantined(ctx, f.qrnID); q.Released() {
			t.Error("quarantined request was released")
		}
	}
	var sc []scenario
	for _, p := range []string{"/", "/events", "/events?q=evt_stripe_first", "/events/" + f.ev1, "/destinations", "/issues", "/issues/" + f.issueID,
		"/alerts", "/quarantine", "/quarantine/" + f.qrnID, "/nope"} {
		sc = append(sc, scenario{name: "anonymous GET " + p, method: "GET", path: p, status: http.StatusSeeOther, location: "/signin?next=",
			wantNot: []string{"invoice.paid", "flaky", "server_error"}})
	}
	sc = append(sc,
		scenario{name: "anonymous replay", method: "POST", path: "/events/" + f.ev1 + "/replay", status: http.StatusUnauthorized, want: []string{"sign in first"}, check: noReplay},
		scenario{name: "anonymous replay with a guessed token", method: "POST", path: "/events/" + f.ev1 + "/replay", badCSRF: true, status: http.StatusUnauthorized, check: noReplay},
		scenario{name: "anonymous pause", method: "POST", path: "/destinations/app/pause", status: http.StatusUnauthorized, check: notPaused},
		scenario{name: "anonymous resolve", method: "POST", path: "/issues/" + f.issueID, form: url.Values{"status": {"resolved"}}, status: http.StatusUnauthorized, check: issueOpen},
		scenario{name: "anonymous release", method: "POST", path: "/quarantine/" + f.qrnID + "/release", status: http.StatusUnauthorized, check: held},
		scenario{name: "signed in, replay without CSRF token", signedIn: true, method: "POST", path: "/events/" + f.ev1 + "/replay", status: http.StatusForbidden, want: []string{"security token"}, check: noReplay},
		scenario{name: "signed in, replay with a forged CSRF token", signedIn: true, badCSRF: true, method: "POST", path: "/events/" + f.ev1 + "/replay", status: http.StatusForbidden, check: noReplay},
		scenario{name: "signed in, pause without CSRF token", signedIn: true, method: "POST", path: "/destinations/app/pause", status: http.StatusForbidden, check: notPaused},
		scenario{name: "signed in, resolve without CSRF token", signedIn: true, method: "POST", path: "/issues/" + f.issueID, form: url.Values{"status": {"resolved"}}, status: http.StatusForbidden, check: issueOpen},
		scenario{name: "signed in, release without CSRF token", signedIn: true, method: "POST", path: "/quarantine/" + f.qrnID + "/release", status: http.StatusForbidden, check: held},
		scenario{name: "signed in, sign out without CSRF token", signedIn: true, method: "POST", path: "/signout", status: http.StatusForbidden},
	)
	f.run(t, sc)
}

// TestPages: what a signed-in user sees on every page.
func TestPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := []scenario{
		{name: "overview", method: "GET", path: "/", status: 200,
			want: []string{"<h1>Overview</h1>", ">stripe</a>", ">app</a>", ">flaky</a>", `<svg class="chart"`, "Throughput per hour", "Processing time p95", "/issues?destination=flaky"}},
		{name: "events list", method: "GET", path: "/events", status: 200, want: []string{f.ev1, f.ev2, "evt_stripe_first", "invoice.paid", "customer.created", "app: succeeded", "flaky: dead"}},
		{name: "search by provider ID", method: "GET", path: "/events?q=evt_stripe_first", status: 200, want: []string{f.ev1}, wantNot: []string{f.ev2}},
		{name: "search by Hookwatch ID", method: "GET", path: "/events?q=" + f.ev2, status: 200, want: []string{f.ev2}, wantNot: []string{f.ev1}},
		{name: "search finds nothing", method: "GET", path: "/events?q=evt_nothing", status: 200, want: []string{"No events match"}},
		{name: "filter by type", method: "GET", path: "/events?type=customer.created", status: 200, want: []string{f.ev2}, wantNot: []string{f.ev1}},
		{name: "filter by source", method: "GET", path: "/events?source=github", status: 200, want: []string{"No events match"}},
		{name: "filter by status and destination", method: "GET", path: "/events?status=dead&destination=flaky&since=1h", status: 200, want: []string{f.ev1, f.ev2}},
		{name: "filter by status: none pending", method: "GET", path: "/events?status=pending", status: 200, want: []string{"No events match"}},
		{name: "bad time filter", method: "GET", path: "/events?since=forever", status: 400, want: []string{"choose 1h, 24h, 7d or 30d"}},
		{name: "bad status filter", method: "GET", path: "/events?status=lost", status: 400},
		{name: "event page", method: "GET", path: "/events/" + f.ev1, status: 200,
			want: []string{f.ev1, "evt_stripe_first", "Stripe-Signature", "[redacted]", "server_error", "HTTP 500", "attempt 2", "delivered",
				"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;h1&gt;boom&lt;/h1&gt;", "&#34;livemode&#34;: true", "Replay"},
			wantNot: []string{"sk_live_must_not_show", "<script>alert(1)", "<h1>boom"}},
		{name: "unknown event", method: "GET", path: "/events/evt_01NOPE", status: 404, want: []string{"not found"}},
		{name: "destinations", method: "GET", path: "/destinations", status: 200, want: []string{">app<", ">flaky<", "active", "closed", "Pause"}},
		{name: "issues", method: "GET", path: "/issues", status: 200, want: []string{"server_error", "stripe → flaky", `class="spark"`, "open (1)", "resolved (0)"}},
		{name: "issues by priority", method: "GET", path: "/issues?priority=high", status: 200, want: []string{"No issues here", "open (0)"}},
		{name: "issues bad status", method: "GET", path: "/issues?status=closed", status: 400},
		{name: "issue page", method: "GET", path: "/issues/" + f.issueID, status: 200,
			want: []string{"server_error", "stripe → flaky", "Resolve", "Acknowledge", "Ignore", "Recent failures", f.ev1, "HTTP 500", "No comments"}},
		{name: "unknown issue", method: "GET", path: "/issues/iss_nope", status: 404},
		{name: "alerts", method: "GET", path: "/alerts", status: 200, want: []string{"Rules", "Silences", "Notifications"}},
		{name: "quarantine", method: "GET", path: "/quarantine", status: 200, want: []string{f.qrnID, "bad_signature", "held"}},
		{name: "quarantine held only", method: "GET", path: "/quarantine?status=released", status: 200, want: []string{"Nothing quarantined"}},
		{name: "quarantined request", method: "GET", path: "/quarantine/" + f.qrnID, status: 200, want: []string{"bad_signature", "Verify again and release", "Stripe-Signature"}},
		{name: "unknown page", method: "GET", path: "/nope", status: 404},
	}
	for i := range sc {
		sc[i].signedIn = true
	}
	f.run(t, sc)
}

// TestActions: every action, signed in with the form's token, and its
// effect in the store.
func TestActions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	var replayedAt int64
	sc := []scenario{
		{name: "replay", method: "POST", path: "/events/" + f.ev1 + "/replay", status: http.StatusSeeOther, location: "/events/" + f.ev1 + "?n=2&ok=replayed",
			check: func(t *testing.T) {
				rs, err := f.store.ListReplays(ctx, 10)
				if err != nil || len(rs) != 1 || rs[0].Count != 2 || rs[0].Actor != "dashboard:alice" {
					t.Fatalf("replays = %+v, %v", rs, err)
				}
				replayedAt = f.appCalls.Load()
				deadline := time.Now().Add(5 * time.Second)
				for f.appCalls.Load() < 3 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if f.appCalls.Load() < 3 {
					t.Errorf("app received %d calls, want a third after the replay", f.appCalls.Load())
				}
			}},
		{name: "page after replay", method: "GET", path: "/events/" + f.ev1 + "?ok=replayed&n=2", status: 200, want: []string{"Replay queued: 2 deliveries re-queued."}},
		{name: "replay unknown event", method: "POST", path: "/events/evt_nope/replay", status: 404},
		{name: "pause", method: "POST", path: "/destinations/app/pause", status: http.StatusSeeOther, location: "/destinations?ok=paused#app",
			check: func(t *testing.T) {
				if st, _ := f.store.DestinationStates(ctx); !st["app"].Paused {
					t.Error("app is not paused")
				}
			}},
		{name: "paused shown", method: "GET", path: "/destinations", status: 200, want: []string{`badge paused`, "Resume"}},
		{name: "pause unknown", method: "POST", path: "/destinations/nope/pause", status: 404},
		{name: "resume", method: "POST", path: "/destinations/app/resume", status: http.StatusSeeOther,
			check: func(t *testing.T) {
				if st, _ := f.store.DestinationStates(ctx); st["app"].Paused {
					t.Error("app is still paused")
				}
			}},
		{name: "acknowledge", method: "POST", path: "/issues/" + f.issueID, form: url.Values{"status": {"acknowledged"}}, status: http.StatusSeeOther, location: "/issues/" + f.issueID},
		{name: "set priority and comment", method: "POST", path: "/issues/" + f.issueID, form: url.Values{"priority": {"high"}, "comment": {"flaky's deploy broke <b>JSON</b>"}}, status: http.StatusSeeOther},
		{name: "resolve", method: "POST", path: "/issues/" + f.issueID, form: url.Values{"status": {"resolved"}}, status: http.StatusSeeOther,
			check: func(t *testing.T) {
				is, err := f.store.GetIssue(ctx, f.issueID)
				if err != nil || is.Status != hookwatch.IssueResolved || is.Priority != hookwatch.PriorityHigh {
					t.Fatalf("issue = %+v, %v", is, err)
				}
			}},
		{name: "issue page after", method: "GET", path: "/issues/" + f.issueID, status: 200,
			want: []string{`id="status">resolved`, "flaky&#39;s deploy broke &lt;b&gt;JSON&lt;/b&gt;", "Reopen"}, wantNot: []string{"<b>JSON</b>"}},
		{name: "bad status", method: "POST", path: "/issues/" + f.issueID, form: url.Values{"status": {"closed"}}, status: 400},
		{name: "unknown issue", method: "POST", path: "/issues/iss_nope", form: url.Values{"status": {"resolved"}}, status: 404},
		{name: "release", method: "POST", path: "/quarantine/" + f.qrnID + "/release", status: http.StatusSeeOther, location: "/events/evt_",
			check: func(t *testing.T) {
				q, err := f.store.GetQuarantined(ctx, f.qrnID)
				if err != nil || !q.Released() || q.Unverified || q.ReleasedBy != "dashboard:alice" {
					t.Fatalf("quarantined = %+v, %v", q, err)
				}
				if evs, _ := f.store.ListEvents(ctx, hookwatch.EventFilter{ProviderEventID: "evt_stripe_quarantined"}); len(evs) != 1 {
					t.Fatalf("released events = %d, want 1", len(evs))
				}
			}},
		{name: "release again", method: "POST", path: "/quarantine/" + f.qrnID + "/release", status: http.StatusConflict},
		{name: "sign out", method: "POST", path: "/signout", status: http.StatusSeeOther, location: "/signin"},
		{name: "signed out", method: "GET", path: "/", status: http.StatusSeeOther, location: "/signin"},
	}
	for i := range sc {
		sc[i].signedIn, sc[i].csrf = true, true
	}
	f.run(t, sc)
	_ = replayedAt
}

// TestSignIn: wrong passwords, the rate limit, the form token, cookies and
// redirects.
func TestSignIn(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client()
	_, page := e.get(c, "/signin?next=/events")
	if csrfRE.FindStringSubmatch(page) == nil {
		t.Fatal("the sign-in page has no form token")
	}
	try := func(name, pw, csrf, next string) (*http.Response, string) {
		return e.post(c, "/signin", url.Values{"csrf": {csrf}, "name": {name}, "password": {pw}, "next": {next}})
	}
	if resp, _ := try(user, password, "", "/"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without the form token: %d, want 403", resp.StatusCode)
	}
	_, page = e.get(c, "/signin")
	token := csrfRE.FindStringSubmatch(page)[1]
	if resp, body := try(user, "wrong", token, "/"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong user name or password") {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	if resp, body := try("mallory", password, token, "/"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong user name or password") {
		t.Errorf("unknown user: %d", resp.StatusCode)
	}
	// An open redirect is refused: //evil.example becomes /.
	resp, _ := try(user, password, token, "//evil.example/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("sign-in: %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "hw_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.MaxAge <= 0 {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, with an expiry", session)
	}
	// The store keeps the cookie's hash, not the cookie.
	if _, err := e.store.GetSession(context.Background(), session.Value, time.Now()); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
		t.Errorf("the session is found by its raw token: %v", err)
	}
	if _, err := e.store.GetSession(context.Background(), hookwatch.HashToken(session.Value), time.Now()); err != nil {
		t.Errorf("the session is not found by its hash: %v", err)
	}
	// The session expires.
	later := time.Now().Add(13 * time.Hour)
	e.now.Store(&later)
	if code, _ := e.get(c, "/"); code != http.StatusSeeOther {
		t.Errorf("after 13 hours: %d, want 303 to sign in again", code)
	}

	// Rate limit: five wrong passwords for a user, then even the right one
	// is refused for a while.
	c2 := e.client()
	_, page = e.get(c2, "/signin")
	token = csrfRE.FindStringSubmatch(page)[1]
	for i := 0; i < 5; i++ {
		if resp, _ := e.post(c2, "/signin", url.Values{"csrf": {token}, "name": {user}, "password": {"guess"}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, resp.StatusCode)
		}
	}
	resp, body := e.post(c2, "/signin", url.Values{"csrf": {token}, "name": {user}, "password": {password}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed sign-ins") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("sixth try: %d, want 429 with Retry-After", resp.StatusCode)
	}
	after := later.Add(16 * time.Minute)
	e.now.Store(&after)
	if resp, _ := e.post(c2, "/signin", url.Values{"csrf": {token}, "name": {user}, "password": {password}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the window: %d, want 303", resp.StatusCode)
	}
}

// TestSecurityHeaders: every page forbids framing and inline scripts;
// assets are cached for long under hashed names.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client()
	e.signIn(c)
	resp, err := c.Get(e.dash.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers = %v", resp.Header)
	}
	_, page := e.get(c, "/events")
	m := regexpFind(`href="(/assets/app\.[0-9a-f]{8}\.css)"`, page)
	if m == "" {
		t.Fatalf("no hashed stylesheet link in the page")
	}
	resp, err = http.Get(e.dash.URL + m)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("asset: %d %v", resp.StatusCode, resp.Header)
	}
	if code, _ := e.get(c, "/assets/app.00000000.css"); code != 404 {
		t.Errorf("unknown asset hash: %d", code)
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, " style=") || strings.Contains(page, " onclick=") {
		t.Error("the page has inline script or style")
	}
}

// TestErrorAnswers: the dashboard answers errors through server.Errors, the
// admin API's writer: a browser gets the dashboard's error page (in its
// layout), a client asking for JSON the API's JSON, with the same status.
func TestErrorAnswers(t *testing.T) {
	e := setup(t)
	c := e.client()
	e.signIn(c)
	get := func(accept string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", e.dash.URL+"/events/evt_01NOPE", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, accept := range []string{"", "text/html,application/xhtml+xml,*/*;q=0.8"} {
		resp, body := get(accept)
		if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, "<title>Not Found · Hookwatch</title>") || !strings.Contains(body, "<nav>") || !strings.Contains(body, "not found") {
			t.Errorf("Accept %q: %d %q\n%s", accept, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	resp, body := get("application/json")
	var v map[string]string
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &v) != nil ||
		v["error"] != "not_found" || !strings.Contains(v["message"], "evt_01NOPE") {
		t.Errorf("Accept application/json: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}
