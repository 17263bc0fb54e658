package postgres

import (
	"context"
	"errors"

	"github.com/hookwatch/hookwatch"
	"github.com/jackc/pgx/v5"
)

// OrderHead returns the head of an ordering key; see hookwatch.OrderingStore.
func (s *Store) OrderHead(ctx context.Context, destination, key string, blockOnDead bool) (*hookwatch.Delivery, error) {
	hold := "pending"
	if blockOnDead {
		hold = "dead"
	}
	d := &hookwatch.Delivery{}
	dest, after := deliveryDest(d)
	err := s.pool.QueryRow(ctx, `SELECT `+deliveryColumns("")+` FROM deliveries
		WHERE destination = $1 AND order_key = $2 AND order_key <> '' AND status IN ('pending', $3)
		ORDER BY order_at, event_id LIMIT 1`, destination, key, hold).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "no pending delivery of ordering key %q for destination %s", key, destination)
	}
	if err != nil {
		return nil, storeError("order head", err)
	}
	after()
	return d, nil
}

// WaitingHeads counts failing and dead-held ordering keys; see
// hookwatch.OrderingStore. The heads are the pending ordered deliveries
// with no older pending one of their key (a probe of
// deliveries_order_pending each).
func (s *Store) WaitingHeads(ctx context.Context) ([]hookwatch.WaitingHeads, error) {
	rows, err := s.pool.Query(ctx, `SELECT destination, failed, behind_dead, count(*), min(queued) FROM (
			SELECT d.destination, d.attempts > 0 AS failed,
				EXISTS (`+olderOfKey("dead")+`) AS behind_dead,
				coalesce(d.queued_at, d.created_at) AS queued
			FROM deliveries d
			WHERE d.status = 'pending' AND d.order_key <> '' AND NOT EXISTS (`+olderOfKey("pending")+`)
		) h WHERE failed OR behind_dead
		GROUP BY destination, failed, behind_dead ORDER BY destination, failed, behind_dead`)
	if err != nil {
		return nil, storeError("waiting heads", err)
	}
	var out []hookwatch.WaitingHeads
	var w hookwatch.WaitingHeads
	_, err = pgx.ForEachRow(rows, []any{&w.Destination, &w.Failed, &w.BehindDead, &w.Keys, &w.Oldest}, func() error {
		w.Oldest = w.Oldest.UTC()
		out = append(out, w)
		return nil
	})
	if err != nil {
		return nil, storeError("waiting heads", err)
	}
	return out, nil
}
