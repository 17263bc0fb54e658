package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/hookwatch/hookwatch"
)

// OrderHead returns the head of an ordering key; see hookwatch.OrderingStore.
func (s *Store) OrderHead(ctx context.Context, destination, key string, blockOnDead bool) (*hookwatch.Delivery, error) {
	d, err := scanDelivery(s.r.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE destination = ? AND order_key = ? AND order_key <> '' AND status IN ('pending', ?)
		ORDER BY order_at, event_id LIMIT 1`, destination, key, holdStatus(blockOnDead)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "no pending delivery of ordering key %q for destination %s", key, destination)
	}
	if err != nil {
		return nil, readError("order head", err)
	}
	return d, nil
}

// WaitingHeads counts failing and dead-held ordering keys; see
// hookwatch.OrderingStore. The heads are the pending ordered deliveries
// with no older pending one of their key (a probe of deliveries_order each).
func (s *Store) WaitingHeads(ctx context.Context) ([]hookwatch.WaitingHeads, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT destination, failed, behind_dead, count(*), min(queued) FROM (
			SELECT d.destination, d.attempts > 0 AS failed,
				EXISTS (SELECT 1 FROM deliveries o
					WHERE o.destination = d.destination AND o.order_key = d.order_key AND o.order_key <> '' AND o.status = 'dead'
					  AND (o.order_at < d.order_at OR (o.order_at = d.order_at AND o.event_id < d.event_id))) AS behind_dead,
				CASE WHEN d.queued_at = 0 THEN d.created_at ELSE d.queued_at END AS queued
			FROM deliveries d
			WHERE d.status = 'pending' AND d.order_key <> ''
			  AND NOT EXISTS (SELECT 1 FROM deliveries o
					WHERE o.destination = d.destination AND o.order_key = d.order_key AND o.order_key <> '' AND o.status = 'pending'
					  AND (o.order_at < d.order_at OR (o.order_at = d.order_at AND o.event_id < d.event_id)))
		) WHERE failed OR behind_dead
		GROUP BY destination, failed, behind_dead ORDER BY destination, failed, behind_dead`)
	if err != nil {
		return nil, readError("waiting heads", err)
	}
	defer rows.Close()
	var out []hookwatch.WaitingHeads
	for rows.Next() {
		var w hookwatch.WaitingHeads
		var oldest int64
		if err := rows.Scan(&w.Destination, &w.Failed, &w.BehindDead, &w.Keys, &oldest); err != nil {
			return nil, readError("waiting heads", err)
		}
		w.Oldest = fromMicros(oldest)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, readError("waiting heads", err)
	}
	return out, nil
}
