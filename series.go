package hookwatch

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"
)

// MaxSeriesBuckets bounds the buckets of one SeriesQuery, so that a chart's
// query costs the same however the range is chosen.
const MaxSeriesBuckets = 500

// SeriesQuery asks for figures per time bucket over [Since, Until): bucket
// i is [Since + i×Bucket, Since + (i+1)×Bucket). It is what the dashboard's
// performance charts draw; test events are left out.
type SeriesQuery struct {
	Since, Until time.Time
	Bucket       time.Duration
	// Source and Destination, if set, keep only the rows of that source
	// or destination.
	Source, Destination string
}

// Buckets returns how many buckets the query has (the last may be cut
// short by Until).
func (q SeriesQuery) Buckets() int {
	if q.Bucket <= 0 || !q.Until.After(q.Since) {
		return 0
	}
	span := q.Until.Sub(q.Since)
	return int((span + q.Bucket - 1) / q.Bucket)
}

// Check says what is wrong with the query, if anything (EINVALID).
func (q SeriesQuery) Check() error {
	switch {
	case q.Bucket <= 0:
		return Errorf(EINVALID, "series: bucket must be positive, not %s", q.Bucket)
	case !q.Until.After(q.Since):
		return Errorf(EINVALID, "series: the range ends (%s) before it starts (%s)", q.Until.Format(time.RFC3339), q.Since.Format(time.RFC3339))
	case q.Buckets() > MaxSeriesBuckets:
		return Errorf(EINVALID, "series: %d buckets of %s over %s; at most %d: choose a larger bucket", q.Buckets(), q.Bucket, q.Until.Sub(q.Since), MaxSeriesBuckets)
	}
	return nil
}

// BucketOf returns the bucket index of t, or -1 when t is outside the
// range.
func (q SeriesQuery) BucketOf(t time.Time) int {
	if t.Before(q.Since) || !t.Before(q.Until) || q.Bucket <= 0 {
		return -1
	}
	return int(t.Sub(q.Since) / q.Bucket)
}

// SeriesRow is one bucket's figures of one (source, destination) pair. The
// row with Destination empty carries the source's receive figures
// (Accepted, Rejected); the other rows carry a destination's delivery
// figures for the source's events.
type SeriesRow struct {
	Source      string
	Destination string
	Bucket      int
	// Accepted counts events stored (received in the bucket); Rejected,
	// requests that failed verification.
	Accepted, Rejected int
	// Delivered counts deliveries that succeeded in the bucket, Latency
	// their processing time (received or replayed → delivered) as a
	// LatencyBuckets histogram (see Traffic.Latency).
	Delivered int
	Latency   []int
	// Attempts counts attempts made in the bucket, Failed the failed ones,
	// AttemptLatency their duration as a LatencyBuckets histogram.
	Attempts, Failed int
	AttemptLatency   []int
	// DeadLetters counts deliveries dead-lettered in the bucket.
	DeadLetters int
}

// BacklogPoint is how many deliveries of a destination were pending at the
// end of a bucket. It is computed from when deliveries were created and
// completed, so a delivery replayed later counts as it was first done.
type BacklogPoint struct {
	Destination string
	Bucket      int
	Pending     int
}

// TypeFailures counts the failed attempts of one event type at one
// destination over a range: the performance view's most failing types.
type TypeFailures struct {
	Source, Type, Destination string
	Failed, Attempts          int
}

// SeriesStore computes the performance view's figures with a fixed number
// of grouped queries whatever the number of buckets.
type SeriesStore interface {
	// Series returns the non-empty rows of q, ordered by source,
	// destination, bucket. Errors are EINVALID (see SeriesQuery.Check) or
	// EINTERNAL.
	Series(ctx context.Context, q SeriesQuery) ([]SeriesRow, error)
	// BacklogSeries returns, per destination with any pending delivery in
	// the range, the pending count at the end of every bucket (all
	// q.Buckets() of them, zeros included).
	BacklogSeries(ctx context.Context, q SeriesQuery) ([]BacklogPoint, error)
	// FailingTypes returns the (source, type, destination) triples with
	// the most failed attempts in [q.Since, q.Until), at most limit, most
	// failed first.
	FailingTypes(ctx context.Context, q SeriesQuery, limit int) ([]TypeFailures, error)
}

