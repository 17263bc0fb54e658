// Package ingest is the receive path: POST /in/{source} reads at most the
// source's size limit, verifies the provider's signature, and answers 2xx
// only after the event has been committed durably by the group committer.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/provider"
	"github.com/hookwatch/hookwatch/server"
)

// Source is one configured source, ready to verify.
type Source struct {
	Name     string
	Provider string
	Scheme   provider.Scheme
	// MaxBody is the largest body accepted; larger requests get 413.
	MaxBody int64
	// PublicURL is the URL the provider calls, for schemes that sign the URL.
	PublicURL string
	// DedupeHorizon is how long the dedupe key is remembered.
	DedupeHorizon time.Duration
	// DedupeBody dedupes on the body instead of the provider's event ID
	// (sources[].dedupe: body): a captured request sent again with a new
	// delivery ID is a duplicate, for providers that sign no ID.
	DedupeBody bool
	// Subject is where the event's data subject is in the body
	// (sources[].subject, or the provider's default): extracted into
	// Event.Subject, and Rejection.Subject, for erasure. Empty: none.
	Subject hookwatch.SubjectPath
	// Secrets are the source's configured secrets. The receive path does
	// not use them (Scheme has its own); the quarantine's release matches
	// them against a kept request's sealed token header.
	Secrets []string
}

// Router picks the destinations an event is delivered to, and says which
// routes' filters left it out (hookwatch.Router). It must be fast: it runs
// on the receive path, once per event.
type Router = hookwatch.RouteFunc

// Rejection is a request that failed verification, handed to Options.Reject
// (quarantine, issue grouping, the error tracker).
type Rejection struct {
	Source   string
	Provider string
	Reason   provider.Reason
	Err      error
	Method   string
	// URL is the URL verified: the source's public_url (or the URL the
	// server saw) plus the query string.
	URL string
	// Headers are the request's, except credential headers: redacted, or
	// sealed under Options.Key for the token headers a release must verify
	// (hookwatch.SealHeaders). Headers and Body must not be modified.
	Headers    http.Header
	Body       []byte
	ReceivedAt time.Time
	// SubjectPath is the source's subject path (empty: none). Whoever
	// keeps the request extracts its subject (not verified, so possibly
	// forged: it only lets an erasure find the request); the receive path
	// does not, since most rejected requests are dropped.
	SubjectPath hookwatch.SubjectPath
}

// Options configure a Handler.
type Options struct {
	Sources   []Source
	Committer *Committer
	Router    Router
	// Orderer, if set, computes the ordering keys of an event's
	// deliveries once it is routed (hookwatch.Orderer): where deliveries
	// are made from events, so the key is fixed when the delivery is.
	Orderer func(*hookwatch.Event)
	// RetryAfter is sent with 503 answers.
	RetryAfter time.Duration
	Logger     *slog.Logger
	Metrics    *Metrics
	Now        func() time.Time
	// Tracer, if set, traces requests (spans verify and persist) and gives
	// each event the trace its deliveries continue (Event.Trace).
	Tracer hookwatch.Tracer
	// Reject, if set, is called for every request that failed verification,
	// after the 401 has been decided. It must not block for long.
	Reject func(ctx context.Context, r Rejection)
	// Key is the installation key (Store.InstallationKey): a rejection's
	// token headers (X-Gitlab-Token) are sealed under it, so that a
	// quarantined request can be verified again. Nil: they are redacted,
	// and such a request can only be released unverified.
	Key []byte
}

// Handler serves /in/{source}: POST, and the other methods the source's
// provider declares (provider.Info.Methods); any other method is answered
// 405 with Allow.
type Handler struct {
	opts    Options
	sources map[string]*Source
	// rejectLogs samples the "webhook rejected" line per source.
	rejectLogs map[string]*rejectLog
	// methods are the HTTP methods each source accepts: POST, and those its
	// provider declares (provider.Info.Methods).
	methods map[string][]string
	// acks are the answer bodies of the sources whose provider expects
	// one (provider.Info.Ack) instead of the JSON answer.
	acks map[string][]byte
}

