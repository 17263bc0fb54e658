package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/web"
	"golang.org/x/crypto/bcrypt"
)

// bareDashboard is the dashboard alone on a real SQLite store with the
// user alice, served on loopback.
func bareDashboard(t *testing.T, o web.Options) (*web.Handler, *httptest.Server, *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, &hookwatch.User{Name: user, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	o.Store = s
	h, err := web.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); s.Close() })
	return h, srv, s
}

// heldChecks counts password checks and holds each until open is closed,
// so that a burst of requests overlaps the way a real one does while bcrypt
// runs.
type heldChecks struct {
	open  chan struct{}
	calls atomic.Int64
	right atomic.Int64 // checks of the right password
	mu    sync.Mutex
	costs []int
}

func holdChecks(h *web.Handler) *heldChecks {
	g := &heldChecks{open: make(chan struct{})}
	web.SetPasswordCheck(h, func(hash, pw []byte) error {
		g.calls.Add(1)
		if string(pw) == password {
			g.right.Add(1)
		}
		cost, _ := bcrypt.Cost(hash)
		g.mu.Lock()
		g.costs = append(g.costs, cost)
		g.mu.Unlock()
		<-g.open
		if string(pw) != password {
			// Known to be wrong: spare the test 20 real bcrypt runs at
			// DefaultCost under the race detector.
			return bcrypt.ErrMismatchedHashAndPassword
		}
		return bcrypt.CompareHashAndPassword(hash, pw)
	})
	return g
}

// signinForm gets the sign-in form's token cookie, as a browser would.
func signinForm(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	resp, err := http.Get(srv.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "hw_signin" {
			return c.Value
		}
	}
	t.Fatal("no hw_signin cookie on the sign-in page")
	return ""
}

// attempt is one answer to a sign-in POST.
type attempt struct {
	status   int
	session  bool
	location string
}

func postSignin(t *testing.T, srv *httptest.Server, token, name, pw, next string) attempt {
	form := url.Values{"csrf": {token}, "name": {name}, "password": {pw}, "next": {next}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "hw_signin", Value: token})
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Error(err)
		return attempt{}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	a := attempt{status: resp.StatusCode, location: resp.Header.Get("Location")}
	for _, c := range resp.Cookies() {
		if c.Name == "hw_session" && c.Value != "" {
			a.session = true
		}
	}
	return a
}

// waitUntil polls cond (the requests' progress) until it holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSignInBurst: a burst of concurrent sign-ins gets no more password
// checks than the limits allow, for a known user, an unknown one, or many
// names from one address; the right password in a burst beyond the limit
// does not sign in.
func TestSignInBurst(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		n      int
		user   func(i int) string
		checks int
	}{
		{"60 wrong passwords for alice", 60, func(int) string { return user }, 5},
		{"60 wrong passwords for an unknown user", 60, func(int) string { return "mallory" }, 5},
		{"30 names from one address", 30, func(i int) string { return fmt.Sprintf("user%d", i) }, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, srv, _ := bareDashboard(t, web.Options{})
			g := holdChecks(h)
			token := signinForm(t, srv)
			answers := make(chan attempt, tc.n)
			var answered atomic.Int64
			for i := range tc.n {
				go func() {
					a := postSignin(t, srv, token, tc.user(i), "wrong password", "/")
					answered.Add(1)
					answers <- a
				}()
			}
			// Every request is either answered or inside a password check.
			waitUntil(t, "every request is answered or being checked", func() bool {
				return answered.Load()+g.calls.Load() == int64(tc.n)
			})
			close(g.open)
			got := map[int]int{}
			for range tc.n {
				got[(<-answers).status]++
			}
			if c := g.calls.Load(); c != int64(tc.checks) {
				t.Errorf("%d passwords checked by bcrypt, want %d (the limit)", c, tc.checks)
			}
			want := map[int]int{http.StatusUnauthorized: tc.checks, http.StatusTooManyRequests: tc.n - tc.checks}
			if got[401] != want[401] || got[429] != want[429] || len(got) != 2 {
				t.Errorf("answers %v, want %v", got, want)
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			for _, cost := range g.costs {
				// Unknown names are checked against a dummy hash at the cost
				// of `hookwatch users add` (alice's test hash is MinCost).
				if tc.name == "60 wrong passwords for an unknown user" && cost != bcrypt.DefaultCost {
					t.Errorf("unknown user checked against a cost-%d hash, want %d: a wrong name would be cheaper than a wrong password", cost, bcrypt.DefaultCost)
				}
			}
		})
	}

	t.Run("the right password after the limit is taken", func(t *testing.T) {
		h, srv, _ := bareDashboard(t, web.Options{})
		g := holdChecks(h)
		token := signinForm(t, srv)
		wrong := make(chan attempt, 14)
		var wrongAnswered atomic.Int64
		guess := func() {
			a := postSignin(t, srv, token, user, "guess", "/")
			wrongAnswered.Add(1)
			wrong <- a
		}
		for range 5 {
			go guess()
		}
		waitUntil(t, "five guesses are being checked", func() bool { return g.calls.Load() == 5 })
		// Five guesses are in flight, none counted as failed yet: the right
		// password must not get a sixth check.
		right := make(chan attempt, 1)
		go func() { right <- postSignin(t, srv, token, user, password, "/events") }()
		var r attempt
		waitUntil(t, "the right password is answered or being checked", func() bool {
			select {
			case r = <-right:
				return true
			default:
				return g.right.Load() > 0
			}
		})
		for range 9 {
			go guess()
		}
		waitUntil(t, "nine more guesses are answered or being checked", func() bool {
			return wrongAnswered.Load()+g.calls.Load()-g.right.Load() == 14
		})
		close(g.open)
		if r.status == 0 {
			r = <-right
		}
		if r.session || r.status != http.StatusTooManyRequests {
			t.Errorf("right password in a burst of 14 guesses: status %d, session %v; want 429 and no session", r.status, r.session)
		}
		got := map[int]int{}
		for range 14 {
			got[(<-wrong).status]++
		}
		if got[401] != 5 || got[429] != 9 || g.calls.Load() != 5 {
			t.Errorf("guesses answered %v with %d checks, want 5×401, 9×429, 5 checks", got, g.calls.Load())
		}
	})
}

