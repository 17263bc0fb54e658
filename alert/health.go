// Package alert is Hookwatch's own monitoring: it groups failures into
// issues (Recorder), computes health figures from the store (Health),
// evaluates alert rules on a schedule with one evaluator among instances
// (Evaluator), and notifies Slack, email, generic webhooks and PagerDuty.
//
// The store is the source of truth: figures are queries over events,
// deliveries, attempts and recorded failures, so every instance sharing a
// database computes the same figures, and alert state and the notification
// outbox live in the store, so a restart neither forgets nor re-sends.
package alert

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Windows are the sliding windows of the health report.
var Windows = []time.Duration{time.Minute, 5 * time.Minute, time.Hour}

// Figures are the health figures of one subject over one window.
type Figures struct {
	// Received = Accepted + RejectedCount: every request that reached a
	// source, whether it verified (accepted: stored) or not (rejected).
	// Duplicates and oversized requests are in the Prometheus metrics
	// only: nothing of them is stored.
	Received      int            `json:"received"`
	Accepted      int            `json:"accepted"`
	RejectedCount int            `json:"rejected_total"`
	Rejected      map[string]int `json:"rejected,omitempty"` // by reason
	// Delivered counts successful deliveries; Failed, failed attempts by
	// class. ErrorRate is failed / (failed + delivered).
	Delivered   int            `json:"delivered"`
	Failed      map[string]int `json:"failed,omitempty"`
	ErrorRate   float64        `json:"error_rate"`
	DeadLetters int            `json:"dead_letters"`
	// Processing time, received (or replayed) → delivered, in seconds.
	P50 float64 `json:"p50_seconds"`
	P95 float64 `json:"p95_seconds"`
	Avg float64 `json:"avg_seconds"`
	// Backlog is the deliveries waiting now, and the age in seconds of the
	// oldest; they do not depend on the window.
	Backlog       int     `json:"backlog"`
	OldestWaiting float64 `json:"oldest_waiting_seconds"`
	// Test is the same figures for test events (`hookwatch send`, Stripe
	// test mode...), which every other figure, and alerting, leaves out.
	// Nil when there was no test traffic. (Rejected requests are never test
	// events: a request is a test event only once it verified.)
	Test *Figures `json:"test,omitempty"`

	latency    []int
	latencySum time.Duration
	sloTotal   int
	sloGood    int
}

// FailedTotal is the number of failed attempts.
func (f *Figures) FailedTotal() int {
	n := 0
	for _, c := range f.Failed {
		n += c
	}
	return n
}

// RejectedTotal is the number of requests rejected.
func (f *Figures) RejectedTotal() int {
	n := 0
	for _, c := range f.Rejected {
		n += c
	}
	return n
}

func (f *Figures) addTraffic(t hookwatch.Traffic) {
	f.Accepted += t.Accepted
	f.Delivered += t.Delivered
	f.DeadLetters += t.DeadLetters
	for class, n := range t.Failed {
		if f.Failed == nil {
			f.Failed = map[string]int{}
		}
		f.Failed[string(class)] += n
	}
	if len(t.Latency) > 0 {
		if f.latency == nil {
			f.latency = make([]int, len(t.Latency))
		}
		for i, n := range t.Latency {
			f.latency[i] += n
		}
	}
	f.latencySum += t.LatencySum
	f.sloTotal += t.SLOTotal
	f.sloGood += t.SLOGood
}

func (f *Figures) addRejected(reason string, n int) {
	if f.Rejected == nil {
		f.Rejected = map[string]int{}
	}
	f.Rejected[reason] += n
}

func (f *Figures) addBacklog(b hookwatch.Backlog, now time.Time) {
	f.Backlog += b.Pending
	if age := now.Sub(b.Oldest).Seconds(); b.Pending > 0 && age > f.OldestWaiting {
		f.OldestWaiting = age
	}
}

// finish computes the derived figures.
func (f *Figures) finish() {
	f.RejectedCount = f.RejectedTotal()
	f.Received = f.Accepted + f.RejectedCount
	if n := f.FailedTotal() + f.Delivered; n > 0 {
		f.ErrorRate = float64(f.FailedTotal()) / float64(n)
	}
	f.P50, f.P95 = f.Quantile(0.5).Seconds(), f.Quantile(0.95).Seconds()
	if f.Delivered > 0 {
		f.Avg = (f.latencySum / time.Duration(f.Delivered)).Seconds()
	}
}

