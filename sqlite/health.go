package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// trafficKey identifies a Traffic row.
type trafficKey struct {
	source, destination string
	test                bool
}

// trafficRows collects Traffic rows by (source, destination).
type trafficRows struct {
	m     map[trafficKey]*hookwatch.Traffic
	order []trafficKey
}

func (t *trafficRows) get(source, destination string, test bool) *hookwatch.Traffic {
	k := trafficKey{source, destination, test}
	if r, ok := t.m[k]; ok {
		return r
	}
	if t.m == nil {
		t.m = map[trafficKey]*hookwatch.Traffic{}
	}
	r := &hookwatch.Traffic{Source: source, Destination: destination, Test: test}
	t.m[k] = r
	t.order = append(t.order, k)
	return r
}

func (t *trafficRows) list() []hookwatch.Traffic {
	out := make([]hookwatch.Traffic, 0, len(t.order))
	for _, k := range t.order {
		out = append(out, *t.m[k])
	}
	return out
}

// latencySQL returns the columns that bucket the processing time expression
// lat (microseconds) cumulatively by hookwatch.LatencyBuckets.
func latencySQL(lat string) string {
	var b strings.Builder
	for _, d := range hookwatch.LatencyBuckets {
		fmt.Fprintf(&b, ", sum(CASE WHEN %s <= %d THEN 1 ELSE 0 END)", lat, d.Microseconds())
	}
	return b.String()
}

// Traffic computes the figures of a window; see hookwatch.HealthStore.
func (s *Store) Traffic(ctx context.Context, q hookwatch.TrafficQuery) ([]hookwatch.Traffic, error) {
	since, until := micros(q.Since), micros(q.Until)
	var rows trafficRows
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var src string
		var test bool
		var n int
		if err := scan(&src, &test, &n); err != nil {
			return err
		}
		rows.get(src, "", test).Accepted = n
		return nil
	}, `SELECT source, test, count(*) FROM events WHERE received_at >= ? AND received_at < ? AND (? OR test = 0)
		GROUP BY source, test ORDER BY source, test`,
		since, until, q.Test)
	if err != nil {
		return nil, err
	}
	// Processing time counts from the event's receipt, or from its replay.
	const lat = `(d.completed_at - max(e.received_at, d.queued_at))`
	nb := len(hookwatch.LatencyBuckets)
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		var src, dst string
		var test bool
		var n int
		var sum int64
		cum := make([]int, nb)
		dest := []any{&src, &dst, &test, &n, &sum}
		for i := range cum {
			dest = append(dest, &cum[i])
		}
		if err := scan(dest...); err != nil {
			return err
		}
		r := rows.get(src, dst, test)
		r.Delivered, r.LatencySum = n, time.Duration(sum)*time.Microsecond
		r.Latency = decumulate(cum, n)
		return nil
	}, `SELECT e.source, d.destination, e.test, count(*), coalesce(sum(`+lat+`), 0)`+latencySQL(lat)+`
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.status = 'succeeded' AND d.completed_at >= ? AND d.completed_at < ? AND (? OR e.test = 0)
		GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, since, until, q.Test)
	if err != nil {
		return nil, err
	}
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		var src, dst, class string
		var test bool
		var n int
		if err := scan(&src, &dst, &test, &class, &n); err != nil {
			return err
		}
		r := rows.get(src, dst, test)
		if r.Failed == nil {
			r.Failed = map[hookwatch.ErrorClass]int{}
		}
		r.Failed[hookwatch.ErrorClass(class)] = n
		return nil
	}, `SELECT e.source, d.destination, e.test, a.class, count(*)
		FROM attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN events e ON e.id = d.event_id
		WHERE a.at >= ? AND a.at < ? AND a.class <> '' AND (? OR e.test = 0)
		GROUP BY e.source, d.destination, e.test, a.class ORDER BY e.source, d.destination, e.test, a.class`, since, until, q.Test)
	if err != nil {
		return nil, err
	}
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		var src, dst string
		var test bool
		var n int
		if err := scan(&src, &dst, &test, &n); err != nil {
			return err
		}
		rows.get(src, dst, test).DeadLetters = n
		return nil
	}, `SELECT e.source, d.destination, e.test, count(*) FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.status = 'dead' AND d.completed_at >= ? AND d.completed_at < ? AND (? OR e.test = 0)
		GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, since, until, q.Test)
	if err != nil {
		return nil, err
	}
	if q.Within > 0 {
		w := q.Within.Microseconds()
		err = s.scanRows(ctx, func(scan func(...any) error) error {
			var src, dst string
			var test bool
			var total, good int
			if err := scan(&src, &dst, &test, &total, &good); err != nil {
				return err
			}
			r := rows.get(src, dst, test)
			r.SLOTotal, r.SLOGood = total, good
			return nil
		}, `SELECT e.source, d.destination, e.test, count(*),
			coalesce(sum(CASE WHEN d.status = 'succeeded' AND d.completed_at - e.received_at <= ? THEN 1 ELSE 0 END), 0)
			FROM events e JOIN deliveries d ON d.event_id = e.id
			WHERE e.received_at >= ? AND e.received_at < ? AND (? OR e.test = 0)
			GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, w, since-w, until-w, q.Test)
		if err != nil {
			return nil, err
		}
	}
	return rows.list(), nil
}

// decumulate turns cumulative bucket counts into per-bucket counts, the
// last element counting those over every bound.
func decumulate(cum []int, total int) []int {
	out := make([]int, len(cum)+1)
	prev := 0
	for i, c := range cum {
		out[i] = c - prev
		prev = c
	}
	out[len(cum)] = total - prev
	return out
}

// Backlogs returns pending deliveries by (source, destination).
func (s *Store) Backlogs(ctx context.Context, test bool) ([]hookwatch.Backlog, error) {
	var out []hookwatch.Backlog
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var b hookwatch.Backlog
		var oldest int64
		if err := scan(&b.Source, &b.Destination, &b.Test, &b.Pending, &oldest); err != nil {
			return err
		}
		b.Oldest = fromMicros(oldest)
		out = append(out, b)
		return nil
	}, `SELECT e.source, d.destination, e.test, count(*), min(CASE WHEN d.queued_at > 0 THEN d.queued_at ELSE d.created_at END)
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.status = 'pending' AND (? OR e.test = 0)
		GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, test)
	return out, err
}

// scanRows runs a read query and calls each for every row.
func (s *Store) scanRows(ctx context.Context, each func(scan func(...any) error) error, q string, args ...any) error {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("sqlite: health: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return fmt.Errorf("sqlite: health: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: health: %w", err)
	}
	return nil
}
