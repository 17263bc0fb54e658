package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
	"github.com/jackc/pgx/v5"
)

// pendingOf is true for an event with a delivery still pending (due,
// waiting or leased).
const pendingOf = `EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status = 'pending')`

// PurgeEvents deletes events by filter; see hookwatch.PurgeStore.
func (s *Store) PurgeEvents(ctx context.Context, r hookwatch.PurgeRequest) (*hookwatch.Purge, error) {
	p, err := hookwatch.NewPurge(r, s.now())
	if err != nil {
		return nil, err
	}
	filter := func() *sqlq.Conds {
		c := newConds()
		c.Add("received_at < ?", r.Before)
		// IDs sort by receive time: the bound lets the scan stop at the
		// primary key instead of reading every newer event.
		c.Add("id < ?", hookwatch.IDFloor("evt", r.Before.Truncate(time.Millisecond).Add(time.Millisecond)))
		if r.Source != "" {
			c.Add("source = ?", r.Source)
		}
		if r.Type != "" {
			c.Add("type = ?", r.Type)
		}
		return c
	}
	if r.DryRun {
		c := filter()
		if err := s.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE `+pendingOf+`) FROM events WHERE `+c.Where(), c.Args...).
			Scan(&p.Events, &p.Skipped); err != nil {
			return nil, storeError("purge count", err)
		}
		p.Events -= p.Skipped
		return p, nil
	}
	// Batches continue after the last event read, so events skipped
	// (pending) are read once.
	cursor := ""
	for first := true; ; first = false {
		var n, read int
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			c := filter()
			c.Add("id > ?", cursor)
			ids, err := selectIDs(ctx, tx, `SELECT id FROM events WHERE `+c.Where()+` AND NOT `+pendingOf+` ORDER BY id LIMIT `+c.Arg(hookwatch.PurgeBatch), c.Args...)
			if err != nil {
				return err
			}
			read = len(ids)
			if read > 0 {
				cursor = ids[read-1]
			}
			// A replay may have re-queued a delivery since the snapshot
			// above: lock the deliveries and look again.
			pending, err := selectIDs(ctx, tx, `SELECT event_id FROM deliveries WHERE event_id = ANY($1) AND status = 'pending' FOR UPDATE`, ids)
			if err != nil {
				return err
			}
			ids = without(ids, pending)
			if err := deleteEvents(ctx, tx, ids); err != nil {
				return err
			}
			n = len(ids)
			return record(ctx, tx, p, first, n, 0)
		})
		if err != nil {
			return p, storeError("purge", err)
		}
		p.Events += n
		if read < hookwatch.PurgeBatch {
			break
		}
	}
	c := filter()
	if err := s.pool.QueryRow(ctx, `WITH n AS (SELECT count(*) AS n FROM events WHERE `+c.Where()+` AND `+pendingOf+`)
		UPDATE purges SET skipped = (SELECT n FROM n) WHERE id = `+c.Arg(p.ID)+` RETURNING skipped`, c.Args...).Scan(&p.Skipped); err != nil {
		return p, storeError("purge: count skipped", err)
	}
	return p, nil
}

// EraseEvents deletes a data subject's events; see hookwatch.PurgeStore.
// PostgreSQL keeps deleted row versions in its data files until vacuum
// reuses the space, and in its WAL and backups: see docs/postgres.md.
func (s *Store) EraseEvents(ctx context.Context, r hookwatch.ErasureRequest) (*hookwatch.Purge, error) {
	if err := hookwatch.ValidateErasure(r); err != nil {
		return nil, err // before the store is touched
	}
	key, err := s.InstallationKey(ctx)
	if err != nil {
		return nil, err
	}
	p, err := hookwatch.NewErasure(r, s.now(), key)
	if err != nil {
		return nil, err
	}
	// sealed is the subject as an encrypting store keeps it.
	sealed := hookwatch.StoredSubject(key, text(r.Subject))
	events := func(c *sqlq.Conds) {
		if r.Subject != "" {
			// Rows stored while encryption was on hold the seal; older
			// ones the subject itself (hookwatch.StoredSubject).
			c.Add("subject IN (?, ?)", text(r.Subject), sealed)
		} else {
			c.Add("provider_event_id = ?", text(r.ProviderEventID))
		}
		if r.Source != "" {
			c.Add("source = ?", r.Source)
		}
	}
	var held []string
	if r.Subject != "" {
		// A quarantined body that did not parse has no subject: it is
		// matched by its bytes, decrypted (the quarantine is bounded, so
		// is the scan).
		if held, err = s.quarantinedHolding(ctx, r.Subject, r.Source); err != nil {
			return nil, err
		}
	}
	quarantined := func(c *sqlq.Conds) {
		if r.Subject != "" {
			c.Add("(subject IN (?, ?) OR id = ANY(?))", text(r.Subject), sealed, held)
		} else {
			c.Add("false")
		}
		if r.Source != "" {
			c.Add("source = ?", r.Source)
		}
	}
	if r.DryRun {
		c := newConds()
		events(c)
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE `+c.Where(), c.Args...).Scan(&p.Events); err != nil {
			return nil, storeError("erase count", err)
		}
		q := newConds()
		quarantined(q)
		e := newConds(q.Args...) // numbered after the quarantine's
		events(e)
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM quarantine WHERE `+q.Where()+
			` OR event_id IN (SELECT id FROM events WHERE `+e.Where()+`)`, e.Args...).Scan(&p.Quarantined); err != nil {
			return nil, storeError("erase count", err)
		}
		return p, nil
	}
	for first := true; ; first = false {
		var n, nq int
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			c := newConds()
			events(c)
			ids, err := selectIDs(ctx, tx, `SELECT id FROM events WHERE `+c.Where()+` ORDER BY id LIMIT `+c.Arg(hookwatch.PurgeBatch)+` FOR UPDATE`, c.Args...)
			if err != nil {
				return err
			}
			n = len(ids)
			if n > 0 {
				// The quarantined requests released as these events.
				tag, err := tx.Exec(ctx, `DELETE FROM quarantine WHERE event_id = ANY($1)`, ids)
				if err != nil {
					return err
				}
				nq = int(tag.RowsAffected())
			}
			if err := deleteEvents(ctx, tx, ids); err != nil {
				return err
			}
			if n < hookwatch.PurgeBatch {
				q := newConds()
				quarantined(q)
				tag, err := tx.Exec(ctx, `DELETE FROM quarantine WHERE `+q.Where(), q.Args...)
				if err != nil {
					return err
				}
				nq += int(tag.RowsAffected())
			}
			return record(ctx, tx, p, first, n, nq)
		})
		if err != nil {
			return p, storeError("erase", err)
		}
		p.Events += n
		p.Quarantined += nq
		if n < hookwatch.PurgeBatch {
			break
		}
	}
	return p, nil
}

// quarantinedHolding returns the IDs of the quarantined requests without a
// subject whose body (decrypted) contains subject.
func (s *Store) quarantinedHolding(ctx context.Context, subject, source string) ([]string, error) {
	ids := []string{}
	for after := ""; ; {
		c := newConds()
		c.Add("subject = ''")
		c.Add("id > ?", after)
		if source != "" {
			c.Add("source = ?", source)
		}
		rows, err := s.pool.Query(ctx, `SELECT `+quarantineColumns+` FROM quarantine WHERE `+c.Where()+` ORDER BY id LIMIT 500`, c.Args...)
		page, err := collect(rows, err, "erase: read quarantine", s.scanQuarantined)
		if err != nil {
			return nil, err
		}
		for _, q := range page {
			if bytes.Contains(q.Body, []byte(subject)) {
				ids = append(ids, q.ID)
			}
		}
		if len(page) < 500 {
			return ids, nil
		}
		after = page[len(page)-1].ID
	}
}

// record writes the purge record with the first batch and adds each
// later batch's counts to it, in the batch's transaction.
func record(ctx context.Context, tx pgx.Tx, p *hookwatch.Purge, first bool, events, quarantined int) error {
	if first {
		filter, err := json.Marshal(p.Filter)
		if err != nil {
			return fmt.Errorf("encode filter: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO purges (id, kind, actor, at, filter, events, quarantined) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			p.ID, string(p.Kind), text(p.Actor), p.At, string(filter), events, quarantined)
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE purges SET events = events + $1, quarantined = quarantined + $2 WHERE id = $3`, events, quarantined, p.ID)
	return err
}

