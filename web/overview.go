package web

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/readiness"
)

// figures are one row of the overview: a source or a destination.
type figures struct {
	Name string
	// Kind is "source" or "destination".
	Kind string
	// Received = Accepted + Rejected (sources only), the definition
	// `hookwatch health` uses: accepted requests verified and were stored,
	// rejected ones failed verification (kept in quarantine).
	Received1h, Received24h int
	Accepted1h, Accepted24h int
	Rejected1h, Rejected24h int
	// Delivered counts deliveries that succeeded; Failed failed attempts;
	// Dead dead-lettered deliveries.
	Delivered1h, Delivered24h int
	Failed1h, Failed24h       int
	Dead24h                   int
	// latency is the 24-hour processing-time histogram (LatencyBuckets).
	latency []int
	P95     time.Duration
	Backlog int
	Oldest  time.Time
	Issues  int
	// State is a destination's state word (active, paused...).
	State string
	// test counts the last hour's test events (`hookwatch send`, a
	// provider's test mode), left out of every other figure.
	test testFigures
}

// testFigures are a row's test traffic: test events received (sources),
// delivered, failed attempts, and test deliveries waiting now.
type testFigures struct{ received, delivered, failed, pending int }

// Test says the row's test traffic in a few words; "-" when there was none.
func (f *figures) Test() string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(f.test.received, "received")
	add(f.test.delivered, "delivered")
	add(f.test.failed, "failed attempts")
	add(f.test.pending, "pending")
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// ErrorRate1h is failed attempts over all attempts in the last hour; NaN
// when there were none.
func (f *figures) ErrorRate1h() float64 {
	if f.Failed1h+f.Delivered1h == 0 {
		return math.NaN()
	}
	return float64(f.Failed1h) / float64(f.Failed1h+f.Delivered1h)
}

type overviewData struct {
	Sources      []*figures
	Destinations []*figures
	Firing       []hookwatch.AlertState
	// Throughput and Latency cover the last 24 hours by hour.
	Throughput, Latency *Chart
	// NoHealth is set when the store has no health figures: the page shows
	// delivery counts only.
	NoHealth bool
	// Readiness is why the instance is not ready, and the store's free
	// space; nil without a readiness watcher.
	Readiness *readiness.Status
}

// overview shows, per source and destination, the last hour and day.
func (h *Handler) overview(w http.ResponseWriter, r *http.Request, p *page) {
	ctx := r.Context()
	now := p.now
	d := &overviewData{}
	if h.opts.Readiness != nil {
		st := h.opts.Readiness.Status()
		d.Readiness = &st
	}
	rows := map[string]*figures{}
	get := func(kind, name string) *figures {
		f, ok := rows[kind+"/"+name]
		if !ok {
			f = &figures{Kind: kind, Name: name}
			rows[kind+"/"+name] = f
			if kind == "source" {
				d.Sources = append(d.Sources, f)
			} else {
				d.Destinations = append(d.Destinations, f)
			}
		}
		return f
	}
	for _, s := range h.opts.Sources {
		get("source", s)
	}
	for _, dst := range h.opts.Destinations {
		get("destination", dst.Name)
	}

	if h.health != nil {
		for _, win := range []time.Duration{time.Hour, 24 * time.Hour} {
			ts, err := h.health.Traffic(ctx, hookwatch.TrafficQuery{Since: now.Add(-win), Until: now, Test: true})
			if err != nil {
				h.fail(w, r, p, err)
				return
			}
			for _, t := range ts {
				failed := 0
				for _, n := range t.Failed {
					failed += n
				}
				if t.Test {
					// Counted apart, last hour only: alerts and every
					// other figure leave test events out.
					if win == time.Hour && t.Destination == "" {
						get("source", t.Source).test.received += t.Accepted
					} else if win == time.Hour {
						for _, f := range []*figures{get("source", t.Source), get("destination", t.Destination)} {
							f.test.delivered += t.Delivered
							f.test.failed += failed
						}
					}
					continue
				}
				if t.Destination == "" {
					src := get("source", t.Source)
					if win == time.Hour {
						src.Accepted1h += t.Accepted
					} else {
						src.Accepted24h += t.Accepted
					}
					continue
				}
				for _, f := range []*figures{get("source", t.Source), get("destination", t.Destination)} {
					if win == time.Hour {
						f.Delivered1h += t.Delivered
						f.Failed1h += failed
					} else {
						f.Delivered24h += t.Delivered
						f.Failed24h += failed
						f.Dead24h += t.DeadLetters
						f.latency = addHist(f.latency, t.Latency)
					}
				}
			}
		}
		for _, f := range rows {
			f.P95 = quantile(0.95, f.latency)
		}
		bls, err := h.health.Backlogs(ctx, true)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		for _, b := range bls {
			for _, f := range []*figures{get("source", b.Source), get("destination", b.Destination)} {
				if b.Test {
					f.test.pending += b.Pending
					continue
				}
				f.Backlog += b.Pending
				if !b.Oldest.IsZero() && (f.Oldest.IsZero() || b.Oldest.Before(f.Oldest)) {
					f.Oldest = b.Oldest
				}
			}
		}
		var err2 error
		if d.Throughput, d.Latency, err2 = h.hourlyCharts(r, now); err2 != nil {
			h.fail(w, r, p, err2)
			return
		}
	} else {
		// Without health figures: delivery counts by the events' receive
		// time, from the delivery queue.
		d.NoHealth = true
		for _, win := range []time.Duration{time.Hour, 24 * time.Hour} {
			counts, err := h.opts.Store.CountDeliveries(ctx, hookwatch.DeliveryFilter{Since: now.Add(-win)})
			if err != nil {
				h.fail(w, r, p, err)
				return
			}
			for name, c := range counts {
				f := get("destination", name)
				if win == time.Hour {
					f.Delivered1h, f.Failed1h = c[hookwatch.DeliverySucceeded], c[hookwatch.DeliveryDead]
				} else {
					f.Delivered24h, f.Failed24h, f.Dead24h = c[hookwatch.DeliverySucceeded], c[hookwatch.DeliveryDead], c[hookwatch.DeliveryDead]
				}
			}
		}
		counts, err := h.opts.Store.CountDeliveries(ctx, hookwatch.DeliveryFilter{Status: hookwatch.DeliveryPending})
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		for name, c := range counts {
			get("destination", name).Backlog = c[hookwatch.DeliveryPending]
		}
	}

	// Rejected requests, from the recorded signature failures: received is
	// accepted + rejected, as in `hookwatch health`.
	if h.issues != nil {
		for _, win := range []time.Duration{time.Hour, 24 * time.Hour} {
			fcs, err := h.issues.CountFailures(ctx, now.Add(-win), now, false)
			if err != nil {
				h.fail(w, r, p, err)
				return
			}
			for _, c := range fcs {
				if c.Kind != hookwatch.FailureSignature {
					continue
				}
				src := get("source", c.Source)
				if win == time.Hour {
					src.Rejected1h += c.Count
				} else {
					src.Rejected24h += c.Count
				}
			}
		}
	}
	for _, f := range d.Sources {
		f.Received1h, f.Received24h = f.Accepted1h+f.Rejected1h, f.Accepted24h+f.Rejected24h
	}
	if h.issues != nil {
		prod := false
		open, err := h.issues.ListIssues(ctx, hookwatch.IssueFilter{Status: hookwatch.IssueOpen, Test: &prod, Limit: 1000})
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		for _, is := range open {
			get("source", is.Source).Issues++
			if is.Destination != "" {
				get("destination", is.Destination).Issues++
			}
		}
	}
	if h.alerts != nil {
		states, err := h.alerts.AlertStates(ctx)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		for _, s := range states {
			if s.Status == hookwatch.AlertFiring {
				d.Firing = append(d.Firing, s)
			}
		}
	}
	infos, err := h.destinationInfos(r)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	for _, in := range infos {
		get("destination", in.Name).State = in.State
	}
	sort.Slice(d.Sources, func(i, j int) bool { return d.Sources[i].Name < d.Sources[j].Name })
	sort.Slice(d.Destinations, func(i, j int) bool { return d.Destinations[i].Name < d.Destinations[j].Name })
	p.Title, p.Nav, p.Refresh, p.Data = "Overview", "overview", true, d
	h.render(w, r, http.StatusOK, "overview", p)
}

