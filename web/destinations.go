package web

import (
	"math"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
)

// destInfo is a destination as its page shows it.
type destInfo struct {
	Name       string
	URL        string
	Configured bool
	// State is one word: paused, disabled, circuit-open, circuit-half-open,
	// not-configured or active.
	State  string
	Stored hookwatch.DestinationState
	Counts map[hookwatch.DeliveryStatus]int
	// Waiting says what holds its deliveries back (circuit open until...,
	// paused, rate limited) or that nothing does.
	Waiting deliver.Waiting
	// CanProbe: the dashboard can probe it now (through the engine, when
	// deliveries are pending; not while paused or disabled: Resume).
	CanProbe bool
	// Last hour, from the health figures (zero without them).
	Delivered1h, Failed1h int
	Oldest                time.Time
}

// Pending, Succeeded and Dead count the destination's deliveries.
func (d destInfo) Pending() int   { return d.Counts[hookwatch.DeliveryPending] }
func (d destInfo) Succeeded() int { return d.Counts[hookwatch.DeliverySucceeded] }
func (d destInfo) Dead() int      { return d.Counts[hookwatch.DeliveryDead] }

// ErrorRate1h is failed attempts over all attempts in the last hour.
func (d destInfo) ErrorRate1h() float64 {
	if d.Delivered1h+d.Failed1h == 0 {
		return math.NaN()
	}
	return float64(d.Failed1h) / float64(d.Delivered1h+d.Failed1h)
}

