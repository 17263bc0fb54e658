package web

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Cookie names. The session cookie holds a random token; the store keeps
// only its SHA-256, with the session's CSRF token and expiry.
const (
	sessionCookie = "hw_session"
	// signinCookie carries the sign-in form's CSRF token (double submit):
	// there is no session yet to keep it in.
	signinCookie = "hw_signin"
)

// handlerFunc is a page or action of a signed-in user.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *page)

// auth wraps a page or action: without a live session, a GET is sent to
// the sign-in page and anything else is refused with 401; a POST must carry
// the session's CSRF token (403 otherwise). Nothing runs before both checks.
func (h *Handler) auth(next handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		now := h.opts.Now()
		var se *hookwatch.Session
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			s, err := h.opts.Store.GetSession(r.Context(), hookwatch.HashToken(c.Value), now)
			switch {
			case err == nil:
				se = s
			case hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND:
				h.fail(w, r, nil, err)
				return
			}
		}
		if se == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			h.fail(w, r, nil, hookwatch.Errorf(hookwatch.EUNAUTHORIZED, "sign in first: your session has expired or you are signed out"))
			return
		}
		p := &page{User: se.User, CSRF: se.CSRF, h: h, now: now}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			got := r.PostFormValue("csrf")
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(se.CSRF)) != 1 {
				h.fail(w, r, p, hookwatch.Errorf(hookwatch.EFORBIDDEN, "the form's security token is missing or stale: reload the page and try again"))
				return
			}
		}
		next(w, r, p)
	}
}

// setCookie sets a dashboard cookie: HttpOnly, SameSite=Strict, and Secure
// when the request came over TLS. maxAge < 0 deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}

// clientIP is the remote address without its port. The admin listener is
// reached directly (loopback by default), so X-Forwarded-For is not
// trusted: anyone could set it to dodge the rate limit.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Sign-in limits: failed attempts allowed per window, per user name and
// per client address. Beyond them sign-in is refused (429) without
// checking the password, until the window has passed.
const (
	limitWindow  = 15 * time.Minute
	limitPerUser = 5
	limitPerIP   = 20
	limitKeys    = 10000 // bound on remembered keys: a flood cannot grow memory without end
)

// limiter counts failed sign-ins per key ("user:alice", "ip:10.0.0.1") in
// a sliding window. It is in memory: each instance limits on its own.
type limiter struct {
	now      func() time.Time
	mu       sync.Mutex
	failures map[string][]time.Time
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, failures: map[string][]time.Time{}}
}

// recent returns the failures of key within the window, dropping older ones.
func (l *limiter) recent(key string, now time.Time) []time.Time {
	fs := l.failures[key]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= limitWindow {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.failures, key)
		return nil
	}
	l.failures[key] = fs
	return fs
}

// blocked reports whether a sign-in as user from ip must be refused, and
// when it may be tried again.
func (l *limiter) blocked(user, ip string) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range []struct {
		key string
		max int
	}{{"user:" + strings.ToLower(user), limitPerUser}, {"ip:" + ip, limitPerIP}} {
		if fs := l.recent(k.key, now); len(fs) >= k.max {
			return true, fs[len(fs)-k.max].Add(limitWindow)
		}
	}
	return false, time.Time{}
}

// fail records a failed sign-in.
func (l *limiter) fail(user, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.failures) >= limitKeys {
		for k := range l.failures {
			l.recent(k, now)
		}
		if len(l.failures) >= limitKeys {
			// Still full of live keys: forget an arbitrary half rather than
			// grow. An attacker gains little; memory stays bounded.
			n := 0
			for k := range l.failures {
				if n++; n > limitKeys/2 {
					break
				}
				delete(l.failures, k)
			}
		}
	}
	for _, k := range []string{"user:" + strings.ToLower(user), "ip:" + ip} {
		l.failures[k] = append(l.failures[k], now)
	}
}

// succeed forgets the user's failures (not the address's).
func (l *limiter) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, "user:"+strings.ToLower(user))
}