// RejectLogInterval is the least time between two "webhook rejected" log
// lines of one source. Anyone can send unsigned requests: a line for each
// would let a flood fill the log volume, so the first rejection of each
// interval is logged with the number left unlogged since the line before,
// and the metric (hookwatch_ingest_rejected_total) counts every one.
const RejectLogInterval = 10 * time.Second

type rejectLog struct {
	mu       sync.Mutex
	last     time.Time
	unlogged int
}

// take reports whether a rejection at now is logged, and how many were not
// since the last line.
func (l *rejectLog) take(now time.Time) (unlogged int, log bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < RejectLogInterval {
		l.unlogged++
		return 0, false
	}
	unlogged, l.unlogged, l.last = l.unlogged, 0, now
	return unlogged, true
}

// NewHandler returns the receive handler.
func NewHandler(opts Options) *Handler {
	h := &Handler{opts: opts, sources: map[string]*Source{}, rejectLogs: map[string]*rejectLog{}, methods: map[string][]string{}, acks: map[string][]byte{}}
	for i := range opts.Sources {
		info, _ := provider.Lookup(opts.Sources[i].Provider)
		h.methods[opts.Sources[i].Name] = info.AllowedMethods()
		if info.Ack != nil {
			h.acks[opts.Sources[i].Name] = info.Ack
		}
		h.sources[opts.Sources[i].Name] = &opts.Sources[i]
		h.rejectLogs[opts.Sources[i].Name] = &rejectLog{}
	}
	if h.opts.Now == nil {
		h.opts.Now = time.Now
	}
	if h.opts.Logger == nil {
		h.opts.Logger = slog.New(slog.DiscardHandler)
	}
	if h.opts.RetryAfter <= 0 {
		h.opts.RetryAfter = 5 * time.Second
	}
	if h.opts.Metrics == nil {
		h.opts.Metrics = NewMetrics(nil)
	}
	return h
}

// answer is the JSON body of every receive response.
type answer struct {
	ID        string `json:"id,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
	Error     string `json:"error,omitempty"`
	Message   string `json:"message,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.opts.Now()
	name := r.PathValue("source")
	src, ok := h.sources[name]
	if !ok {
		h.opts.Metrics.request("", "unknown_source", start)
		writeAnswer(w, server.StatusOf(hookwatch.ENOTFOUND), answer{Error: "unknown_source", Message: "no source named " + strconv.Quote(name) + " is configured"})
		return
	}
	if allowed := h.methods[name]; !slices.Contains(allowed, r.Method) {
		h.opts.Metrics.request(src.Name, "bad_method", start)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeAnswer(w, server.StatusOf(hookwatch.EMETHOD), answer{Error: "method_not_allowed", Message: "source " + strconv.Quote(name) + " receives webhooks with " + strings.Join(allowed, " or ") + ", not " + r.Method})
		return
	}
	if r.ContentLength > src.MaxBody {
		h.tooLarge(w, src, start)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, src.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.tooLarge(w, src, start)
			return
		}
		h.opts.Metrics.request(src.Name, "read_error", start)
		writeAnswer(w, server.StatusOf(hookwatch.EINVALID), answer{Error: "read_error", Message: "could not read the request body"})
		return
	}

	preq := provider.Request{Method: r.Method, URL: requestURL(src, r), Header: r.Header, Body: body, Now: start}
	tr := h.opts.Tracer
	var endSpan func()
	if tr != nil {
		_, endSpan = tr.StartSpan(r.Context(), "verify", src.Provider)
	}
	res, err := src.Scheme.Verify(&preq)
	if endSpan != nil {
		endSpan()
	}
	if errors.Is(err, provider.ErrUnavailable) {
		// A handshake secret could not be read or kept (the store is
		// down): not a rejection, the provider retries.
		h.unavailable(w, r, src, start, "request not verified: answering 503 so the provider retries",
			"the request could not be verified now; retry later", slog.Any("error", err))
		return
	}
	if err != nil {
		h.reject(r.Context(), w, src, err, &preq)
		return
	}
	if res.Handshake != nil {
		h.opts.Metrics.request(src.Name, "handshake", start)
		for k, v := range res.Handshake.Header {
			w.Header()[k] = v
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if res.Handshake.ContentType != "" {
			w.Header().Set("Content-Type", res.Handshake.ContentType)
		}
		w.WriteHeader(res.Handshake.Status)
		w.Write(res.Handshake.Body)
		return
	}

	e := NewEvent(src, res, r.Header, body, start)
	h.Route(e)
	if h.opts.Orderer != nil {
		h.opts.Orderer(e)
	}
	ctx := r.Context()
	if tr != nil {
		ctx, endSpan = tr.StartPublish(ctx, e)
	}
	ir, err := h.opts.Committer.Commit(ctx, e)
	if tr != nil {
		endSpan()
	}
	if err != nil {
		h.unavailable(w, r, src, start, "event not committed: answering 503 so the provider retries",
			"the event could not be stored; retry later", slog.String("provider_event_id", res.EventID), slog.Any("error", err))
		return
	}
	outcome := "accepted"
	switch {
	case ir.Duplicate:
		outcome = "duplicate"
	case res.Malformed:
		outcome = "accepted_malformed"
	}
	h.opts.Metrics.request(src.Name, outcome, start)
	if ack, ok := h.acks[src.Name]; ok {
		writeAck(w, ack)
		return
	}
	writeOK(w, ir.ID, ir.Duplicate)
}

