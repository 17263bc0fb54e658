package sqlite

import (
	"context"
	"fmt"

	"github.com/hookwatch/hookwatch"
)

// Traffic computes the figures of a window; see hookwatch.HealthStore.
func (s *Store) Traffic(ctx context.Context, q hookwatch.TrafficQuery) ([]hookwatch.Traffic, error) {
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
	return dialect.Traffic(q, s.scanner(ctx))
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
