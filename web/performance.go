package web

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// The performance view: per source and per destination, over a chosen
// range, what came in, what went out, how long it took and where it is
// stuck. Every chart is drawn from one SeriesStore call (a fixed number of
// grouped queries, whatever the number of buckets).

// perfRange is a chosen range of the performance view.
type perfRange struct {
	// Name is the preset ("1h", "24h", "7d") or "custom".
	Name         string
	Since, Until time.Time
	Bucket       time.Duration
	// From and To are the custom range as the form shows it (UTC).
	From, To string
}

// Per says how long a bucket is: "per 2 minutes", "per hour".
func (r perfRange) Per() string { return "per " + shortBucket(r.Bucket) }

// Presets are the ranges offered as links, with their bucket sizes.
var perfPresets = []struct {
	Name         string
	Span, Bucket time.Duration
}{
	{"1h", time.Hour, 2 * time.Minute},
	{"24h", 24 * time.Hour, time.Hour},
	{"7d", 7 * 24 * time.Hour, 6 * time.Hour},
}

// perfBuckets are the bucket sizes a custom range picks from: the smallest
// that draws at most perfMaxBuckets.
var perfBuckets = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

const (
	perfMaxBuckets = 60
	// perfMaxSpan bounds a custom range: 60 daily buckets.
	perfMaxSpan = 60 * 24 * time.Hour
	// formTime is how the custom range's inputs read and write a time
	// (an HTML datetime-local input), in UTC.
	formTime = "2006-01-02T15:04"
)

// bucketFor returns the smallest bucket size that draws span in at most
// perfMaxBuckets buckets.
func bucketFor(span time.Duration) time.Duration {
	for _, b := range perfBuckets {
		if span <= time.Duration(perfMaxBuckets)*b {
			return b
		}
	}
	return perfBuckets[len(perfBuckets)-1]
}

// parsePerfTime reads a range bound: RFC 3339, or the form's
// 2006-01-02T15:04 in UTC.
func parsePerfTime(name, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation(formTime, v, time.UTC); err == nil {
		return t, nil
	}
	return time.Time{}, hookwatch.Errorf(hookwatch.EINVALID, "%s %q is not a time: use 2006-01-02T15:04 (UTC) or RFC 3339", name, v)
}

// parseRange reads the range of a performance page from its query: range
// (1h, 24h, 7d; 24h by default) or from and to.
func parseRange(q url.Values, now time.Time) (perfRange, error) {
	from, to := strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to"))
	if from != "" || to != "" {
		if from == "" {
			return perfRange{}, hookwatch.Errorf(hookwatch.EINVALID, "a custom range needs from as well as to")
		}
		since, err := parsePerfTime("from", from)
		if err != nil {
			return perfRange{}, err
		}
		until := now
		if to != "" {
			if until, err = parsePerfTime("to", to); err != nil {
				return perfRange{}, err
			}
		}
		span := until.Sub(since)
		switch {
		case span <= 0:
			return perfRange{}, hookwatch.Errorf(hookwatch.EINVALID, "the range ends (%s) before it starts (%s)", until.Format(formTime), since.Format(formTime))
		case span > perfMaxSpan:
			return perfRange{}, hookwatch.Errorf(hookwatch.EINVALID, "the range spans %s; at most %d days", span.Round(time.Hour), int(perfMaxSpan/(24*time.Hour)))
		}
		b := bucketFor(span)
		return perfRange{Name: "custom", Since: since.Truncate(time.Minute), Until: until, Bucket: b,
			From: since.Format(formTime), To: until.Format(formTime)}, nil
	}
	name := q.Get("range")
	if name == "" {
		name = "24h"
	}
	for _, p := range perfPresets {
		if p.Name == name {
			// Buckets end on round times: the last one holds now.
			until := now.Truncate(p.Bucket).Add(p.Bucket)
			since := until.Add(-p.Span)
			return perfRange{Name: name, Since: since, Until: until, Bucket: p.Bucket,
				From: since.UTC().Format(formTime), To: now.UTC().Format(formTime)}, nil
		}
	}
	return perfRange{}, hookwatch.Errorf(hookwatch.EINVALID, "range %q is not one of 1h, 24h, 7d: choose one, or from and to", name)
}

// bucketLabel names the bucket starting at t: a clock time for buckets
// under an hour, an hour within a day, a day and hour over several days,
// a date for daily buckets. UTC.
func bucketLabel(t time.Time, bucket, span time.Duration) string {
	t = t.UTC()
	switch {
	case bucket >= 24*time.Hour:
		return t.Format("Jan 2")
	case span > 24*time.Hour:
		return t.Format("Jan 2 15h")
	case bucket >= time.Hour:
		return t.Format("15h")
	}
	return t.Format("15:04")
}

// sourcePerf and destPerf are one row of the performance tables.
type sourcePerf struct {
	Name               string
	Accepted, Rejected int
}

// RejectedRate is the share of requests that failed verification.
func (s sourcePerf) RejectedRate() float64 {
	if s.Accepted+s.Rejected == 0 {
		return math.NaN()
	}
	return float64(s.Rejected) / float64(s.Accepted+s.Rejected)
}

