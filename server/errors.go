package server

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/hookwatch/hookwatch"
)

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

// Errors answers errors for a tree of handlers: the server's (with its
// logger and error reporter) and the dashboard's (with its error page too).
// The zero Errors logs to slog.Default, reports nothing and writes a plain
// HTML page for browsers.
type Errors struct {
	// Logger logs internal errors; slog.Default if nil.
	Logger *slog.Logger
	// Report receives internal errors (the error tracker); nil: none.
	Report hookwatch.ErrorReporter
	// Page writes an HTML error page with status and the caller-safe
	// message (the dashboard's, in its layout). Nil: a plain page. Setting
	// it makes HTML the answer for clients that do not ask for JSON.
	Page func(w http.ResponseWriter, r *http.Request, status int, message string)
}

// Error answers err with its status (StatusOf) and its caller-safe
// message, as JSON {"error": code, "message": ...} or as an HTML page:
// JSON under /api/ and for a client whose Accept names application/json;
// HTML for one whose Accept names text/html, and by default when there is a
// Page (the dashboard); JSON otherwise (curl, scripts). Internal errors are
// logged and reported, their details never shown; a 503 carries
// Retry-After.
func (e Errors) Error(w http.ResponseWriter, r *http.Request, err error) {
	code := hookwatch.ErrorCode(err)
	status := StatusOf(code)
	if code == hookwatch.EINTERNAL {
		logger := e.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		e.Report.Report(r.Context(), err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	msg := hookwatch.ErrorMessage(err)
	if !e.wantsHTML(r) {
		WriteJSON(w, status, map[string]string{"error": code, "message": msg})
		return
	}
	if e.Page != nil {
		e.Page(w, r, status, msg)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	title := html.EscapeString(http.StatusText(status))
	fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s · Hookwatch</title></head>\n<body><h1>%s</h1>\n<p>%s</p></body></html>\n",
		title, title, html.EscapeString(msg))
}

// wantsHTML reports whether r is answered with a page rather than JSON.
func (e Errors) wantsHTML(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	accept := r.Header.Get("Accept")
	switch {
	case strings.Contains(accept, "application/json"):
		return false
	case strings.Contains(accept, "text/html"):
		return true
	}
	return e.Page != nil
}

// Error answers err as Errors{}.Error does: for handlers with no error
// reporter nor page of their own.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	Errors{}.Error(w, r, err)
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

// maxBody is the most an admin API request body may hold.
const maxBody = 1 << 20

// decodeJSON reads r's JSON body (at most maxBody bytes) into v, refusing
// unknown fields; an empty body is io.EOF.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// decodeLoose reads r's JSON body (at most 64 KiB) into v, ignoring
// unknown fields: the issue actions' bodies, which predate the strict rule.
func decodeLoose(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(v)
}
