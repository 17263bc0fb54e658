package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/jackc/pgx/v5"
)

// DeleteFinished removes a batch of finished events (hookwatch.RetentionStore)
// with plain batched DELETEs in one transaction. The batch's deliveries are
// locked (FOR UPDATE) and read again before anything is deleted, so a
// replay that commits meanwhile keeps its event: the replay either waits
// for this transaction (and then finds nothing to replay) or committed
// first (and the event is not finished any more).
//
// Why not time partitions: dropping a day's partition is cheaper than
// deleting its rows, but an event's removal depends on its deliveries
// (pending ones, dead letters kept longer, replays), not only on its day,
// so a partition could only be dropped once every event in it is
// removable; and every index and foreign key of events, deliveries and
// attempts would have to carry the partition key. Batched deletes by
// primary key keep each transaction short, and autovacuum (eager on these
// tables, migration 0006) makes the space reusable.
func (s *Store) DeleteFinished(ctx context.Context, c hookwatch.RetentionCutoff) (hookwatch.RetentionResult, error) {
	var res hookwatch.RetentionResult
	limit := c.Limit
	if limit <= 0 {
		limit = hookwatch.DefaultRetentionBatch
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return res, storeError("delete finished: begin", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, `SELECT e.id FROM events e
		WHERE e.id > $1 AND e.id < $2 AND (cardinality($3::text[]) = 0 OR e.source = ANY($3)) AND NOT (e.source = ANY($4::text[]))
		ORDER BY e.id LIMIT $5`, c.After, c.Bound(), nonNil(c.Sources), nonNil(c.Except), limit)
	if err != nil {
		return res, storeError("delete finished: select", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return res, storeError("delete finished: select", err)
	}
	if len(ids) == 0 {
		return res, nil
	}
	res.Last = ids[len(ids)-1]
	if _, err := tx.Exec(ctx, `SELECT 1 FROM deliveries WHERE event_id = ANY($1) ORDER BY id FOR UPDATE`, ids); err != nil {
		return res, storeError("delete finished: lock", err)
	}
	// A new statement: it sees what committed while the locks were awaited.
	rows, err = tx.Query(ctx, `SELECT e.id, e.received_at, octet_length(e.body) + octet_length(e.headers),
			(SELECT max(d.completed_at) FROM deliveries d WHERE d.event_id = e.id),
			EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending'),
			EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'dead')
		FROM events e WHERE e.id = ANY($1)`, ids)
	if err != nil {
		return res, storeError("delete finished: select", err)
	}
	var gone []string
	for rows.Next() {
		var e hookwatch.RetentionCandidate
		var done *time.Time
		if err := rows.Scan(&e.ID, &e.ReceivedAt, &e.Size, &done, &e.Pending, &e.Dead); err != nil {
			rows.Close()
			return res, storeError("delete finished: select", err)
		}
		if done != nil {
			e.Done = *done
		}
		if c.Removes(e) {
			gone = append(gone, e.ID)
			res.Bytes += e.Size
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, storeError("delete finished: select", err)
	}
	if len(gone) == 0 {
		return res, nil
	}
	for _, step := range []struct {
		n   *int
		sql string
	}{
		{&res.Attempts, `DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ANY($1))`},
		{&res.Deliveries, `DELETE FROM deliveries WHERE event_id = ANY($1)`},
		{new(int), `DELETE FROM event_filters WHERE event_id = ANY($1)`},
		{&res.Events, `DELETE FROM events WHERE id = ANY($1)`},
	} {
		tag, err := tx.Exec(ctx, step.sql, gone)
		if err != nil {
			return hookwatch.RetentionResult{}, storeError("delete finished", err)
		}
		*step.n = int(tag.RowsAffected())
	}
	if err := tx.Commit(ctx); err != nil {
		return hookwatch.RetentionResult{}, storeError("delete finished: commit", err)
	}
	return res, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// StoreSize returns the size of the schema's tables (with indexes and
// TOAST), and an estimate of what their live rows take: each table's size
// scaled by the share its live rows take of its heap by the planner's
// statistics (rows × average row width, refreshed by autovacuum's
// ANALYZE). A table never analyzed counts in full. Deleted rows' space
// stays in the files for reuse, so only the estimate goes down after
// retention's deletes.
func (s *Store) StoreSize(ctx context.Context) (hookwatch.StoreSize, error) {
	var size hookwatch.StoreSize
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(total), 0)::bigint, coalesce(sum(CASE
			WHEN heap <= 0 OR rows < 0 OR width IS NULL THEN total
			ELSE total * least(1.0, rows * (width + 28) / heap) END), 0)::bigint
		FROM (SELECT pg_total_relation_size(c.oid) AS total, pg_relation_size(c.oid)::float8 AS heap, c.reltuples::float8 AS rows,
				(SELECT sum(st.avg_width) FROM pg_stats st WHERE st.schemaname = n.nspname AND st.tablename = c.relname)::float8 AS width
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind = 'r') t`).Scan(&size.Bytes, &size.Used)
	if err != nil {
		return size, unavailable("store size", err)
	}
	return size, nil
}

// OldestFinished returns the oldest event with no pending delivery.
func (s *Store) OldestFinished(ctx context.Context) (*hookwatch.FinishedEvent, error) {
	var e hookwatch.FinishedEvent
	err := s.pool.QueryRow(ctx, `SELECT e.id, e.source, e.received_at, octet_length(e.body) + octet_length(e.headers) FROM events e
		WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
		ORDER BY e.id LIMIT 1`).Scan(&e.ID, &e.Source, &e.ReceivedAt, &e.Size)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable("oldest finished event", err)
	}
	e.ReceivedAt = e.ReceivedAt.UTC()
	return &e, nil
}
