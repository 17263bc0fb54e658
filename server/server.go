// Package server builds Hookwatch's two HTTP listeners: the public one that
// receives webhooks, and the admin one (health, metrics, admin API) that is
// on loopback by default and requires a token. Every route is registered in
// routes(), and every error becomes an HTTP status in writeError.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/limit"
	"github.com/hookwatch/hookwatch/readiness"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure the servers.
type Options struct {
	// Ingest serves POST /in/{source}.
	Ingest http.Handler
	// Readiness is what /readyz answers from: the cached outcome of the
	// last commit, the write probe and the free-space floor
	// (*readiness.Watcher). Without it, /readyz pings Store per request.
	Readiness Readiness
	// Store is pinged by /readyz when there is no Readiness.
	Store hookwatch.Store
	// AdminToken authenticates /api/ calls. Empty: the admin API refuses
	// every call with a message saying how to set it.
	AdminToken string
	// Gatherer serves /metrics on the admin listener.
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// API registers additional admin API routes (delivery, issues...); each
	// pattern must start with a method and "/api/".
	API map[string]http.HandlerFunc
	// Tokens, if set, also accepts users' API tokens (`hookwatch tokens
	// add`) on the admin API, besides AdminToken.
	Tokens TokenChecker
	// Now is the clock of the admin token throttle; time.Now if nil.
	Now func() time.Time
	// Dashboard, if set, serves every admin path not taken by health,
	// metrics and the API: the web dashboard.
	Dashboard http.Handler
}

// Readiness reports the instance's cached readiness; it does no I/O.
type Readiness interface {
	Status() readiness.Status
}

// TokenChecker reports whether token is a valid API token, and whose.
type TokenChecker func(ctx context.Context, token string) (user string, ok bool)

// Public returns the handler of the public listener.
func Public(o Options) http.Handler {
	return public(o, nil)
}

// public builds the public listener's routes, recording them in list if
// not nil (Routes).
func public(o Options, list *[]Route) http.Handler {
	mux := newRouteMux("public", list)
	mux.Handle("POST /in/{source}", o.Ingest)
	mux.HandleFunc("/in/{source}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "POST")
		WriteError(w, r, hookwatch.Errorf(hookwatch.EMETHOD, "webhooks are received with POST, not %s", r.Method))
	})
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", readyz(o, false))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, hookwatch.Errorf(hookwatch.ENOTFOUND, "no such endpoint: webhooks are received on POST /in/{source}"))
	})
	return mux
}

// Admin returns the handler of the admin listener.
func Admin(o Options) http.Handler {
	return admin(o, nil)
}

// admin builds the admin listener's routes, recording them in list if not
// nil (Routes).
func admin(o Options, list *[]Route) http.Handler {
	mux := newRouteMux("admin", list)
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", readyz(o, true))
	if o.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	}
	// One guard for every protected route: failed tokens are throttled per
	// client address, not per route.
	guard := newTokenGuard(o.AdminToken, o.Tokens, o.Now)
	for pattern, h := range o.API {
		mux.Handle(pattern, guard.wrap(h))
	}
	mux.Handle("/api/", guard.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, hookwatch.Errorf(hookwatch.ENOTFOUND, "no such API endpoint: %s %s", r.Method, r.URL.Path))
	})))
	// Go's profiler, for diagnosing a live instance; behind the admin token
	// like the API (profiles reveal code paths and timings, not secrets).
	mux.Handle("/debug/pprof/", guard.wrap(http.HandlerFunc(pprof.Index)))
	mux.Handle("/debug/pprof/profile", guard.wrap(http.HandlerFunc(pprof.Profile)))
	if o.Dashboard != nil {
		mux.Handle("/", o.Dashboard)
	}
	return mux
}

// RequireToken wraps h so that it answers only requests carrying
// "Authorization: Bearer <token>". The comparison is constant-time.
func RequireToken(token string, h http.Handler) http.Handler {
	return RequireTokens(token, nil, h)
}

// RequireTokens is RequireToken that also accepts the API tokens that
// tokens knows (nil: none). With neither an admin token nor token checker
// the API is disabled. Failed tokens are throttled per client address (see
// tokenGuard); Admin shares one throttle across all its routes.
func RequireTokens(token string, tokens TokenChecker, h http.Handler) http.Handler {
	return newTokenGuard(token, tokens, nil).wrap(h)
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
	token   string
	tokens  TokenChecker
	now     func() time.Time
	limiter *limit.Limiter
}

func newTokenGuard(token string, tokens TokenChecker, now func() time.Time) *tokenGuard {
	if now == nil {
		now = time.Now
	}
	return &tokenGuard{token: token, tokens: tokens, now: now,
		limiter: limit.New(limit.Policy{Max: tokenFailures, Window: tokenWindow}, now)}
}

func (g *tokenGuard) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.token == "" && g.tokens == nil {
			WriteError(w, r, hookwatch.Errorf(hookwatch.EFORBIDDEN, "the admin API is disabled: set admin_token in the config"))
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || got == "" {
			unauthorized(w, r)
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
			unauthorized(w, r) // the attempt stays counted
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

func unauthorized(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="hookwatch"`)
	WriteError(w, r, hookwatch.Errorf(hookwatch.EUNAUTHORIZED, "missing or wrong admin token (Authorization: Bearer <admin_token or API token>)"))
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
func readyz(o Options, detail bool) http.HandlerFunc {
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

// statusOf maps error codes to HTTP statuses: the one place that does.
var statusOf = map[string]int{
	hookwatch.ECONFLICT:     http.StatusConflict,
	hookwatch.EINVALID:      http.StatusBadRequest,
	hookwatch.ENOTFOUND:     http.StatusNotFound,
	hookwatch.EUNAUTHORIZED: http.StatusUnauthorized,
	hookwatch.EFORBIDDEN:    http.StatusForbidden,
	hookwatch.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	hookwatch.EUNAVAILABLE:  http.StatusServiceUnavailable,
	hookwatch.EMETHOD:       http.StatusMethodNotAllowed,
	hookwatch.EINTERNAL:     http.StatusInternalServerError,
}

// StatusOf is the HTTP status of an error code (500 for an unknown one):
// the admin API, the dashboard's error pages and ingest's answers all take
// their statuses from here, so a code means the same status everywhere.
func StatusOf(code string) int {
	if status, ok := statusOf[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// ErrorReporter, if set, receives internal errors (the error tracker).
var ErrorReporter func(ctx context.Context, err error)

// WriteError writes err as {"error": code, "message": ...} with its status.
// Internal errors are logged and reported; their details are not shown.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	code := hookwatch.ErrorCode(err)
	status := StatusOf(code)
	if code == hookwatch.EINTERNAL {
		slog.Default().ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		if ErrorReporter != nil {
			ErrorReporter(r.Context(), err)
		}
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	WriteJSON(w, status, map[string]string{"error": code, "message": hookwatch.ErrorMessage(err)})
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// New returns an *http.Server with timeouts on every phase: a slow or
// stalled client cannot hold a connection forever.
func New(addr string, h http.Handler, logger *slog.Logger) *http.Server {
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