type destPerf struct {
	Name                              string
	Delivered, Attempts, Failed, Dead int
	// P50, P95 and P99 are the processing time (received → delivered);
	// AttemptP95 how long its app took to answer.
	P50, P95, P99, AttemptP95 time.Duration
	// Pending and Oldest are now, not over the range.
	Pending int
	Oldest  time.Time
	hist    []int
	attHist []int
}

// ErrorRate is failed attempts over all attempts.
func (d destPerf) ErrorRate() float64 {
	if d.Attempts == 0 {
		return math.NaN()
	}
	return float64(d.Failed) / float64(d.Attempts)
}

// perfData is what a performance page draws.
type perfData struct {
	Range   perfRange
	Presets []string
	// Source and Destination narrow the figures (the source and
	// destination pages); Base is the page's path for the range links.
	Source, Destination, Base                                 string
	Received, Deliveries, Processing, AttemptLatency, Backlog *Chart
	Sources                                                   []sourcePerf
	Destinations                                              []destPerf
	// Slowest are the destinations by p95 processing time, slowest first;
	// FailingTypes the event types with the most failed attempts.
	Slowest      []destPerf
	FailingTypes []hookwatch.TypeFailures
}

// RangeLink returns the page's URL for a preset range.
func (d *perfData) RangeLink(name string) string {
	return d.Base + "?range=" + url.QueryEscape(name)
}

// lineClasses colour the lines of a chart with one line per destination.
var lineClasses = []string{"c0", "c1", "c2", "c3", "c4", "c5"}

