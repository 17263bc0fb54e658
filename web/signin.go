package web

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/limit"
	"golang.org/x/crypto/bcrypt"
)

// dummyHash is compared against when the user does not exist, so that a
// wrong name costs what a wrong password costs (the cost users add uses),
// and goes through the same limits.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("hookwatch dummy password"), bcrypt.DefaultCost)

type signinData struct {
	Name string
	Next string
}

// safeNext keeps a post-sign-in destination only if it is an absolute path
// on this site, and "/" otherwise.
func safeNext(next string) string {
	if !samePath(next) || strings.HasPrefix(next, "/signin") {
		return "/"
	}
	return next
}

// samePath reports whether p is a path on this site and cannot be read as
// another. Browsers are lenient: they drop tabs and newlines and read "\\"
// as "/", so "/\t/evil.example" and "/\\evil.example" are "//evil.example",
// another host. So p must be printable ASCII without backslashes, start
// with a single "/", give url.Parse no scheme, host or user, and stay so
// once percent-decoded ("/%2F", "/%5C", "%09"...), up to three times.
func samePath(p string) bool {
	if p == "" || len(p) > 2048 {
		return false
	}
	for i := range len(p) {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	for range 4 { // p, then up to three decodings of it
		if p[0] != '/' || (len(p) > 1 && (p[1] == '/' || p[1] == '\\')) {
			return false
		}
		for i := range len(p) {
			if c := p[i]; c < ' ' || c == 0x7f {
				return false
			}
		}
		u, err := url.Parse(p)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
			return false
		}
		d, err := url.PathUnescape(p)
		if err != nil {
			return false
		}
		if d == p {
			return true
		}
		p = d
	}
	return false // still encoded after three decodings: no dashboard link is
}

// signinPage shows the sign-in form, with a fresh form token in a cookie.
func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request) {
	h.renderSignin(w, r, http.StatusOK, signinData{Next: safeNext(r.URL.Query().Get("next"))}, "")
}

func (h *Handler) renderSignin(w http.ResponseWriter, r *http.Request, status int, d signinData, msg string) {
	// Keep the browser's form token across attempts (a second tab's form
	// stays valid); a missing or odd one is replaced.
	token := hookwatch.NewSecretToken("")
	if c, err := r.Cookie(signinCookie); err == nil && len(c.Value) == len(token) {
		token = c.Value
	}
	h.setCookie(w, r, signinCookie, token, 3600)
	h.render(w, r, status, "signin", &page{Title: "Sign in", CSRF: token, Error: msg, Data: d, h: h, now: h.opts.Now()})
}

// signin checks a user name and password and starts a session. The
// attempt is reserved (per name and per address) before the password is
// checked, and given back only on success.
func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	name, password := r.PostFormValue("name"), r.PostFormValue("password")
	d := signinData{Name: name, Next: safeNext(r.PostFormValue("next"))}
	c, err := r.Cookie(signinCookie)
	form := r.PostFormValue("csrf")
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 {
		h.renderSignin(w, r, http.StatusForbidden, d, "The form expired: please sign in again.")
		return
	}
	ip := clientIP(r)
	attempt, ok, until := h.limiter.reserve(name, limit.Addr(r.RemoteAddr))
	if !ok {
		wait := until.Sub(h.opts.Now()).Round(time.Minute)
		if wait < time.Minute {
			wait = time.Minute
		}
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())))
		h.renderSignin(w, r, http.StatusTooManyRequests, d, fmt.Sprintf("Too many failed sign-ins: try again in %s.", wait))
		return
	}
	u, err := h.opts.Store.GetUser(r.Context(), name)
	hash := dummyHash
	switch {
	case err == nil:
		hash = u.PasswordHash
	case hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND:
		attempt.cancel() // no password was checked: our failure, not theirs
		h.fail(w, r, nil, err)
		return
	}
	if h.checkPassword(hash, []byte(password)) != nil || err != nil {
		// The reserved attempt stays counted: it is this failure.
		h.opts.Logger.WarnContext(r.Context(), "dashboard sign-in failed", "user", name, "ip", ip)
		h.renderSignin(w, r, http.StatusUnauthorized, d, "Wrong user name or password.")
		return
	}
	attempt.succeeded()
	now := h.opts.Now()
	token := hookwatch.NewSecretToken("hws_")
	se := &hookwatch.Session{ID: hookwatch.HashToken(token), User: u.Name, CSRF: hookwatch.NewSecretToken(""),
		CreatedAt: now, ExpiresAt: now.Add(h.opts.SessionTTL)}
	if err := h.opts.Store.CreateSession(r.Context(), se); err != nil {
		h.fail(w, r, nil, err)
		return
	}
	if _, err := h.opts.Store.DeleteExpiredSessions(r.Context(), now); err != nil {
		h.opts.Logger.WarnContext(r.Context(), "web: delete expired sessions", "error", err)
	}
	h.opts.Logger.InfoContext(r.Context(), "dashboard sign-in", "user", u.Name, "ip", ip)
	h.setCookie(w, r, signinCookie, "", -1)
	h.setCookie(w, r, sessionCookie, token, int(h.opts.SessionTTL.Seconds()))
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

// signout ends the session.
func (h *Handler) signout(w http.ResponseWriter, r *http.Request, p *page) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := h.opts.Store.DeleteSession(r.Context(), hookwatch.HashToken(c.Value)); err != nil {
			h.fail(w, r, p, err)
			return
		}
	}
	h.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