// destinationInfos lists the configured destinations and any other that
// still has deliveries (no longer configured: they wait, never dropped).
func (h *Handler) destinationInfos(r *http.Request) ([]destInfo, error) {
	ctx := r.Context()
	states, err := h.opts.Store.DestinationStates(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := h.opts.Store.CountDeliveries(ctx, hookwatch.DeliveryFilter{})
	if err != nil {
		return nil, err
	}
	var out []destInfo
	seen := map[string]bool{}
	add := func(name, u string, configured bool) {
		st, ok := states[name]
		if !ok {
			st = hookwatch.DestinationState{Name: name, Circuit: hookwatch.CircuitClosed}
		}
		c := counts[name]
		if c == nil {
			c = map[hookwatch.DeliveryStatus]int{}
		}
		in := destInfo{Name: name, URL: u, Configured: configured, Stored: st, Counts: c,
			Waiting:  deliver.DestinationWaiting(st, configured, c[hookwatch.DeliveryPending], h.opts.Now()),
			CanProbe: configured && h.opts.Control != nil && !st.Blocked() && c[hookwatch.DeliveryPending] > 0}
		switch {
		case st.Paused:
			in.State = "paused"
		case !st.DisabledAt.IsZero():
			in.State = "disabled"
		case st.Circuit == hookwatch.CircuitOpen || st.Circuit == hookwatch.CircuitHalfOpen:
			in.State = "circuit-" + string(st.Circuit)
		case !configured:
			in.State = "not-configured"
		default:
			in.State = "active"
		}
		out = append(out, in)
		seen[name] = true
	}
	for _, d := range h.opts.Destinations {
		add(d.Name, d.URL, true)
	}
	var extra []string
	for name := range counts {
		if !seen[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		add(name, "", false)
	}
	return out, nil
}

// destinations shows each destination's state, circuit and figures, with
// pause and resume buttons.
func (h *Handler) destinations(w http.ResponseWriter, r *http.Request, p *page) {
	infos, err := h.destinationInfos(r)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if h.health != nil {
		ts, err := h.health.Traffic(r.Context(), hookwatch.TrafficQuery{Since: p.now.Add(-time.Hour), Until: p.now})
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		bls, err := h.health.Backlogs(r.Context(), true)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		for i := range infos {
			for _, t := range ts {
				if t.Destination == infos[i].Name {
					infos[i].Delivered1h += t.Delivered
					for _, n := range t.Failed {
						infos[i].Failed1h += n
					}
				}
			}
			for _, b := range bls {
				if b.Destination == infos[i].Name && !b.Oldest.IsZero() && (infos[i].Oldest.IsZero() || b.Oldest.Before(infos[i].Oldest)) {
					infos[i].Oldest = b.Oldest
				}
			}
		}
	}
	p.Title, p.Nav, p.Refresh, p.Data = "Destinations", "destinations", true, infos
	h.render(w, r, http.StatusOK, "destinations", p)
}

func (h *Handler) pauseDestination(w http.ResponseWriter, r *http.Request, p *page) {
	h.setPaused(w, r, p, true)
}

// resumeDestination resumes a destination and, through the engine,
// probes it at once: the flash says what the probe did.
func (h *Handler) resumeDestination(w http.ResponseWriter, r *http.Request, p *page) {
	if h.opts.Control == nil {
		h.setPaused(w, r, p, false)
		return
	}
	name := r.PathValue("name")
	res, err := h.opts.Control.Resume(r.Context(), name)
	if res == nil {
		h.fail(w, r, p, err)
		return
	}
	if err != nil {
		// Resumed, and the probe was sent, but recording it failed.
		h.opts.Logger.WarnContext(r.Context(), "probe after resume from the dashboard", "destination", name, "error", err)
	}
	h.opts.Logger.InfoContext(r.Context(), "destination resumed from the dashboard", "destination", name, "user", p.User,
		"probe_status", res.Status, "probe_class", string(res.Class))
	h.probeRedirect(w, r, "resumed", res)
}

// probeDestination sends one due delivery of the destination now; if the
// app answers, its circuit is closed and the backlog flows.
func (h *Handler) probeDestination(w http.ResponseWriter, r *http.Request, p *page) {
	if h.opts.Control == nil {
		h.fail(w, r, p, hookwatch.Errorf(hookwatch.EUNAVAILABLE, "no delivery engine runs here: probe with `hookwatch destinations probe`"))
		return
	}
	name := r.PathValue("name")
	res, err := h.opts.Control.Probe(r.Context(), name)
	if res == nil {
		h.fail(w, r, p, err)
		return
	}
	if err != nil {
		h.opts.Logger.WarnContext(r.Context(), "probe from the dashboard", "destination", name, "error", err)
	}
	h.opts.Logger.InfoContext(r.Context(), "destination probed from the dashboard", "destination", name, "user", p.User,
		"sent", res.Sent, "status", res.Status, "class", string(res.Class))
	h.probeRedirect(w, r, "probe", res)
}

// probeRedirect shows a probe's outcome: on the probed event's page, whose
// timeline has the attempt (status, error, answer), or on the
// destinations page when nothing was sent.
func (h *Handler) probeRedirect(w http.ResponseWriter, r *http.Request, prefix string, res *deliver.ProbeResult) {
	name := res.Destination
	switch {
	case !res.Sent && prefix == "resumed":
		redirect(w, r, "/destinations#"+url.PathEscape(name), "resumed", -1)
	case !res.Sent:
		redirect(w, r, "/destinations#"+url.PathEscape(name), "probe-none", -1)
	case res.AppUp():
		redirect(w, r, "/events/"+url.PathEscape(res.EventID), prefix+"-up", res.Status)
	case res.Status > 0:
		redirect(w, r, "/events/"+url.PathEscape(res.EventID), prefix+"-down", res.Status)
	case prefix == "resumed":
		redirect(w, r, "/events/"+url.PathEscape(res.EventID), "resumed-noanswr", -1)
	default:
		redirect(w, r, "/events/"+url.PathEscape(res.EventID), "probe-noanswer", -1)
	}
}

// setPaused pauses or resumes a destination: through the engine when there
// is one (it wakes at once), else in the store.
func (h *Handler) setPaused(w http.ResponseWriter, r *http.Request, p *page, paused bool) {
	name := r.PathValue("name")
	var err error
	if h.opts.Control != nil {
		err = h.opts.Control.SetPaused(r.Context(), name, paused)
	} else {
		known := false
		infos, ierr := h.destinationInfos(r)
		if ierr != nil {
			h.fail(w, r, p, ierr)
			return
		}
		for _, in := range infos {
			known = known || in.Name == name
		}
		if !known {
			err = hookwatch.Errorf(hookwatch.ENOTFOUND, "no destination named %q", name)
		} else {
			err = h.opts.Store.SetDestinationPaused(r.Context(), name, paused, p.now)
		}
	}
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	verb := "resumed"
	if paused {
		verb = "paused"
	}
	h.opts.Logger.InfoContext(r.Context(), "destination "+verb+" from the dashboard", "destination", name, "user", p.User)
	redirect(w, r, "/destinations#"+url.PathEscape(name), verb, -1)
}