// TestSignInRedirectTargets: after signing in, the browser goes only to a
// path of the dashboard; anything a browser or URL parser could read as
// another site sends it to /.
func TestSignInRedirectTargets(t *testing.T) {
	t.Parallel()
	_, srv, _ := bareDashboard(t, web.Options{})
	token := signinForm(t, srv)
	hostile := []string{
		"//evil.example",
		"//evil.example/path",
		"///evil.example",
		"/\\evil.example",
		"/\\/evil.example",
		"\\\\evil.example",
		"/\t/evil.example",
		"/\n/evil.example",
		"/\r\n/evil.example",
		"\t//evil.example",
		" /evil.example",
		"/\x00/evil.example",
		"/\x7f/evil.example",
		"https://evil.example",
		"http:evil.example",
		"https:/evil.example",
		"javascript:alert(1)",
		"evil.example",
		"/%2F/evil.example",
		"/%2f/evil.example",
		"/%5C/evil.example",
		"/%5cevil.example",
		"/%09/evil.example",
		"/%0d%0a/evil.example",
		"/%0aSet-Cookie:%20x=y",
		"/%252F/evil.example",
		"/%25252F%25252Fevil.example",
		"%2F%2Fevil.example",
		"/events\\..\\..\\/evil.example",
		"/\uff0f\uff0fevil.example",
		"/signin?next=//evil.example",
		"/%zz",
	}
	if len(hostile) < 20 {
		t.Fatal("fewer than 20 hostile values")
	}
	for _, next := range hostile {
		if got := web.SafeNext(next); got != "/" {
			t.Errorf("safeNext(%q) = %q, want /", next, got)
		}
		a := postSignin(t, srv, token, user, password, next)
		if a.status != http.StatusSeeOther || a.location != "/" {
			t.Errorf("next=%q: %d to %q, want 303 to /", next, a.status, a.location)
		}
		// Whatever was answered, it resolves to the dashboard's own host.
		base, _ := url.Parse(srv.URL + "/signin")
		if loc, err := base.Parse(a.location); err != nil || loc.Host != base.Host {
			t.Errorf("next=%q: Location %q resolves to host %v (%v)", next, a.location, loc, err)
		}
	}
	for _, next := range []string{"/", "/events?source=stripe", "/issues/iss_1", "/events/evt_01J?tab=attempts#d_1", "/events?q=a%20b&since=24h"} {
		if a := postSignin(t, srv, token, user, password, next); a.status != http.StatusSeeOther || a.location != next {
			t.Errorf("next=%q: %d to %q, want 303 to it", next, a.status, a.location)
		}
	}
	// The form keeps only a safe value too.
	resp, err := http.Get(srv.URL + "/signin?next=" + url.QueryEscape("/\t/evil.example"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `name="next" value="/"`) {
		t.Errorf("the sign-in form keeps a hostile next:\n%s", b)
	}
}