// deleteEvents deletes events with their deliveries, attempts and issue
// samples. Dedupe keys stay until they expire.
func deleteEvents(ctx context.Context, tx pgx.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	for _, q := range []string{
		`DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ANY($1))`,
		`DELETE FROM deliveries WHERE event_id = ANY($1)`,
		`DELETE FROM failures WHERE event_id = ANY($1)`,
		`DELETE FROM event_filters WHERE event_id = ANY($1)`,
		`UPDATE issues SET last_event_id = '' WHERE last_event_id = ANY($1)`,
		`DELETE FROM events WHERE id = ANY($1)`,
	} {
		if _, err := tx.Exec(ctx, q, ids); err != nil {
			return err
		}
	}
	return nil
}

func selectIDs(ctx context.Context, tx pgx.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// without returns ids less those in drop.
func without(ids, drop []string) []string {
	if len(drop) == 0 {
		return ids
	}
	skip := make(map[string]bool, len(drop))
	for _, id := range drop {
		skip[id] = true
	}
	out := ids[:0:0]
	for _, id := range ids {
		if !skip[id] {
			out = append(out, id)
		}
	}
	return out
}

// ListPurges returns purge and erasure records, newest first.
func (s *Store) ListPurges(ctx context.Context, limit int) ([]*hookwatch.Purge, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, kind, actor, at, filter, events, skipped, quarantined FROM purges ORDER BY id DESC LIMIT $1`, sqlq.Limit(limit, 100))
	if err != nil {
		return nil, storeError("list purges", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookwatch.Purge, error) {
		var p hookwatch.Purge
		var filter string
		if err := row.Scan(&p.ID, &p.Kind, &p.Actor, &p.At, &filter, &p.Events, &p.Skipped, &p.Quarantined); err != nil {
			return nil, err
		}
		p.At = p.At.UTC()
		if err := json.Unmarshal([]byte(filter), &p.Filter); err != nil {
			return nil, fmt.Errorf("decode filter of %s: %w", p.ID, err)
		}
		return &p, nil
	})
	if err != nil {
		return nil, storeError("list purges", err)
	}
	return out, nil
}
