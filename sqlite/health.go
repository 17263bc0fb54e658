package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/hookwatch/hookwatch"
)

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
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
	since, until := micros(q.Since), micros(q.Until)
	var rows hookwatch.TrafficRows
	if err := s.scanRows(ctx, rows.ScanAccepted, `SELECT source, test, count(*) FROM events
		WHERE received_at >= ? AND received_at < ? AND (? OR test = 0)
		GROUP BY source, test ORDER BY source, test`, since, until, q.Test); err != nil {
		return nil, err
	}
	// Processing time counts from the event's receipt, or from its replay.
	const lat = `(d.completed_at - max(e.received_at, d.queued_at))`
	if err := s.scanRows(ctx, rows.ScanDelivered, `SELECT e.source, d.destination, e.test, count(*), coalesce(sum(`+lat+`), 0)`+latencySQL(lat)+`
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.status = 'succeeded' AND d.completed_at >= ? AND d.completed_at < ? AND (? OR e.test = 0)
		GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, since, until, q.Test); err != nil {
		return nil, err
	}
	if err := s.scanRows(ctx, rows.ScanFailed, `SELECT e.source, d.destination, e.test, a.class, count(*)
		FROM attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN events e ON e.id = d.event_id
		WHERE a.at >= ? AND a.at < ? AND a.class <> '' AND (? OR e.test = 0)
		GROUP BY e.source, d.destination, e.test, a.class ORDER BY e.source, d.destination, e.test, a.class`, since, until, q.Test); err != nil {
		return nil, err
	}
	if err := s.scanRows(ctx, rows.ScanDeadLetters, `SELECT e.source, d.destination, e.test, count(*)
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.status = 'dead' AND d.completed_at >= ? AND d.completed_at < ? AND (? OR e.test = 0)
		GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, since, until, q.Test); err != nil {
		return nil, err
	}
	if q.Within > 0 {
		w := q.Within.Microseconds()
		if err := s.scanRows(ctx, rows.ScanSLO, `SELECT e.source, d.destination, e.test, count(*),
			coalesce(sum(CASE WHEN d.status = 'succeeded' AND d.completed_at - e.received_at <= ? THEN 1 ELSE 0 END), 0)
			FROM events e JOIN deliveries d ON d.event_id = e.id
			WHERE e.received_at >= ? AND e.received_at < ? AND (? OR e.test = 0)
			GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, w, since-w, until-w, q.Test); err != nil {
			return nil, err
		}
	}
	return rows.List(), nil
}

// Backlogs returns pending deliveries by (source, destination).
func (s *Store) Backlogs(ctx context.Context, test bool) ([]hookwatch.Backlog, error) {
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
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
