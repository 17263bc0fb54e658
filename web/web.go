// Package web is Hookwatch's dashboard: server-rendered pages on the admin
// listener that show events, deliveries, destinations, issues, alerts and
// quarantined requests, and act on them (replay, pause, resolve, release).
//
// Pages are html/template files and assets embedded in the binary; assets
// are served under content-hashed URLs with a long cache. Every page works
// without JavaScript; app.js only adds auto-refresh and copy buttons.
// Charts are SVG drawn by chart.go. Every page and action needs a signed-in
// user (auth.go); every form POST carries the session's CSRF token and
// must come from the dashboard's own pages (Origin, Sec-Fetch-Site).
package web

import (
	"bytes"
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/quarantine"
	"github.com/hookwatch/hookwatch/readiness"
	"github.com/hookwatch/hookwatch/server"
	"golang.org/x/crypto/bcrypt"
)

// Destination is a configured destination as the dashboard lists it.
type Destination struct {
	Name string
	URL  string
	// Ordered is set for a destination with ordering; OnDead is its
	// on_dead. The event page says what an ordered delivery waits behind.
	Ordered bool
	OnDead  hookwatch.OnDead
	// Settings summarise its configuration on its page (timeout, retry,
	// header names): secrets and URL credentials redacted.
	Settings []Setting
}

// Control is what the dashboard asks of the delivery engine: pausing and
// replaying through it wakes it at once, resuming and probing try the
// destination at once. *deliver.Engine implements it.
type Control interface {
	SetPaused(ctx context.Context, name string, paused bool) error
	Resume(ctx context.Context, name string) (*deliver.ProbeResult, error)
	Probe(ctx context.Context, name string) (*deliver.ProbeResult, error)
	Replay(ctx context.Context, r hookwatch.ReplayRequest) (*hookwatch.Replay, error)
}

// Releaser releases quarantined requests. *quarantine.Releaser implements it.
type Releaser interface {
	Release(ctx context.Context, req quarantine.Request) (*quarantine.Report, error)
}

// Readiness is the instance's cached readiness; *readiness.Watcher
// implements it.
type Readiness interface {
	Status() readiness.Status
}

// Options configure the dashboard.
type Options struct {
	Store hookwatch.Store
	// Sources and Destinations are the configured names, listed on the
	// overview even before they have traffic.
	Sources      []string
	Destinations []Destination
	// SourceSettings summarise each source's configuration on its page
	// (provider, tolerance, routes): secrets redacted.
	SourceSettings map[string][]Setting
	// Control pauses and replays through the engine; nil: through the
	// store (the engine then sees the change at its next poll).
	Control Control
	// Releaser releases quarantined requests; nil: no release button.
	Releaser Releaser
	// Readiness, if set, is shown on the overview: why the instance is not
	// ready (a failing store, low free space) and the store's free space.
	Readiness Readiness
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// AlertRules are the configured alert rules, listed on the alerts page
	// even before they are evaluated.
	AlertRules []AlertRule
	// SessionTTL is how long a sign-in lasts; 12 hours if zero.
	SessionTTL time.Duration
	Logger     *slog.Logger
	// BaseURL is where browsers reach the dashboard (dashboard.base_url),
	// if known: with https, cookies are Secure; its origin is accepted on
	// POSTs even when a proxy rewrites the Host header.
	BaseURL string
	// TrustForwardedProto believes X-Forwarded-Proto: https (set by a proxy
	// the operator runs) for Secure cookies. Off by default: any client
	// can send the header.
	TrustForwardedProto bool
	// ErrorReporter receives internal errors (the error tracker); nil
	// reports nothing.
	ErrorReporter hookwatch.ErrorReporter
}

// Handler serves the dashboard.
type Handler struct {
	opts    Options
	mux     *http.ServeMux
	pages   map[string]*template.Template
	assets  *assets
	limiter *signinLimiter
	// checkPassword is bcrypt's comparison (a test counts the calls).
	checkPassword func(hash, password []byte) error
	// origins refuses cross-site POSTs; httpsBase: BaseURL is https.
	origins   *http.CrossOriginProtection
	httpsBase bool
	// Optional stores: a page is served only when the store has what it
	// needs.
	issues     hookwatch.IssueStore
	alerts     hookwatch.AlertStore
	health     hookwatch.HealthStore
	quarantine hookwatch.QuarantineStore
}