// SeriesRows collects the rows of a series query as a store reads its
// grouped counts, so that both stores assemble the same rows. The zero
// value is ready.
type SeriesRows struct {
	rows rowSet[seriesKey, SeriesRow]
}

type seriesKey struct {
	source, destination string
	bucket              int
}

// Row returns the row of (source, destination, bucket), adding it when it
// is not there yet.
func (s *SeriesRows) Row(source, destination string, bucket int) *SeriesRow {
	return s.rows.row(seriesKey{source, destination, bucket}, func() SeriesRow {
		return SeriesRow{Source: source, Destination: destination, Bucket: bucket}
	})
}

// List returns the rows ordered by source, destination and bucket.
func (s *SeriesRows) List() []SeriesRow {
	out := s.rows.list()
	sortSeries(out)
	return out
}

func sortSeries(rows []SeriesRow) {
	slices.SortFunc(rows, func(a, b SeriesRow) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Destination, b.Destination), cmp.Compare(a.Bucket, b.Bucket))
	})
}

// The Scan methods read one row of a store's grouped query; the query
// returns the columns named, in that order, and bucket is an integer
// (-1 or past the end are dropped: rounding at the range's edges).

func (s *SeriesRows) valid(q SeriesQuery, bucket int) bool {
	return bucket >= 0 && bucket < q.Buckets()
}

// ScanAccepted reads (source, bucket, events received).
func (s *SeriesRows) ScanAccepted(q SeriesQuery) func(scan func(dest ...any) error) error {
	return s.scanSource(q, func(r *SeriesRow, n int) { r.Accepted += n })
}

// ScanRejected reads (source, bucket, requests rejected).
func (s *SeriesRows) ScanRejected(q SeriesQuery) func(scan func(dest ...any) error) error {
	return s.scanSource(q, func(r *SeriesRow, n int) { r.Rejected += n })
}

// scanSource reads (source, bucket, count) into a source's receive row.
func (s *SeriesRows) scanSource(q SeriesQuery, add func(r *SeriesRow, n int)) func(scan func(dest ...any) error) error {
	return func(scan func(dest ...any) error) error {
		var src string
		var b, n int
		if err := scan(&src, &b, &n); err != nil {
			return err
		}
		if s.valid(q, b) {
			add(s.Row(src, "", b), n)
		}
		return nil
	}
}

// ScanDelivered reads (source, destination, bucket, delivered), then one
// column per LatencyBuckets bound: how many took at most that long.
func (s *SeriesRows) ScanDelivered(q SeriesQuery) func(scan func(dest ...any) error) error {
	return func(scan func(dest ...any) error) error {
		var src, dst string
		var b, n int
		cum := make([]int, len(LatencyBuckets))
		dest := []any{&src, &dst, &b, &n}
		for i := range cum {
			dest = append(dest, &cum[i])
		}
		if err := scan(dest...); err != nil {
			return err
		}
		if s.valid(q, b) {
			r := s.Row(src, dst, b)
			r.Delivered = n
			r.Latency = LatencyHistogram(cum, n)
		}
		return nil
	}
}