// hourlyCharts draws the last 24 hours, one bucket per hour: throughput
// (accepted, delivered, failed attempts) and p95 processing time, from one
// SeriesStore call. The performance view has other ranges.
func (h *Handler) hourlyCharts(r *http.Request, now time.Time) (*Chart, *Chart, error) {
	rng, err := parseRange(nil, now)
	if err != nil {
		return nil, nil, err
	}
	d, err := h.performanceData(r.Context(), rng, "", "", true)
	if err != nil {
		return nil, nil, err
	}
	// Lines, not stacked bars: accepted and delivered count the same
	// events twice. Accepted, not received: rejected requests never reach
	// a destination.
	accepted, delivered := d.Received.Series[0], d.Deliveries.Series[0]
	failed := d.Deliveries.Series[1]
	through := &Chart{Title: "Throughput per hour (UTC), last 24 hours", Labels: d.Received.Labels, Line: true, Series: []Series{
		{Name: "accepted", Class: "recv", Values: accepted.Values}, {Name: "delivered", Class: "ok", Values: delivered.Values},
		{Name: "failed attempts", Class: "fail", Values: failed.Values},
	}}
	latency := &Chart{Title: "Processing time p95 per hour (received to delivered)", Labels: d.Processing.Labels, Axis: AxisMillis, Line: true,
		Series: []Series{{Name: "p95", Class: "lat", Values: d.Processing.Series[1].Values}}}
	return through, latency, nil
}

// addHist adds histogram b into a.
func addHist(a, b []int) []int {
	if len(a) < len(b) {
		a = append(a, make([]int, len(b)-len(a))...)
	}
	for i, n := range b {
		a[i] += n
	}
	return a
}

// quantile estimates the q-quantile of a LatencyBuckets histogram,
// interpolating linearly within the bucket (as Prometheus'
// histogram_quantile does). Zero when the histogram is empty; the largest
// bound when the quantile falls beyond every bound.
func quantile(q float64, hist []int) time.Duration {
	total := 0
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	seen := 0.0
	bounds := hookwatch.LatencyBuckets
	for i, n := range hist {
		if i >= len(bounds) {
			return bounds[len(bounds)-1]
		}
		if seen+float64(n) >= rank && n > 0 {
			lo := time.Duration(0)
			if i > 0 {
				lo = bounds[i-1]
			}
			frac := (rank - seen) / float64(n)
			return lo + time.Duration(frac*float64(bounds[i]-lo))
		}
		seen += float64(n)
	}
	return bounds[len(bounds)-1]
}
