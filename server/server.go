// Package server builds Hookwatch's two HTTP listeners: the public one that
// receives webhooks, and the admin one (health, metrics, admin API) that is
// on loopback by default and requires a token. Every route is registered in
// Server.routes, the admin API's handlers are Server methods (one file per
// resource), and every error is answered by Errors.Error with its status
// from StatusOf.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/limit"
	"github.com/hookwatch/hookwatch/readiness"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure the servers: what the handlers read and call. A
// resource's routes are registered when what they need is set (the
// deliveries with Engine, the issues with Store...), so that Routes lists
// exactly what is served.
//
// Package server imports neither alert nor quarantine nor monitor (alert
// and quarantine import ingest, which takes its statuses from StatusOf
// here): what the API needs of them comes as func values, wired in cmd.
type Options struct {
	// Ingest serves /in/{source}: POST, and the other methods a source's
	// provider declares (it answers the rest 405).
	Ingest http.Handler
	// Readiness is what /readyz answers from: the cached outcome of the
	// last commit, the write probe and the free-space floor
	// (*readiness.Watcher). Without it, /readyz pings Store per request.
	Readiness Readiness
	// Store is what the admin API lists and changes; it is pinged by
	// /readyz when there is no Readiness.
	Store hookwatch.Store
	// AdminToken authenticates /api/ calls. Empty: the admin API refuses
	// every call with a message saying how to set it.
	AdminToken string
	// Gatherer serves /metrics on the admin listener.
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// ErrorReporter receives internal errors (the error tracker); nil
	// reports nothing.
	ErrorReporter hookwatch.ErrorReporter
	// Tokens, if set, also accepts users' API tokens (`hookwatch tokens
	// add`) on the admin API, besides AdminToken.
	Tokens TokenChecker
	// Now is the clock of the admin token throttle and of the API's
	// relative times ("since=2h"); time.Now if nil.
	Now func() time.Time
	// Dashboard, if set, serves every admin path not taken by health,
	// metrics and the API: the web dashboard.
	Dashboard http.Handler

	// Events is notified after every committed batch (the committer's
	// observer calls Notify): it wakes the event streams, which otherwise
	// find new events at their next poll. Nil: streams poll only.
	Events *hookwatch.Broadcaster
	// Stream tunes GET /api/events/stream (zero: the defaults).
	Stream StreamOptions

	// Engine serves the deliveries, replay and destinations endpoints.
	Engine *deliver.Engine
	// Health computes GET /api/health's report (alert.Health on the
	// store, an *alert.Report).
	Health func(ctx context.Context) (any, error)
	// AlertRules are the configured rules as GET /api/alerts shows them;
	// POST /api/silences accepts their names.
	AlertRules []AlertRule
	// TestChannel sends a test notification to an alert channel
	// (alert.Evaluator.SendTest).
	TestChannel func(ctx context.Context, channel string) (*hookwatch.Notification, error)
	// Release releases quarantined requests (quarantine.Releaser.Release,
	// whose *quarantine.Report is the answer).
	Release func(ctx context.Context, req ReleaseRequest) (any, error)
	// SentryTest sends Sentry's test event (the monitor's SendTest); nil
	// when Sentry is off, and POST /api/webhook-sentry-test says how to
	// turn it on.
	SentryTest func(ctx context.Context, force bool) (any, error)
}

// Readiness reports the instance's cached readiness; it does no I/O.
type Readiness interface {
	Status() readiness.Status
}

// TokenChecker reports whether token is a valid API token, and whose.
type TokenChecker func(ctx context.Context, token string) (user string, ok bool)

// Server is Hookwatch's HTTP side: both listeners' routes (routes) and the
// admin API's handlers, one file per resource (events.go, deliveries.go,
// destinations.go, issues.go, alerts.go, silences.go, quarantine.go,
// purge.go, sentry.go).
type Server struct {
	opts   Options
	errors Errors
	// guard checks every protected admin route: failed tokens are
	// throttled per client address, not per route.
	guard         *tokenGuard
	public, admin *routeMux
	streams       streams
}

// New builds the server's handlers from o.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{opts: o, errors: Errors{Logger: o.Logger, Report: o.ErrorReporter}}
	s.guard = newTokenGuard(o.AdminToken, o.Tokens, o.Now, s.errors)
	s.routes()
	return s
}

// Public is the handler of the public listener.
func (s *Server) Public() http.Handler { return s.public }

// Admin is the handler of the admin listener.
func (s *Server) Admin() http.Handler { return s.admin }

// Public returns the handler of the public listener of a server built
// from o (the receive path's tests).
func Public(o Options) http.Handler { return New(o).Public() }