// ScanAttempts reads (source, destination, bucket, attempts, failed
// attempts), then one column per LatencyBuckets bound.
func (s *SeriesRows) ScanAttempts(q SeriesQuery) func(scan func(dest ...any) error) error {
	return func(scan func(dest ...any) error) error {
		var src, dst string
		var b, n, failed int
		cum := make([]int, len(LatencyBuckets))
		dest := []any{&src, &dst, &b, &n, &failed}
		for i := range cum {
			dest = append(dest, &cum[i])
		}
		if err := scan(dest...); err != nil {
			return err
		}
		if s.valid(q, b) {
			r := s.Row(src, dst, b)
			r.Attempts, r.Failed = n, failed
			r.AttemptLatency = LatencyHistogram(cum, n)
		}
		return nil
	}
}

// ScanDeadLetters reads (source, destination, bucket, dead-lettered).
func (s *SeriesRows) ScanDeadLetters(q SeriesQuery) func(scan func(dest ...any) error) error {
	return func(scan func(dest ...any) error) error {
		var src, dst string
		var b, n int
		if err := scan(&src, &dst, &b, &n); err != nil {
			return err
		}
		if s.valid(q, b) {
			s.Row(src, dst, b).DeadLetters = n
		}
		return nil
	}
}

// BacklogCounts assembles BacklogSeries from three grouped counts a store
// reads: the deliveries pending at q.Since (AddStart), and those created
// and completed per bucket (AddCreated, AddCompleted). The pending count at
// the end of bucket i is the start count plus those created minus those
// completed in buckets 0..i.
type BacklogCounts struct {
	q                  SeriesQuery
	start              map[string]int
	created, completed map[string][]int
}

// NewBacklogCounts returns an empty BacklogCounts for q.
func NewBacklogCounts(q SeriesQuery) *BacklogCounts {
	return &BacklogCounts{q: q, start: map[string]int{}, created: map[string][]int{}, completed: map[string][]int{}}
}

func (c *BacklogCounts) add(m map[string][]int, dst string, b, n int) {
	if b < 0 || b >= c.q.Buckets() {
		return
	}
	if m[dst] == nil {
		m[dst] = make([]int, c.q.Buckets())
	}
	m[dst][b] += n
}

// ScanStart reads (destination, deliveries pending at q.Since).
func (c *BacklogCounts) ScanStart(scan func(dest ...any) error) error {
	var dst string
	var n int
	if err := scan(&dst, &n); err != nil {
		return err
	}
	c.start[dst] += n
	return nil
}

// ScanCreated reads (destination, bucket, deliveries that entered the
// backlog).
func (c *BacklogCounts) ScanCreated(scan func(dest ...any) error) error {
	return c.scanBucket(c.created, scan)
}

// ScanCompleted reads (destination, bucket, deliveries completed:
// succeeded or dead-lettered).
func (c *BacklogCounts) ScanCompleted(scan func(dest ...any) error) error {
	return c.scanBucket(c.completed, scan)
}

func (c *BacklogCounts) scanBucket(m map[string][]int, scan func(dest ...any) error) error {
	var dst string
	var b, n int
	if err := scan(&dst, &b, &n); err != nil {
		return err
	}
	c.add(m, dst, b, n)
	return nil
}

// Points returns the pending count at the end of every bucket, for every
// destination with any pending delivery in the range, by destination.
func (c *BacklogCounts) Points() []BacklogPoint {
	names := map[string]bool{}
	for _, m := range []map[string][]int{c.created, c.completed} {
		for d := range m {
			names[d] = true
		}
	}
	for d := range c.start {
		names[d] = true
	}
	sorted := slices.Sorted(maps.Keys(names))
	var out []BacklogPoint
	for _, d := range sorted {
		pending, any := c.start[d], c.start[d] > 0
		points := make([]BacklogPoint, c.q.Buckets())
		for i := range points {
			if c.created[d] != nil {
				pending += c.created[d][i]
			}
			if c.completed[d] != nil {
				pending -= c.completed[d][i]
			}
			pending = max(pending, 0)
			any = any || pending > 0
			points[i] = BacklogPoint{Destination: d, Bucket: i, Pending: pending}
		}
		if any {
			out = append(out, points...)
		}
	}
	return out
}