// Quantile estimates the q-quantile of processing time from the buckets,
// interpolating linearly within the bucket (as Prometheus'
// histogram_quantile does). Zero when nothing was delivered.
func (f *Figures) Quantile(q float64) time.Duration {
	total := 0
	for _, n := range f.latency {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	cum := 0.0
	for i, n := range f.latency {
		if n == 0 {
			continue
		}
		if cum+float64(n) >= rank {
			if i >= len(hookwatch.LatencyBuckets) {
				return hookwatch.LatencyBuckets[len(hookwatch.LatencyBuckets)-1] // over every bound
			}
			lo := time.Duration(0)
			if i > 0 {
				lo = hookwatch.LatencyBuckets[i-1]
			}
			hi := hookwatch.LatencyBuckets[i]
			frac := (rank - cum) / float64(n)
			return lo + time.Duration(frac*float64(hi-lo))
		}
		cum += float64(n)
	}
	return hookwatch.LatencyBuckets[len(hookwatch.LatencyBuckets)-1]
}

// SLO returns the number of deliveries judged and of those delivered within
// the objective.
func (f *Figures) SLO() (total, good int) { return f.sloTotal, f.sloGood }

// data is what one window's figures are computed from.
type data struct {
	traffic  []hookwatch.Traffic
	failures []hookwatch.FailureCount
	backlogs []hookwatch.Backlog
	now      time.Time
}

// load queries the store for the window [now-window, now).
func load(ctx context.Context, s hookwatch.Store, now time.Time, window, within time.Duration, backlogs []hookwatch.Backlog) (*data, error) {
	tr, err := s.Traffic(ctx, hookwatch.TrafficQuery{Since: now.Add(-window), Until: now, Within: within})
	if err != nil {
		return nil, err
	}
	fc, err := s.CountFailures(ctx, now.Add(-window), now, false)
	if err != nil {
		return nil, err
	}
	return &data{traffic: tr, failures: fc, backlogs: backlogs, now: now}, nil
}

// group computes Figures by the key each (source, destination) pair maps
// to; pairs mapped to "" are left out. Source rows (destination "") carry
// accepted and rejected counts: key is called with an empty destination.
func (d *data) group(key func(source, destination string) string) map[string]*Figures {
	out := map[string]*Figures{}
	get := func(k string) *Figures {
		f := out[k]
		if f == nil {
			f = &Figures{}
			out[k] = f
		}
		return f
	}
	for _, t := range d.traffic {
		if k := key(t.Source, t.Destination); k != "" {
			get(k).addTraffic(t)
		}
	}
	for _, c := range d.failures {
		if c.Kind == hookwatch.FailureSignature {
			if k := key(c.Source, ""); k != "" {
				get(k).addRejected(c.Class, c.Count)
			}
		}
	}
	for _, b := range d.backlogs {
		if k := key(b.Source, b.Destination); k != "" {
			get(k).addBacklog(b, d.now)
		}
	}
	for _, f := range out {
		f.finish()
	}
	return out
}

// WindowHealth is the figures of one window: in total, by source and by
// destination. By source counts what was received on a source and what
// its events did downstream; by destination, what was sent there.
type WindowHealth struct {
	Window       string              `json:"window"`
	Total        *Figures            `json:"total"`
	Sources      map[string]*Figures `json:"sources"`
	Destinations map[string]*Figures `json:"destinations"`
}

// Report is the health of every window.
type Report struct {
	At      time.Time      `json:"at"`
	Windows []WindowHealth `json:"windows"`
}

// Health computes the health report at now from the store. Test events are
// counted apart, in each subject's Test figures.
func Health(ctx context.Context, s hookwatch.Store, now time.Time) (*Report, error) {
	bl, err := s.Backlogs(ctx, true)
	if err != nil {
		return nil, err
	}
	var prodBL, testBL []hookwatch.Backlog
	for _, b := range bl {
		if b.Test {
			testBL = append(testBL, b)
		} else {
			prodBL = append(prodBL, b)
		}
	}
	r := &Report{At: now}
	for _, w := range Windows {
		d, test, err := loadWithTest(ctx, s, now, w, prodBL, testBL)
		if err != nil {
			return nil, err
		}
		wh := WindowHealth{Window: formatWindow(w)}
		all := func(string, string) string { return "all" }
		wh.Total = withTest(d.group(all), test.group(all))["all"]
		if wh.Total == nil {
			wh.Total = &Figures{}
		}
		bySource := func(src, _ string) string { return src }
		wh.Sources = withTest(d.group(bySource), test.group(bySource))
		byDest := func(_, dst string) string { return dst }
		wh.Destinations = withTest(d.group(byDest), test.group(byDest))
		r.Windows = append(r.Windows, wh)
	}
	return r, nil
}

// loadWithTest queries the store for the window [now-window, now) once, and
// splits what it read into production and test data.
func loadWithTest(ctx context.Context, s hookwatch.Store, now time.Time, window time.Duration, prodBL, testBL []hookwatch.Backlog) (prod, test *data, err error) {
	tr, err := s.Traffic(ctx, hookwatch.TrafficQuery{Since: now.Add(-window), Until: now, Test: true})
	if err != nil {
		return nil, nil, err
	}
	fc, err := s.CountFailures(ctx, now.Add(-window), now, false)
	if err != nil {
		return nil, nil, err
	}
	prod = &data{failures: fc, backlogs: prodBL, now: now}
	test = &data{backlogs: testBL, now: now}
	for _, t := range tr {
		if t.Test {
			test.traffic = append(test.traffic, t)
		} else {
			prod.traffic = append(prod.traffic, t)
		}
	}
	return prod, test, nil
}

// withTest attaches test figures to the production figures of the same
// key; a key with test traffic only gets empty production figures.
func withTest(prod, test map[string]*Figures) map[string]*Figures {
	for k, t := range test {
		f := prod[k]
		if f == nil {
			f = &Figures{}
			prod[k] = f
		}
		f.Test = t
	}
	return prod
}

// formatWindow prints 1m, 5m, 1h.
func formatWindow(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// round keeps figures readable in JSON and messages.
func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
