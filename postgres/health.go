package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/hookwatch/hookwatch"
)

// latencySQL returns the columns that bucket the processing time
// expression lat (an interval) cumulatively by hookwatch.LatencyBuckets.
func latencySQL(lat string) string {
	var b strings.Builder
	for _, d := range hookwatch.LatencyBuckets {
		fmt.Fprintf(&b, ", count(*) FILTER (WHERE %s <= interval '%d microseconds')", lat, d.Microseconds())
	}
	return b.String()
}

// Traffic computes the figures of a window; see hookwatch.HealthStore.
func (s *Store) Traffic(ctx context.Context, q hookwatch.TrafficQuery) ([]hookwatch.Traffic, error) {
	var rows hookwatch.TrafficRows
	if err := s.scanRows(ctx, rows.ScanAccepted, `SELECT source, test, count(*) FROM events
		WHERE received_at >= $1 AND received_at < $2 AND ($3 OR NOT test)
		GROUP BY source, test ORDER BY source, test`, q.Since, q.Until, q.Test); err != nil {
		return nil, err
	}
	// Processing time counts from the event's receipt, or from its replay
	// (greatest ignores a NULL queued_at: never replayed).
	const lat = `(d.completed_at - greatest(e.received_at, d.queued_at))`
	if err := s.scanRows(ctx, rows.ScanDelivered, `SELECT e.source, d.destination, e.test, count(*),
		coalesce(sum(extract(epoch FROM `+lat+`) * 1000000), 0)::bigint`+latencySQL(lat)+`
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.status = 'succeeded' AND d.completed_at >= $1 AND d.completed_at < $2 AND ($3 OR NOT e.test)
		GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, q.Since, q.Until, q.Test); err != nil {
		return nil, err
	}
	if err := s.scanRows(ctx, rows.ScanFailed, `SELECT e.source, d.destination, e.test, a.class, count(*)
		FROM attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN events e ON e.id = d.event_id
		WHERE a.at >= $1 AND a.at < $2 AND a.class <> '' AND ($3 OR NOT e.test)
		GROUP BY e.source, d.destination, e.test, a.class ORDER BY e.source, d.destination, e.test, a.class`, q.Since, q.Until, q.Test); err != nil {
		return nil, err
	}
	if err := s.scanRows(ctx, rows.ScanDeadLetters, `SELECT e.source, d.destination, e.test, count(*)
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.status = 'dead' AND d.completed_at >= $1 AND d.completed_at < $2 AND ($3 OR NOT e.test)
		GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, q.Since, q.Until, q.Test); err != nil {
		return nil, err
	}
	if q.Within > 0 {
		w := q.Within
		if err := s.scanRows(ctx, rows.ScanSLO, `SELECT e.source, d.destination, e.test, count(*),
			count(*) FILTER (WHERE d.status = 'succeeded' AND d.completed_at - e.received_at <= $4 * interval '1 microsecond')
			FROM events e JOIN deliveries d ON d.event_id = e.id
			WHERE e.received_at >= $1 AND e.received_at < $2 AND ($3 OR NOT e.test)
			GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`,
			q.Since.Add(-w), q.Until.Add(-w), q.Test, w.Microseconds()); err != nil {
			return nil, err
		}
	}
	return rows.List(), nil
}

// Backlogs returns pending deliveries by (source, destination).
func (s *Store) Backlogs(ctx context.Context, test bool) ([]hookwatch.Backlog, error) {
	var out []hookwatch.Backlog
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var b hookwatch.Backlog
		if err := scan(&b.Source, &b.Destination, &b.Test, &b.Pending, &b.Oldest); err != nil {
			return err
		}
		b.Oldest = b.Oldest.UTC()
		out = append(out, b)
		return nil
	}, `SELECT e.source, d.destination, e.test, count(*), min(coalesce(d.queued_at, d.created_at))
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.status = 'pending' AND ($1 OR NOT e.test)
		GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, test)
	return out, err
}

// scanRows runs a read query and calls each for every row.
func (s *Store) scanRows(ctx context.Context, each func(scan func(...any) error) error, q string, args ...any) error {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return storeError("health", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return storeError("health", err)
		}
	}
	if err := rows.Err(); err != nil {
		return storeError("health", err)
	}
	return nil
}