// routes registers every route of both listeners: the one list of what
// Hookwatch serves (docs/api.md documents it, Routes checks it).
func (s *Server) routes() {
	o := s.opts
	pub := newRouteMux("public")
	ingest := o.Ingest
	if ingest == nil { // a server built for its admin side only
		ingest = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.error(w, r, hookwatch.Errorf(hookwatch.EUNAVAILABLE, "this server receives no webhooks"))
		})
	}
	pub.Handle("POST /in/{source}", ingest)
	// Other methods go to the receive handler too: a source accepts those its
	// provider declares (HubSpot's signed GETs, Dropbox's GET challenge...)
	// and answers the rest 405 with Allow.
	pub.Handle("/in/{source}", ingest)
	pub.HandleFunc("GET /healthz", healthz)
	pub.HandleFunc("GET /readyz", s.readyz(false))
	pub.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, hookwatch.Errorf(hookwatch.ENOTFOUND, "no such endpoint: webhooks are received on POST /in/{source}"))
	})
	s.public = pub

	adm := newRouteMux("admin")
	adm.HandleFunc("GET /healthz", healthz)
	adm.HandleFunc("GET /readyz", s.readyz(true))
	if o.Gatherer != nil {
		adm.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	}
	api := func(pattern string, h http.HandlerFunc) { adm.Handle(pattern, s.guard.wrap(h)) }
	if o.Health != nil {
		api("GET /api/health", s.health)
	}
	if o.Engine != nil && o.Store != nil {
		api("GET /api/deliveries", s.listDeliveries)
		api("GET /api/deliveries/{id}", s.getDelivery)
		api("POST /api/replay", s.replay)
		api("GET /api/destinations", s.listDestinations)
		api("POST /api/destinations/{name}/pause", s.pauseDestination)
		api("POST /api/destinations/{name}/resume", s.resumeDestination)
		api("POST /api/destinations/{name}/probe", s.probeDestination)
	}
	if o.Store != nil {
		api("GET /api/events", s.listEvents)
		api("GET /api/events/stream", s.streamEvents)
		api("GET /api/events/{id}", s.getEvent)
		api("GET /api/issues", s.listIssues)
		api("GET /api/issues/{id}", s.getIssue)
		api("POST /api/issues/{id}/resolve", s.setIssueStatus(hookwatch.IssueResolved))
		api("POST /api/issues/{id}/ignore", s.setIssueStatus(hookwatch.IssueIgnored))
		api("POST /api/issues/{id}/ack", s.setIssueStatus(hookwatch.IssueAcknowledged))
		api("POST /api/issues/{id}/reopen", s.setIssueStatus(hookwatch.IssueOpen))
		api("POST /api/issues/{id}/priority", s.setIssuePriority)
		api("POST /api/issues/{id}/comments", s.commentIssue)
		api("GET /api/alerts", s.listAlerts)
		api("GET /api/alerts/history", s.alertHistory)
		api("GET /api/silences", s.listSilences)
		api("POST /api/silences", s.createSilence)
		api("DELETE /api/silences/{id}", s.removeSilence)
		api("GET /api/quarantine", s.listQuarantined)
		api("GET /api/quarantine/{id}", s.getQuarantined)
		api("GET /api/replays", s.listReplays)
		api("POST /api/events/purge", s.purgeEvents)
		api("POST /api/erase", s.erase)
		api("GET /api/purges", s.listPurges)
	}
	if o.TestChannel != nil {
		api("POST /api/alerts/test/{channel}", s.testChannel)
	}
	if o.Release != nil {
		api("POST /api/quarantine/release", s.releaseQuarantined)
	}
	api("POST /api/webhook-sentry-test", s.sentryTest)
	api("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, hookwatch.Errorf(hookwatch.ENOTFOUND, "no such API endpoint: %s %s", r.Method, r.URL.Path))
	})
	// Go's profiler, for diagnosing a live instance; behind the admin token
	// like the API (profiles reveal code paths and timings, not secrets).
	adm.Handle("/debug/pprof/", s.guard.wrap(http.HandlerFunc(pprof.Index)))
	adm.Handle("/debug/pprof/profile", s.guard.wrap(http.HandlerFunc(pprof.Profile)))
	if o.Dashboard != nil {
		adm.Handle("/", o.Dashboard)
	}
	s.admin = adm
}

// error answers err with the server's logger and error reporter.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	s.errors.Error(w, r, err)
}

