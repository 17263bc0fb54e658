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
