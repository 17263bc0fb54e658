package web

import (
	"net/http"
	"time"

	"github.com/hookwatch/hookwatch"
)

// issueStatuses are the tabs of the issues list, in workflow order.
var issueStatuses = []hookwatch.IssueStatus{hookwatch.IssueOpen, hookwatch.IssueAcknowledged, hookwatch.IssueResolved, hookwatch.IssueIgnored}

type issueTab struct {
	Status  hookwatch.IssueStatus
	Count   int
	Current bool
}

type issueRow struct {
	*hookwatch.Issue
	// Trend is failures per hour over the last 24 hours.
	Trend []int
}

type issuesData struct {
	Tabs     []issueTab
	Rows     []issueRow
	Priority string
	// Source and Destination narrow the list (links from the overview).
	Source, Destination string
	// Truncated is set when a tab holds more than the page shows.
	Truncated bool
}

// issueListLimit caps a tab; the count above it says "1000+".
const issueListLimit = 1000

// issueList lists issues of one status (a tab per status, with counts),
// optionally of one priority, each with its 24-hour trend.
func (h *Handler) issueList(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	q := r.URL.Query()
	status := hookwatch.IssueStatus(q.Get("status"))
	if status == "" {
		status = hookwatch.IssueOpen
	}
	if !status.Valid() {
		h.fail(w, r, p, hookwatch.Errorf(hookwatch.EINVALID, "status %q: choose open, acknowledged, resolved or ignored", status))
		return
	}
	prio := hookwatch.Priority(q.Get("priority"))
	if prio != "" && !prio.Valid() {
		h.fail(w, r, p, hookwatch.Errorf(hookwatch.EINVALID, "priority %q: choose low, medium or high", prio))
		return
	}
	d := &issuesData{Priority: string(prio), Source: q.Get("source"), Destination: q.Get("destination")}
	for _, st := range issueStatuses {
		list, err := h.issues.ListIssues(ctx, hookwatch.IssueFilter{Status: st, Priority: prio, Source: d.Source, Destination: d.Destination, Limit: issueListLimit})
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		d.Tabs = append(d.Tabs, issueTab{Status: st, Count: len(list), Current: st == status})
		if st == status {
			for _, is := range list {
				d.Rows = append(d.Rows, issueRow{Issue: is})
			}
			d.Truncated = len(list) == issueListLimit
		}
	}
	if err := h.trends(r, d.Rows, p.now); err != nil {
		h.fail(w, r, p, err)
		return
	}
	p.Title, p.Nav, p.Refresh, p.Data = "Issues", "issues", true, d
	h.render(w, r, http.StatusOK, "issues", p)
}

// trends fills each row's failures per hour over the last 24 hours: one or two
// CountFailures per hour, matched to issues by source, destination and class.
func (h *Handler) trends(r *http.Request, rows []issueRow, now time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	const n = 24
	for i := range rows {
		rows[i].Trend = make([]int, n)
	}
	anyTest := false
	for _, row := range rows {
		anyTest = anyTest || row.Test
	}
	// CountFailures counts production failures, or production and test
	// ones together: a test issue's trend is the difference.
	count := func(since time.Time, test bool) (map[string]int, error) {
		cs, err := h.issues.CountFailures(r.Context(), since, since.Add(time.Hour), test)
		if err != nil {
			return nil, err
		}
		m := map[string]int{}
		for _, c := range cs {
			m[hookwatch.Failure{Source: c.Source, Destination: c.Destination, Class: c.Class}.Fingerprint()] += c.Count
		}
		return m, nil
	}
	end := now.Truncate(time.Hour).Add(time.Hour)
	for b := 0; b < n; b++ {
		since := end.Add(time.Duration(b-n) * time.Hour)
		prod, err := count(since, false)
		if err != nil {
			return err
		}
		all := prod
		if anyTest {
			if all, err = count(since, true); err != nil {
				return err
			}
		}
		for i := range rows {
			fp := hookwatch.Failure{Source: rows[i].Source, Destination: rows[i].Destination, Class: rows[i].Class}.Fingerprint()
			if rows[i].Test {
				rows[i].Trend[b] = all[fp] - prod[fp]
			} else {
				rows[i].Trend[b] = prod[fp]
			}
		}
	}
	return nil
}
