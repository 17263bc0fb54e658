package hookwatch

import (
	"context"
	"time"
)

// LatencyBuckets are the upper bounds of the processing-time histogram the
// stores compute (received → delivered). Percentiles are interpolated
// within a bucket, the way Prometheus' histogram_quantile does, so figures
// are the same whichever store computes them and however many events there
// are.
var LatencyBuckets = []time.Duration{
	50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour,
}

// TrafficQuery asks for the traffic figures of a window [Since, Until).
type TrafficQuery struct {
	Since, Until time.Time
	// Within is the delivery objective of an SLO: deliveries received in
	// [Since-Within, Until-Within) are counted in SLOTotal, and in SLOGood
	// when they succeeded within Within of being received. Zero: not counted.
	Within time.Duration
	// Test includes test events, in rows of their own (Traffic.Test set);
	// by default they are left out.
	Test bool
}

// Traffic is the figures of one (source, destination) pair over a window.
// Destination is empty on the row that carries a source's receive figures
// (Accepted); Source is the event's source on delivery rows.
type Traffic struct {
	Source      string
	Destination string
	// Test is set on the rows that count test events (only when the query
	// asked for them): test traffic is never mixed into the other rows.
	Test bool
	// Accepted counts events stored (received at in the window).
	Accepted int
	// Delivered counts deliveries that succeeded (completed in the window).
	Delivered int
	// Failed counts failed attempts made in the window, by class.
	Failed map[ErrorClass]int
	// DeadLetters counts deliveries dead-lettered in the window.
	DeadLetters int
	// Latency counts delivered ones by processing time: Latency[i] is the
	// number at or under LatencyBuckets[i] and over the bound before it;
	// the last element counts those over every bound. LatencySum is their
	// total processing time.
	Latency    []int
	LatencySum time.Duration
	// SLOTotal and SLOGood: see TrafficQuery.Within.
	SLOTotal, SLOGood int
}

// Backlog is the pending deliveries of one (source, destination) pair.
type Backlog struct {
	Source      string
	Destination string
	// Test is set on the rows of test events (only when they were asked
	// for): they are never mixed into the other rows.
	Test bool
	// Pending counts deliveries not yet succeeded or dead.
	Pending int
	// Oldest is when the oldest of them was queued (created or replayed).
	Oldest time.Time
}

// HealthStore computes health figures from what the store holds, so that
// every instance sharing a database sees the same figures.
type HealthStore interface {
	// Traffic returns the figures of q's window, one row per (source,
	// destination) pair with any activity, plus one row per source with
	// Destination empty for Accepted; with q.Test, test events are counted
	// in rows of their own (Traffic.Test). Errors are EINTERNAL.
	Traffic(ctx context.Context, q TrafficQuery) ([]Traffic, error)

	// Backlogs returns the pending deliveries by (source, destination);
	// test events are left out unless test is set, and then counted in
	// rows of their own (Backlog.Test). Errors are EINTERNAL.
	Backlogs(ctx context.Context, test bool) ([]Backlog, error)
}

// TrafficRows collects the Traffic rows of one window as a store reads its
// grouped counts, one row per (source, destination, test) in the order
// first asked for, so that both stores assemble the same rows. The zero
// value is empty and ready.
type TrafficRows struct {
	rows rowSet[trafficKey, Traffic]
}

type trafficKey struct {
	source, destination string
	test                bool
}

// Row returns the row of (source, destination, test), adding it when it is
// not there yet.
func (t *TrafficRows) Row(source, destination string, test bool) *Traffic {
	return t.rows.row(trafficKey{source, destination, test}, func() Traffic {
		return Traffic{Source: source, Destination: destination, Test: test}
	})
}

// List returns the rows in the order they were added.
func (t *TrafficRows) List() []Traffic { return t.rows.list() }

// rowSet collects rows by key in the order they were first asked for: the
// shape of every grouped figure a store assembles (TrafficRows,
// SeriesRows).
type rowSet[K comparable, R any] struct {
	m     map[K]*R
	order []K
}

// row returns the row of k, made by add when it is not there yet.
func (s *rowSet[K, R]) row(k K, add func() R) *R {
	if r, ok := s.m[k]; ok {
		return r
	}
	if s.m == nil {
		s.m = map[K]*R{}
	}
	r := add()
	s.m[k] = &r
	s.order = append(s.order, k)
	return &r
}

// list returns the rows in the order they were added.
func (s *rowSet[K, R]) list() []R {
	out := make([]R, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, *s.m[k])
	}
	return out
}

// The Scan methods read one row of a store's grouped query into the row
// it counts for; scan is the driver's Rows.Scan, and the query returns the
// columns named, in that order. Counts scan into int, booleans into bool.

// ScanAccepted reads (source, test, events received).
func (t *TrafficRows) ScanAccepted(scan func(dest ...any) error) error {
	var src string
	var test bool
	var n int
	if err := scan(&src, &test, &n); err != nil {
		return err
	}
	t.Row(src, "", test).Accepted = n
	return nil
}

// ScanDelivered reads (source, destination, test, deliveries succeeded,
// their total processing time in microseconds), then one column per
// LatencyBuckets bound: how many took at most that long.
func (t *TrafficRows) ScanDelivered(scan func(dest ...any) error) error {
	var src, dst string
	var test bool
	var n int
	var sum int64
	cum := make([]int, len(LatencyBuckets))
	dest := []any{&src, &dst, &test, &n, &sum}
	for i := range cum {
		dest = append(dest, &cum[i])
	}
	if err := scan(dest...); err != nil {
		return err
	}
	r := t.Row(src, dst, test)
	r.Delivered, r.LatencySum = n, time.Duration(sum)*time.Microsecond
	r.Latency = LatencyHistogram(cum, n)
	return nil
}

// ScanFailed reads (source, destination, test, error class, failed
// attempts).
func (t *TrafficRows) ScanFailed(scan func(dest ...any) error) error {
	var src, dst, class string
	var test bool
	var n int
	if err := scan(&src, &dst, &test, &class, &n); err != nil {
		return err
	}
	r := t.Row(src, dst, test)
	if r.Failed == nil {
		r.Failed = map[ErrorClass]int{}
	}
	r.Failed[ErrorClass(class)] = n
	return nil
}

// ScanDeadLetters reads (source, destination, test, deliveries
// dead-lettered).
func (t *TrafficRows) ScanDeadLetters(scan func(dest ...any) error) error {
	var src, dst string
	var test bool
	var n int
	if err := scan(&src, &dst, &test, &n); err != nil {
		return err
	}
	t.Row(src, dst, test).DeadLetters = n
	return nil
}

// ScanSLO reads (source, destination, test, deliveries counted by the
// objective, those delivered within it); see TrafficQuery.Within.
func (t *TrafficRows) ScanSLO(scan func(dest ...any) error) error {
	var src, dst string
	var test bool
	var total, good int
	if err := scan(&src, &dst, &test, &total, &good); err != nil {
		return err
	}
	r := t.Row(src, dst, test)
	r.SLOTotal, r.SLOGood = total, good
	return nil
}

// LatencyHistogram turns cumulative counts by LatencyBuckets (cum[i]: how
// many of total took at most LatencyBuckets[i], which is what a store's
// SQL counts) into Traffic.Latency: per-bucket counts, the last element
// counting those over every bound.
func LatencyHistogram(cum []int, total int) []int {
	out := make([]int, len(cum)+1)
	prev := 0
	for i, c := range cum {
		out[i] = c - prev
		prev = c
	}
	out[len(cum)] = total - prev
	return out
}