// Admin token throttle: wrong tokens allowed per client address per
// window. Beyond, the address is answered 429 with Retry-After, without
// looking at the token (a right one included), until the window has
// passed. An attempt is counted before the token is checked and given back
// if it was right, so concurrent guesses get no more checks than a slow
// series. Requests without a token are not counted: they guess nothing.
const (
	tokenFailures = 20
	tokenWindow   = 10 * time.Minute
)

// tokenGuard checks admin API credentials and throttles wrong ones.
type tokenGuard struct {
	errors  Errors
	token   string
	tokens  TokenChecker
	now     func() time.Time
	limiter *limit.Limiter
}

func newTokenGuard(token string, tokens TokenChecker, now func() time.Time, errors Errors) *tokenGuard {
	if now == nil {
		now = time.Now
	}
	return &tokenGuard{errors: errors, token: token, tokens: tokens, now: now,
		limiter: limit.New(limit.Policy{Max: tokenFailures, Window: tokenWindow}, now)}
}

func (g *tokenGuard) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.token == "" && g.tokens == nil {
			g.errors.Error(w, r, hookwatch.Errorf(hookwatch.EFORBIDDEN, "the admin API is disabled: set admin_token in the config"))
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || got == "" {
			g.unauthorized(w, r)
			return
		}
		attempt, ok, retry := g.limiter.Reserve(limit.Addr(r.RemoteAddr))
		if !ok {
			wait := max(retry.Sub(g.now()), time.Second).Round(time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
			// 429 has no error code of its own: it is only ever this throttle.
			WriteJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too_many_requests",
				"message": fmt.Sprintf("too many wrong admin or API tokens from this address: retry in %s", wait)})
			return
		}
		// Compared as SHA-256 digests: constant time whatever the lengths.
		valid := g.token != "" && subtle.ConstantTimeCompare(digest(got), digest(g.token)) == 1
		if !valid && g.tokens != nil {
			_, valid = g.tokens(r.Context(), got)
		}
		if !valid {
			g.unauthorized(w, r) // the attempt stays counted
			return
		}
		attempt.Cancel()
		h.ServeHTTP(w, r)
	})
}

func digest(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func (g *tokenGuard) unauthorized(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="hookwatch"`)
	g.errors.Error(w, r, hookwatch.Errorf(hookwatch.EUNAUTHORIZED, "missing or wrong admin token (Authorization: Bearer <admin_token or API token>)"))
}

func healthz(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyResponse is /readyz's body. Reason is the first problem's word
// (commit_failed, probe_failed, low_disk) and Message says it for people;
// the admin listener adds every problem and the storage figures, the public
// one does not show them to the internet.
type readyResponse struct {
	Status   string              `json:"status"`
	Reason   string              `json:"reason,omitempty"`
	Message  string              `json:"message,omitempty"`
	Problems []readiness.Problem `json:"problems,omitempty"`
	Storage  *readiness.Storage  `json:"storage,omitempty"`
}

// readyz answers 200 when the instance can take webhooks, else 503 with
// the reason. It reads the cached state: a request never causes a probe.
func (s *Server) readyz(detail bool) http.HandlerFunc {
	o := s.opts
	return func(w http.ResponseWriter, r *http.Request) {
		if o.Readiness == nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := o.Store.Ping(ctx); err != nil {
				WriteJSON(w, http.StatusServiceUnavailable, readyResponse{Status: "unavailable", Reason: "unreachable", Message: hookwatch.ErrorMessage(err)})
				return
			}
			WriteJSON(w, http.StatusOK, readyResponse{Status: "ready"})
			return
		}
		st := o.Readiness.Status()
		resp, code := readyResponse{Status: "ready"}, http.StatusOK
		if !st.Ready {
			resp, code = readyResponse{Status: "unavailable", Reason: st.Problems[0].Reason, Message: st.Problems[0].Message}, http.StatusServiceUnavailable
		}
		if detail {
			resp.Problems, resp.Storage = st.Problems, &st.Storage
		} else if !st.Ready {
			resp.Message = publicMessage[resp.Reason]
		}
		WriteJSON(w, code, resp)
	}
}

// publicMessage is what the public listener says of each reason: no
// figures nor store errors.
var publicMessage = map[string]string{
	readiness.CommitFailed: "the store cannot commit",
	readiness.ProbeFailed:  "the store cannot write",
	readiness.LowDisk:      "the store's volume is low on free space",
}

// HTTPServer returns an *http.Server with timeouts on every phase: a slow
// or stalled client cannot hold a connection forever.
func HTTPServer(addr string, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Listen opens addr; ":0" picks a free port (tests).
func Listen(addr string) (net.Listener, error) {
	return net.Listen("tcp", addr)
}