// unavailable answers 503 with Retry-After, so the provider retries a
// request Hookwatch could not verify or store now, and logs why.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, src *Source, start time.Time, logMsg, message string, attrs ...slog.Attr) {
	h.opts.Metrics.request(src.Name, "unavailable", start)
	h.opts.Logger.LogAttrs(r.Context(), slog.LevelError, logMsg, append([]slog.Attr{slog.String("source", src.Name)}, attrs...)...)
	w.Header().Set("Retry-After", strconv.Itoa(int(h.opts.RetryAfter.Round(time.Second)/time.Second)))
	writeAnswer(w, server.StatusOf(hookwatch.EUNAVAILABLE), answer{Error: "unavailable", Message: message})
}

// writeAck writes the 200 answer a provider checks for (provider.Info.Ack)
// in place of the JSON one.
func writeAck(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h["Content-Type"] = textType
	h["Cache-Control"] = noStore
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// NewEvent builds the event of a verified request received at at (its ID
// from at), with its credential headers redacted: the verification is done,
// and nothing after it needs them. The quarantine's release builds its
// events with it too, so a released request becomes the event it would
// have been.
func NewEvent(src *Source, res provider.Result, header http.Header, body []byte, at time.Time) *hookwatch.Event {
	e := &hookwatch.Event{
		ID:              hookwatch.NewID("evt", at),
		Source:          src.Name,
		Provider:        src.Provider,
		ProviderEventID: res.EventID,
		Type:            res.EventType,
		Headers:         hookwatch.SealHeaders(header, nil),
		Body:            body,
		ReceivedAt:      at.UTC(),
		Malformed:       res.Malformed,
		Test:            res.Test || header.Get(TestHeader) != "",
	}
	if src.DedupeHorizon > 0 {
		e.DedupeUntil = at.Add(src.DedupeHorizon)
	}
	if src.DedupeBody {
		e.DedupeKey = BodyDedupeKey(body)
	}
	if len(src.Subject) > 0 {
		e.Subject = src.Subject.Extract(body)
	}
	return e
}

// BodyDedupeKey is the dedupe key of a source with dedupe: body: "sha256:"
// and the hex SHA-256 of the exact bytes received.
func BodyDedupeKey(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Route sets the event's destinations, and the routes whose filters left
// it out, through Options.Router (none without one). A filter that fails
// on the event leaves it out of that route's destinations and is recorded
// with the event: the event is stored all the same.
func (h *Handler) Route(e *hookwatch.Event) {
	if h.opts.Router == nil {
		return
	}
	e.Destinations, e.Filtered = h.opts.Router(e)
	if len(e.Filtered) > 0 {
		h.opts.Metrics.Filtered(e.Source, e.Filtered)
	}
}

// TestHeader marks a request as a test event (set by `hookwatch send`).
const TestHeader = "X-Hookwatch-Test"

func (h *Handler) tooLarge(w http.ResponseWriter, src *Source, start time.Time) {
	h.opts.Metrics.request(src.Name, "too_large", start)
	w.Header().Set("Connection", "close")
	writeAnswer(w, server.StatusOf(hookwatch.ETOOLARGE), answer{Error: "too_large", Message: "body exceeds this source's max_body of " + strconv.FormatInt(src.MaxBody, 10) + " bytes"})
}

func (h *Handler) reject(ctx context.Context, w http.ResponseWriter, src *Source, err error, r *provider.Request) {
	start := r.Now
	reason := provider.ReasonOf(err)
	if reason == "" {
		reason = provider.ReasonBadSignature
	}
	h.opts.Metrics.rejected(src.Name, string(reason), start)
	if unlogged, ok := h.rejectLogs[src.Name].take(start); ok {
		h.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "webhook rejected",
			slog.String("source", src.Name), slog.String("reason", string(reason)), slog.String("detail", err.Error()),
			slog.Int("unlogged_since_last", unlogged))
	}
	if reason == provider.ReasonHandshakeRefused {
		// A handshake that would replace the source's secret (Asana's
		// X-Hook-Secret): refused with 409, and not quarantined, since
		// releasing it could only replace the secret.
		writeAnswer(w, server.StatusOf(hookwatch.ECONFLICT), answer{Error: string(reason), Message: err.Error()})
		return
	}
	if h.opts.Reject != nil {
		h.opts.Reject(ctx, Rejection{Source: src.Name, Provider: src.Provider, Reason: reason, Err: err,
			Method: r.Method, URL: r.URL, Headers: hookwatch.SealHeaders(r.Header, h.opts.Key), Body: r.Body, ReceivedAt: start.UTC(),
			SubjectPath: src.Subject})
	}
	writeAnswer(w, server.StatusOf(hookwatch.EUNAUTHORIZED), answer{Error: string(reason), Message: err.Error()})
}

// requestURL is the URL the provider signed: the public URL when configured
// (a reverse proxy changes what the server sees), plus the raw query.
func requestURL(src *Source, r *http.Request) string {
	base := src.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host + r.URL.Path
	}
	if r.URL.RawQuery != "" {
		if strings.Contains(base, "?") {
			return base + "&" + r.URL.RawQuery
		}
		return base + "?" + r.URL.RawQuery
	}
	return base
}

// The header values of every answer, shared (never modified).
var (
	jsonType = []string{"application/json"}
	textType = []string{"text/plain; charset=utf-8"}
	noStore  = []string{"no-store"}
)

// writeOK writes the 200 answer of a stored (or duplicate) event, the
// same bytes writeAnswer would write, without the JSON encoder: it is the
// answer of nearly every request. id is an event ID (evt_ and a ULID),
// which needs no escaping; anything else goes through writeAnswer.
func writeOK(w http.ResponseWriter, id string, duplicate bool) {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			writeAnswer(w, http.StatusOK, answer{ID: id, Duplicate: duplicate})
			return
		}
	}
	var buf [96]byte
	b := append(buf[:0], `{"id":"`...)
	b = append(b, id...)
	if duplicate {
		b = append(b, `","duplicate":true}`...)
	} else {
		b = append(b, `"}`...)
	}
	b = append(b, '\n')
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Cache-Control"] = noStore
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

func writeAnswer(w http.ResponseWriter, status int, a answer) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(a)
}