// performanceData builds the figures of q's range: the performance page with
// neither source nor destination, the source and destination pages with
// one.
func (h *Handler) performanceData(ctx context.Context, rng perfRange, source, destination string, seriesOnly bool) (*perfData, error) {
	series, ok := h.opts.Store.(hookwatch.SeriesStore)
	if !ok {
		return nil, hookwatch.Errorf(hookwatch.EUNAVAILABLE, "this store does not compute series")
	}
	q := hookwatch.SeriesQuery{Since: rng.Since, Until: rng.Until, Bucket: rng.Bucket, Source: source, Destination: destination}
	rows, err := series.Series(ctx, q)
	if err != nil {
		return nil, err
	}
	// The overview draws only the series: no backlog or bottlenecks.
	var backlog []hookwatch.BacklogPoint
	var failing []hookwatch.TypeFailures
	if !seriesOnly {
		if backlog, err = series.BacklogSeries(ctx, q); err != nil {
			return nil, err
		}
		if failing, err = series.FailingTypes(ctx, q, 10); err != nil {
			return nil, err
		}
	}
	n := q.Buckets()
	labels := make([]string, n)
	for i := range labels {
		labels[i] = bucketLabel(q.Since.Add(time.Duration(i)*q.Bucket), q.Bucket, q.Until.Sub(q.Since))
	}
	zeros := func() []float64 { return make([]float64, n) }
	accepted, rejected, delivered, failed, dead := zeros(), zeros(), zeros(), zeros(), zeros()
	hists := make([][]int, n)
	sources := map[string]*sourcePerf{}
	dests := map[string]*destPerf{}
	destAttHist := map[string][][]int{}
	dest := func(name string) *destPerf {
		if dests[name] == nil {
			dests[name] = &destPerf{Name: name}
			destAttHist[name] = make([][]int, n)
		}
		return dests[name]
	}
	for _, r := range rows {
		if r.Destination == "" {
			accepted[r.Bucket] += float64(r.Accepted)
			rejected[r.Bucket] += float64(r.Rejected)
			s := sources[r.Source]
			if s == nil {
				s = &sourcePerf{Name: r.Source}
				sources[r.Source] = s
			}
			s.Accepted += r.Accepted
			s.Rejected += r.Rejected
			continue
		}
		delivered[r.Bucket] += float64(r.Delivered)
		failed[r.Bucket] += float64(r.Failed)
		dead[r.Bucket] += float64(r.DeadLetters)
		hists[r.Bucket] = addHist(hists[r.Bucket], r.Latency)
		d := dest(r.Destination)
		d.Delivered += r.Delivered
		d.Attempts += r.Attempts
		d.Failed += r.Failed
		d.Dead += r.DeadLetters
		d.hist = addHist(d.hist, r.Latency)
		d.attHist = addHist(d.attHist, r.AttemptLatency)
		destAttHist[r.Destination][r.Bucket] = addHist(destAttHist[r.Destination][r.Bucket], r.AttemptLatency)
	}
	backlogs := map[string][]float64{}
	for _, p := range backlog {
		dest(p.Destination)
		if backlogs[p.Destination] == nil {
			backlogs[p.Destination] = zeros()
		}
		backlogs[p.Destination][p.Bucket] = float64(p.Pending)
	}
	// Now: what waits, and since when.
	if h.health != nil && !seriesOnly {
		bls, err := h.health.Backlogs(ctx, false)
		if err != nil {
			return nil, err
		}
		for _, b := range bls {
			if (source != "" && b.Source != source) || (destination != "" && b.Destination != destination) {
				continue
			}
			d := dest(b.Destination)
			d.Pending += b.Pending
			if d.Oldest.IsZero() || b.Oldest.Before(d.Oldest) {
				d.Oldest = b.Oldest
			}
		}
	}
	// The configured names are listed even without traffic.
	if destination == "" {
		for _, c := range h.opts.Destinations {
			if source == "" {
				dest(c.Name)
			}
		}
		for _, name := range h.opts.Sources {
			if (source == "" || source == name) && sources[name] == nil {
				sources[name] = &sourcePerf{Name: name}
			}
		}
	} else {
		dest(destination)
	}

	d := &perfData{Range: rng, Source: source, Destination: destination, FailingTypes: failing}
	for _, p := range perfPresets {
		d.Presets = append(d.Presets, p.Name)
	}
	for _, s := range sources {
		d.Sources = append(d.Sources, *s)
	}
	slices.SortFunc(d.Sources, func(a, b sourcePerf) int { return strings.Compare(a.Name, b.Name) })
	for _, dp := range dests {
		dp.P50, dp.P95, dp.P99 = quantile(0.5, dp.hist), quantile(0.95, dp.hist), quantile(0.99, dp.hist)
		dp.AttemptP95 = quantile(0.95, dp.attHist)
		d.Destinations = append(d.Destinations, *dp)
	}
	slices.SortFunc(d.Destinations, func(a, b destPerf) int { return strings.Compare(a.Name, b.Name) })
	for _, dp := range d.Destinations {
		if dp.Delivered > 0 {
			d.Slowest = append(d.Slowest, dp)
		}
	}
	slices.SortStableFunc(d.Slowest, func(a, b destPerf) int { return int(b.P95 - a.P95) })
	if len(d.Slowest) > 5 {
		d.Slowest = d.Slowest[:5]
	}

	if destination == "" {
		d.Received = &Chart{Title: "Requests received per " + shortBucket(rng.Bucket) + " (UTC): accepted and rejected", Labels: labels,
			Series: []Series{{Name: "accepted", Class: "recv", Values: accepted}, {Name: "rejected", Class: "fail", Values: rejected}}}
	}
	d.Deliveries = &Chart{Title: "Deliveries per " + shortBucket(rng.Bucket) + ": delivered, failed attempts, dead letters", Labels: labels, Line: true,
		Series: []Series{{Name: "delivered", Class: "ok", Values: delivered}, {Name: "failed attempts", Class: "fail", Values: failed},
			{Name: "dead letters", Class: "dead", Values: dead}}}
	p50, p95, p99 := zeros(), zeros(), zeros()
	for i, hist := range hists {
		p50[i], p95[i], p99[i] = millisOrGap(quantile(0.5, hist)), millisOrGap(quantile(0.95, hist)), millisOrGap(quantile(0.99, hist))
	}
	d.Processing = &Chart{Title: "Processing time (received to delivered) per " + shortBucket(rng.Bucket), Labels: labels, Axis: AxisMillis, Line: true,
		Series: []Series{{Name: "p50", Class: "ok", Values: p50}, {Name: "p95", Class: "lat", Values: p95}, {Name: "p99", Class: "fail", Values: p99}}}
	// Per destination, the busiest first, one line per colour; the rest
	// are in the tables.
	busiest := slices.Clone(d.Destinations)
	slices.SortStableFunc(busiest, func(a, b destPerf) int { return (b.Attempts + b.Pending) - (a.Attempts + a.Pending) })
	if len(busiest) > len(lineClasses) {
		busiest = busiest[:len(lineClasses)]
	}
	d.AttemptLatency = &Chart{Title: "Attempt latency p95 per destination (how long the app took to answer)", Labels: labels, Axis: AxisMillis, Line: true}
	d.Backlog = &Chart{Title: "Backlog: deliveries pending at the end of each " + shortBucket(rng.Bucket), Labels: labels, Line: true}
	for i, dp := range busiest {
		att := zeros()
		for b, hist := range destAttHist[dp.Name] {
			att[b] = millisOrGap(quantile(0.95, hist))
		}
		d.AttemptLatency.Series = append(d.AttemptLatency.Series, Series{Name: dp.Name, Class: lineClasses[i], Values: att})
		bl := backlogs[dp.Name]
		if bl == nil {
			bl = zeros()
		}
		d.Backlog.Series = append(d.Backlog.Series, Series{Name: dp.Name, Class: lineClasses[i], Values: bl})
	}
	return d, nil
}

// millisOrGap is d in milliseconds for a chart, or a gap when there was
// nothing to measure.
func millisOrGap(d time.Duration) float64 {
	if d <= 0 {
		return math.NaN()
	}
	return float64(d) / float64(time.Millisecond)
}

// shortBucket names a bucket size in a title: "2 minutes", "hour",
// "6 hours", "day".
func shortBucket(b time.Duration) string {
	switch {
	case b == time.Hour:
		return "hour"
	case b == 24*time.Hour:
		return "day"
	case b%time.Hour == 0:
		return fmt.Sprintf("%d hours", b/time.Hour)
	case b == time.Minute:
		return "minute"
	}
	return fmt.Sprintf("%d minutes", b/time.Minute)
}
