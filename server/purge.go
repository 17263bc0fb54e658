package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
)

// ParseBefore reads a purge's cut-off: a date (2026-01-01, midnight UTC),
// an RFC 3339 time, or an age back from now (30d, 12h). name is the flag
// or field named in the error.
func ParseBefore(name, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, hookwatch.Errorf(hookwatch.EINVALID, "%s is required: a date (2026-01-01), an RFC 3339 time or an age (30d, 12h)", name)
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, hookwatch.Errorf(hookwatch.EINVALID, "%s %q: use a date (2026-01-01), an RFC 3339 time or an age (30d, 12h)", name, s)
	}
	return now.Add(-d), nil
}

// decodeBody reads a JSON request body of at most 64 KiB into v, refusing
// unknown fields; an empty body leaves v as it is.
func decodeBody(r *http.Request, what string, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return hookwatch.Errorf(hookwatch.EINVALID, "%s: bad JSON body: %v", what, err)
	}
	return nil
}

// apiActor is who made an admin API call, as recorded: the caller's own
// name if it gave one, and the address it called from.
func apiActor(r *http.Request, given string) string {
	if given != "" {
		return given + " (admin-api " + r.RemoteAddr + ")"
	}
	return "admin-api " + r.RemoteAddr
}

// PurgeAPI returns the admin API routes of purges, erasures and their
// audit trail, and of the replay records; Admin puts them behind the admin
// token. The subject of an erasure comes in the body, never the URL, so
// that no access log holds it, and it is never logged.
func PurgeAPI(store hookwatch.Store) map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"POST /api/events/purge": func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Source string `json:"source"`
				Type   string `json:"type"`
				Before string `json:"before"`
				DryRun bool   `json:"dry_run"`
				Actor  string `json:"actor"`
			}
			if err := decodeBody(r, "purge", &body); err != nil {
				WriteError(w, r, err)
				return
			}
			now := time.Now()
			before, err := ParseBefore("before", body.Before, now)
			if err != nil {
				WriteError(w, r, err)
				return
			}
			p, err := store.PurgeEvents(r.Context(), hookwatch.PurgeRequest{Source: body.Source, Type: body.Type, Before: before,
				Actor: apiActor(r, body.Actor), Now: now, DryRun: body.DryRun})
			if err != nil {
				WriteError(w, r, err)
				return
			}
			WriteJSON(w, http.StatusOK, p)
		},
		"POST /api/erase": func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Subject    string `json:"subject"`
				ProviderID string `json:"provider_id"`
				Source     string `json:"source"`
				DryRun     bool   `json:"dry_run"`
				Actor      string `json:"actor"`
			}
			if err := decodeBody(r, "erase", &body); err != nil {
				WriteError(w, r, err)
				return
			}
			p, err := store.EraseEvents(r.Context(), hookwatch.ErasureRequest{Subject: body.Subject, ProviderEventID: body.ProviderID,
				Source: body.Source, Actor: apiActor(r, body.Actor), Now: time.Now(), DryRun: body.DryRun})
			if err != nil {
				WriteError(w, r, err)
				return
			}
			WriteJSON(w, http.StatusOK, p)
		},
		"GET /api/purges": func(w http.ResponseWriter, r *http.Request) {
			limit, err := QueryLimit(r.URL.Query())
			if err != nil {
				WriteError(w, r, err)
				return
			}
			ps, err := store.ListPurges(r.Context(), limit)
			if err != nil {
				WriteError(w, r, err)
				return
			}
			if ps == nil {
				ps = []*hookwatch.Purge{}
			}
			WriteJSON(w, http.StatusOK, map[string]any{"purges": ps})
		},
		"GET /api/replays": func(w http.ResponseWriter, r *http.Request) {
			limit, err := QueryLimit(r.URL.Query())
			if err != nil {
				WriteError(w, r, err)
				return
			}
			rs, err := store.ListReplays(r.Context(), limit)
			if err != nil {
				WriteError(w, r, err)
				return
			}
			if rs == nil {
				rs = []*hookwatch.Replay{}
			}
			WriteJSON(w, http.StatusOK, map[string]any{"replays": rs})
		},
	}
}