// New returns the dashboard handler.
func New(o Options) (*Handler, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{opts: o, limiter: newSigninLimiter(o.Now, limitKeys), checkPassword: bcrypt.CompareHashAndPassword,
		origins: http.NewCrossOriginProtection()}
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, hookwatch.Errorf(hookwatch.EINVALID, "web: base URL %q is not an http(s) URL", o.BaseURL)
		}
		h.httpsBase = u.Scheme == "https"
		if err := h.origins.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return nil, hookwatch.Errorf(hookwatch.EINVALID, "web: base URL: %v", err)
		}
	}
	h.issues, _ = o.Store.(hookwatch.IssueStore)
	h.alerts, _ = o.Store.(hookwatch.AlertStore)
	h.health, _ = o.Store.(hookwatch.HealthStore)
	h.quarantine, _ = o.Store.(hookwatch.QuarantineStore)
	var err error
	if h.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if h.pages, err = h.parseTemplates(); err != nil {
		return nil, err
	}
	h.mux = http.NewServeMux()
	h.routes()
	return h, nil
}

// routes registers every dashboard route: the one place to read them all.
func (h *Handler) routes() {
	m := h.mux
	m.HandleFunc("GET /assets/{name}", h.serveAsset)
	m.HandleFunc("GET /signin", h.signinPage)
	m.HandleFunc("POST /signin", h.signin)
	m.HandleFunc("POST /signout", h.auth(h.signout))

	m.HandleFunc("GET /{$}", h.auth(h.overview))
	m.HandleFunc("GET /events", h.auth(h.events))
	m.HandleFunc("GET /events/{id}", h.auth(h.event))
	m.HandleFunc("POST /events/{id}/replay", h.auth(h.replayEvent))
	m.HandleFunc("GET /replay", h.auth(h.replayMatchingPreview))
	m.HandleFunc("POST /replay", h.auth(h.replayMatching))
	m.HandleFunc("GET /destinations", h.auth(h.destinations))
	m.HandleFunc("GET /destinations/{name}", h.auth(h.destination))
	m.HandleFunc("GET /sources/{name}", h.auth(h.source))
	m.HandleFunc("GET /performance", h.auth(h.performance))
	m.HandleFunc("POST /destinations/{name}/pause", h.auth(h.pauseDestination))
	m.HandleFunc("POST /destinations/{name}/resume", h.auth(h.resumeDestination))
	m.HandleFunc("POST /destinations/{name}/probe", h.auth(h.probeDestination))
	m.HandleFunc("GET /audit", h.auth(h.audit))
	if h.issues != nil {
		m.HandleFunc("GET /issues", h.auth(h.issueList))
		m.HandleFunc("GET /issues/{id}", h.auth(h.issue))
		m.HandleFunc("POST /issues/{id}", h.auth(h.updateIssue))
	}
	if h.alerts != nil {
		m.HandleFunc("GET /alerts", h.auth(h.alertList))
		m.HandleFunc("POST /alerts/silences", h.auth(h.silence))
		m.HandleFunc("POST /alerts/silences/{id}/remove", h.auth(h.unsilence))
	}
	if h.quarantine != nil {
		m.HandleFunc("GET /quarantine", h.auth(h.quarantineList))
		m.HandleFunc("GET /quarantine/release", h.auth(h.releaseMatchingPreview))
		m.HandleFunc("POST /quarantine/release", h.auth(h.releaseMatching))
		m.HandleFunc("GET /quarantine/{id}", h.auth(h.quarantined))
		m.HandleFunc("POST /quarantine/{id}/release", h.auth(h.releaseQuarantined))
	}
	m.HandleFunc("/", h.auth(func(w http.ResponseWriter, r *http.Request, p *page) {
		h.fail(w, r, p, hookwatch.Errorf(hookwatch.ENOTFOUND, "no such page: %s", r.URL.Path))
	}))
}

