package postgres

import (
	"context"

	"github.com/hookwatch/hookwatch"
)

// Traffic computes the figures of a window; see hookwatch.HealthStore.
func (s *Store) Traffic(ctx context.Context, q hookwatch.TrafficQuery) ([]hookwatch.Traffic, error) {
	return dialect.Traffic(q, s.scanner(ctx))
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
