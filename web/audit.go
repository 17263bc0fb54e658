package web

import (
	"net/http"

	"github.com/hookwatch/hookwatch"
)

type auditData struct {
	Replays []*hookwatch.Replay
	Purges  []*hookwatch.Purge
}

// audit shows who replayed, purged or erased what, and when: the replay
// records and the purge and erasure records, newest first. An erasure shows
// the keyed hash of its subject, never the subject.
func (h *Handler) audit(w http.ResponseWriter, r *http.Request, p *page) {
	d := &auditData{}
	var err error
	if d.Replays, err = h.opts.Store.ListReplays(r.Context(), pageSize); err != nil {
		h.fail(w, r, p, err)
		return
	}
	if d.Purges, err = h.opts.Store.ListPurges(r.Context(), pageSize); err != nil {
		h.fail(w, r, p, err)
		return
	}
	p.Title, p.Nav, p.Data = "Audit", "audit", d
	h.render(w, r, http.StatusOK, "audit", p)
}