// ServeHTTP serves the dashboard with its security headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	if h.crossOrigin(w, r) {
		return
	}
	h.mux.ServeHTTP(w, r)
}

// page is what every page template receives besides its own data.
type page struct {
	User  string
	CSRF  string
	Title string
	// Nav is the section highlighted in the menu.
	Nav string
	// Flash is a message after an action; Error one after a failure.
	Flash, Error string
	// Refresh enables the auto-refresh switch (app.js).
	Refresh bool
	Data    any
	h       *Handler
	now     time.Time
}

// Has reports which optional sections exist, for the menu.
func (p *page) Has(section string) bool {
	switch section {
	case "issues":
		return p.h.issues != nil
	case "alerts":
		return p.h.alerts != nil
	case "quarantine":
		return p.h.quarantine != nil
	}
	return false
}

// render executes a page template into a buffer first, so a failing
// template becomes an error page rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := h.pages[name]
	if !ok {
		panic("web: no template " + name)
	}
	if p.Flash == "" {
		p.Flash = flashMessage(r.URL.Query())
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		h.opts.Logger.ErrorContext(r.Context(), "web: render", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail answers err through server.Errors, the one error writer the admin
// API uses too: the status from server.StatusOf, internal errors logged and
// reported, their details not shown; a client asking for JSON gets the
// API's JSON, a browser this dashboard's error page (in the layout of p).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, p *page, err error) {
	server.Errors{Logger: h.opts.Logger, Report: h.opts.ErrorReporter,
		Page: func(w http.ResponseWriter, r *http.Request, status int, message string) {
			if p == nil {
				p = &page{h: h, now: h.opts.Now()}
			}
			p.Title, p.Error, p.Data = http.StatusText(status), message, nil
			h.render(w, r, status, "error", p)
		}}.Error(w, r, err)
}

// redirect sends the browser to path after an action (303: GET it).
// Flash codes are looked up in flashes, so a link cannot show any text.
func redirect(w http.ResponseWriter, r *http.Request, path string, flash string, n int) {
	if flash != "" {
		q := url.Values{"ok": {flash}}
		if n >= 0 {
			q.Set("n", strconv.Itoa(n))
		}
		frag := ""
		if i := strings.IndexByte(path, '#'); i >= 0 {
			path, frag = path[:i], path[i:]
		}
		path += "?" + q.Encode() + frag
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

var flashes = map[string]string{
	"replayed": "Replay queued: %s deliveries re-queued.",
	"paused":   "Destination paused: its deliveries wait, none is dropped.",
	"resumed":  "Destination resumed.",
	// After a resume or a probe: what the probe did.
	"probe-up":        "Probe delivered (HTTP %s): the circuit is closed and the waiting deliveries are being sent.",
	"probe-down":      "Probe failed (HTTP %s): the circuit is unchanged. The attempt is in the timeline below.",
	"probe-noanswer":  "Probe failed: no answer (connection error or timeout). The circuit is unchanged; the attempt is in the timeline below.",
	"probe-none":      "Nothing to probe with: no delivery of this destination is due now.",
	"resumed-up":      "Destination resumed. Its probe was delivered (HTTP %s): the waiting deliveries are being sent.",
	"resumed-down":    "Destination resumed, but its probe failed (HTTP %s): the circuit is unchanged. The attempt is in the timeline below.",
	"resumed-noanswr": "Destination resumed, but its probe got no answer (connection error or timeout). The attempt is in the timeline below.",
	"updated":         "Issue updated.",
	"released":        "Release done: %s released.",
}

func flashMessage(q url.Values) string {
	f, ok := flashes[q.Get("ok")]
	if !ok {
		return ""
	}
	if n := q.Get("n"); n != "" {
		if _, err := strconv.Atoi(n); err == nil {
			return sprintf(f, n)
		}
	}
	return sprintf(f, "some")
}
