package server

import (
	"net/http"

	"github.com/hookwatch/hookwatch"
)

// sentryTest serves POST /api/webhook-sentry-test[?force=true]: sends a
// test event through the monitor and answers its outcome
// (monitor.TestResult); 409 when Sentry is off.
func (s *Server) sentryTest(w http.ResponseWriter, r *http.Request) {
	if s.opts.SentryTest == nil {
		s.error(w, r, hookwatch.Errorf(hookwatch.ECONFLICT, "sentry is not configured: set sentry.dsn in the config or SENTRY_DSN"))
		return
	}
	res, err := s.opts.SentryTest(r.Context(), r.URL.Query().Get("force") == "true")
	if err != nil {
		s.error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, res)
}
