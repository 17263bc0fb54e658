package web

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"

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
// Cross-site POSTs were refused before this, in ServeHTTP (crossOrigin):
// the token proves the form came from a page of the session, the origin
// check that the browser sent it from this site.
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
// when the dashboard is served over HTTPS (see secure). maxAge < 0 deletes
// it.
func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteStrictMode,
	})
}

// secure reports whether the browser reached the dashboard over HTTPS: the
// configured base URL is https, the request came over TLS, or a proxy the
// operator trusts (TrustForwardedProto) says so in X-Forwarded-Proto. The
// header is ignored otherwise: a client could set it.
func (h *Handler) secure(r *http.Request) bool {
	return h.httpsBase || r.TLS != nil ||
		(h.opts.TrustForwardedProto && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https"))
}

// crossOrigin refuses state-changing requests sent by a browser from
// another site (net/http.CrossOriginProtection: Sec-Fetch-Site, or Origin
// against Host), before the CSRF token is even looked at. Requests with
// neither header (curl, scripts, very old browsers) pass to the token
// check.
func (h *Handler) crossOrigin(w http.ResponseWriter, r *http.Request) bool {
	if err := h.origins.Check(r); err != nil {
		h.opts.Logger.WarnContext(r.Context(), "dashboard: cross-site request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "ip", clientIP(r))
		h.fail(w, r, nil, hookwatch.Errorf(hookwatch.EFORBIDDEN, "refused a request sent from another site: dashboard forms work only "+
			"from the dashboard's own pages. If you reach the dashboard through a proxy under another address, set dashboard.base_url to that address"))
		return true
	}
	return false
}

// clientIP is the remote address without its port, for logs. The admin
// listener is reached directly (loopback by default), so X-Forwarded-For is
// not trusted: anyone could set it to dodge the rate limit.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
