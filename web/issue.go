package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hookwatch/hookwatch"
)

type issueData struct {
	Issue *hookwatch.Issue
	// Failures are the issue's most recent failures, newest first.
	Failures []hookwatch.Failure
	Trend    []int
	// Actions are the status changes offered from the current status.
	Actions    []issueAction
	Priorities []hookwatch.Priority
}

type issueAction struct {
	Status hookwatch.IssueStatus
	Label  string
}

// issueActions are the buttons, by the status they set.
var issueActions = []issueAction{
	{hookwatch.IssueAcknowledged, "Acknowledge"},
	{hookwatch.IssueResolved, "Resolve"},
	{hookwatch.IssueIgnored, "Ignore"},
	{hookwatch.IssueOpen, "Reopen"},
}

// issue shows one issue: its figures, trend, recent failures,
// comment thread and actions.
func (h *Handler) issue(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	is, err := h.issues.GetIssue(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	d := &issueData{Issue: is, Priorities: []hookwatch.Priority{hookwatch.PriorityHigh, hookwatch.PriorityMedium, hookwatch.PriorityLow}}
	for _, a := range issueActions {
		if a.Status != is.Status {
			d.Actions = append(d.Actions, a)
		}
	}
	if d.Failures, err = h.issues.IssueFailures(ctx, is.ID, 20); err != nil {
		h.fail(w, r, p, err)
		return
	}
	rows := []issueRow{{Issue: is}}
	if err := h.trends(r, rows, p.now); err != nil {
		h.fail(w, r, p, err)
		return
	}
	d.Trend = rows[0].Trend
	p.Title, p.Nav, p.Data = "Issue "+is.Class+" · "+is.Source, "issues", d
	h.render(w, r, http.StatusOK, "issue", p)
}

// updateIssue applies a status change, a priority and/or a comment.
func (h *Handler) updateIssue(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("id")
	u := hookwatch.IssueUpdate{
		Status:   hookwatch.IssueStatus(r.PostFormValue("status")),
		Priority: hookwatch.Priority(r.PostFormValue("priority")),
		Comment:  strings.TrimSpace(r.PostFormValue("comment")),
		Actor:    p.User,
		Now:      p.now,
	}
	if _, err := h.issues.UpdateIssue(r.Context(), id, u); err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.opts.Logger.InfoContext(r.Context(), "issue updated from the dashboard", "issue", id, "user", p.User, "status", u.Status, "priority", u.Priority)
	redirect(w, r, "/issues/"+url.PathEscape(id), "updated", -1)
}
