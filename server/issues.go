package server

import (
	"net/http"
	"strings"

	"github.com/hookwatch/hookwatch"
)

// Issues are answered as hookwatch.Issue, the shape the CLI's --json
// prints too.

// listIssues serves GET /api/issues: {"issues": [Issue]} (status, source,
// destination, class, priority, limit).
func (s *Server) listIssues(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := hookwatch.IssueFilter{Source: q.Get("source"),
		Destination: q.Get("destination"), Class: q.Get("class"), Priority: hookwatch.Priority(q.Get("priority"))}
	var err error
	if f.Status, err = QueryStatus(q, hookwatch.IssueOpen, hookwatch.IssueAcknowledged, hookwatch.IssueResolved, hookwatch.IssueIgnored); err != nil {
		s.error(w, r, err)
		return
	}
	if f.Limit, err = QueryLimit(q); err != nil {
		s.error(w, r, err)
		return
	}
	is, err := s.opts.Store.ListIssues(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if is == nil {
		is = []*hookwatch.Issue{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"issues": is})
}

// getIssue serves GET /api/issues/{id}: the Issue with its comments.
func (s *Server) getIssue(w http.ResponseWriter, r *http.Request) {
	i, err := s.opts.Store.GetIssue(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, i)
}

// updateIssue applies the update that read builds from the request to
// issue {id}, recorded as by the admin API and the caller's address, and
// answers the updated Issue.
func (s *Server) updateIssue(w http.ResponseWriter, r *http.Request, read func(r *http.Request) (hookwatch.IssueUpdate, error)) {
	upd, err := read(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	upd.Actor, upd.Now = "admin-api "+r.RemoteAddr, s.opts.Now().UTC()
	i, err := s.opts.Store.UpdateIssue(r.Context(), r.PathValue("id"), upd)
	if err != nil {
		s.error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, i)
}

// setIssueStatus serves POST /api/issues/{id}/{resolve,ignore,ack,reopen}
// with an optional {"comment": ...}.
func (s *Server) setIssueStatus(st hookwatch.IssueStatus) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.updateIssue(w, r, func(r *http.Request) (hookwatch.IssueUpdate, error) {
			var body struct {
				Comment string `json:"comment"`
			}
			// The body is optional, and anything but a comment is ignored.
			_ = decodeLoose(r, &body)
			return hookwatch.IssueUpdate{Status: st, Comment: body.Comment}, nil
		})
	}
}

// setIssuePriority serves POST /api/issues/{id}/priority.
func (s *Server) setIssuePriority(w http.ResponseWriter, r *http.Request) {
	s.updateIssue(w, r, func(r *http.Request) (hookwatch.IssueUpdate, error) {
		var body struct {
			Priority hookwatch.Priority `json:"priority"`
		}
		if err := decodeLoose(r, &body); err != nil || body.Priority == "" {
			return hookwatch.IssueUpdate{}, hookwatch.Errorf(hookwatch.EINVALID, `send {"priority": "low|medium|high"}`)
		}
		return hookwatch.IssueUpdate{Priority: body.Priority}, nil
	})
}

// commentIssue serves POST /api/issues/{id}/comments.
func (s *Server) commentIssue(w http.ResponseWriter, r *http.Request) {
	s.updateIssue(w, r, func(r *http.Request) (hookwatch.IssueUpdate, error) {
		var body struct {
			Body string `json:"body"`
		}
		if err := decodeLoose(r, &body); err != nil || strings.TrimSpace(body.Body) == "" {
			return hookwatch.IssueUpdate{}, hookwatch.Errorf(hookwatch.EINVALID, `send {"body": "the comment"}`)
		}
		return hookwatch.IssueUpdate{Comment: body.Body}, nil
	})
}
