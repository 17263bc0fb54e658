package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
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
	c := newConds()
	c.Add("received_at < ?", micros(r.Before))
	// IDs sort by receive time: the bound lets the scan stop at the
	// primary key instead of reading every newer event.
	c.Add("id < ?", hookwatch.IDFloor("evt", r.Before.Truncate(time.Millisecond).Add(time.Millisecond)))
	if r.Source != "" {
		c.Add("source = ?", r.Source)
	}
	if r.Type != "" {
		c.Add("type = ?", r.Type)
	}
	if r.DryRun {
		if err := s.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(`+pendingOf+`), 0) FROM events WHERE `+c.Where(), c.Args...).
			Scan(&p.Events, &p.Skipped); err != nil {
			return nil, fmt.Errorf("sqlite: purge count: %w", err)
		}
		p.Events -= p.Skipped
		return p, nil
	}
	// Batches continue after the last event deleted, so events skipped
	// (pending) are read once.
	cursor := ""
	for first := true; ; first = false {
		var n int
		err := s.writeTx(ctx, "purge", false, func(tx *sql.Tx) error {
			ids, err := selectIDs(ctx, tx, `SELECT id FROM events WHERE `+c.Where()+` AND id > ? AND NOT `+pendingOf+` ORDER BY id LIMIT ?`,
				append(c.Args, cursor, hookwatch.PurgeBatch)...)
			if err != nil {
				return err
			}
			if err := s.deleteEvents(ctx, tx, ids, p.At); err != nil {
				return err
			}
			n = len(ids)
			if n > 0 {
				cursor = ids[n-1]
			}
			return s.record(ctx, tx, p, first, n, 0)
		})
		if err != nil {
			return p, err
		}
		p.Events += n
		if n < hookwatch.PurgeBatch {
			break
		}
	}
	err = s.writeTx(ctx, "purge", false, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE `+c.Where()+` AND `+pendingOf, c.Args...).Scan(&p.Skipped); err != nil {
			return writeError("purge: count skipped", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE purges SET skipped = ? WHERE id = ?`, p.Skipped, p.ID); err != nil {
			return writeError("purge: record", err)
		}
		return nil
	})
	return p, err
}

// EraseEvents deletes a data subject's events; see hookwatch.PurgeStore.
//
// Every deleting transaction runs with secure_delete on, so SQLite
// overwrites the deleted rows, index entries and freed pages with zeros
// instead of leaving them in free space; then the WAL, which still holds
// the pages as they were before, is checkpointed into the database file and
// truncated.
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
	ev, qr := newConds(), newConds()
	if r.Subject != "" {
		// Rows stored while encryption was on hold the seal; older ones
		// the subject itself (hookwatch.StoredSubject).
		ev.Add("subject IN (?, ?)", r.Subject, p.Filter.SubjectHash)
		// A quarantined body that did not parse has no subject: it is
		// matched by its bytes, decrypted (the quarantine is bounded, so
		// is the scan).
		held, err := s.quarantinedHolding(ctx, r.Subject, r.Source)
		if err != nil {
			return nil, err
		}
		ids, _ := json.Marshal(held)
		qr.Add("(subject IN (?, ?) OR id IN (SELECT value FROM json_each(?)))", r.Subject, p.Filter.SubjectHash, string(ids))
	} else {
		ev.Add("provider_event_id = ?", r.ProviderEventID)
		qr.Add("0")
	}
	if r.Source != "" {
		ev.Add("source = ?", r.Source)
		qr.Add("source = ?", r.Source)
	}
	if r.DryRun {
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE `+ev.Where(), ev.Args...).Scan(&p.Events); err != nil {
			return nil, fmt.Errorf("sqlite: erase count: %w", err)
		}
		args := append(append([]any{}, qr.Args...), ev.Args...)
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM quarantine WHERE `+qr.Where()+
			` OR event_id IN (SELECT id FROM events WHERE `+ev.Where()+`)`, args...).Scan(&p.Quarantined); err != nil {
			return nil, fmt.Errorf("sqlite: erase count: %w", err)
		}
		return p, nil
	}
	for first := true; ; first = false {
		var n, q int
		err := s.writeTx(ctx, "erase", true, func(tx *sql.Tx) error {
			ids, err := selectIDs(ctx, tx, `SELECT id FROM events WHERE `+ev.Where()+` ORDER BY id LIMIT ?`, append(ev.Args, hookwatch.PurgeBatch)...)
			if err != nil {
				return err
			}
			// The quarantined requests released as these events.
			if len(ids) > 0 {
				res, err := tx.ExecContext(ctx, `DELETE FROM quarantine WHERE event_id IN (`+qmarks(len(ids))+`)`, anys(ids)...)
				if err != nil {
					return writeError("erase quarantined", err)
				}
				nq, _ := res.RowsAffected()
				q = int(nq)
			}
			if err := s.deleteEvents(ctx, tx, ids, p.At); err != nil {
				return err
			}
			n = len(ids)
			if n < hookwatch.PurgeBatch {
				res, err := tx.ExecContext(ctx, `DELETE FROM quarantine WHERE `+qr.Where(), qr.Args...)
				if err != nil {
					return writeError("erase quarantined", err)
				}
				nq, _ := res.RowsAffected()
				q += int(nq)
			}
			return s.record(ctx, tx, p, first, n, q)
		})
		if err != nil {
			return p, err
		}
		p.Events += n
		p.Quarantined += q
		if n < hookwatch.PurgeBatch {
			break
		}
	}
	return p, s.truncateWAL(ctx)
}

// quarantinedHolding returns the IDs of the quarantined requests without a
// subject whose body (decrypted) contains subject.
func (s *Store) quarantinedHolding(ctx context.Context, subject, source string) ([]string, error) {
	var ids []string
	for after := ""; ; {
		c := newConds()
		c.Add("subject = ''")
		c.Add("id > ?", after)
		if source != "" {
			c.Add("source = ?", source)
		}
		rows, err := s.r.QueryContext(ctx, `SELECT `+quarantineColumns+` FROM quarantine WHERE `+c.Where()+` ORDER BY id LIMIT 500`, c.Args...)
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

// truncateWAL copies the WAL into the database file and empties it, so that
// no earlier version of an erased page stays in it. Readers finish within
// moments; a checkpoint that finds one still reading is tried again.
func (s *Store) truncateWAL(ctx context.Context) error {
	var busy, frames, done int
	for range 50 {
		if err := s.Recovering(); err != nil {
			return err
		}
		if err := s.c.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &done); err != nil {
			return writeError("erase: checkpoint", err)
		}
		if busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return writeError("erase: checkpoint", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return hookwatch.Errorf(hookwatch.EUNAVAILABLE, "the events were erased, but the WAL could not be truncated (readers kept it busy): "+
		"earlier copies of their pages stay in it until the next checkpoint; run the erasure again to retry")
}

// writeTx runs fn in a transaction on the writer connection, committed
// with synchronous=FULL; secure runs it with secure_delete on.
func (s *Store) writeTx(ctx context.Context, op string, secure bool, fn func(tx *sql.Tx) error) error {
	if err := s.Recovering(); err != nil {
		return err
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return writeError(op+": conn", err)
	}
	defer conn.Close()
	if secure {
		if _, err := conn.ExecContext(ctx, "PRAGMA secure_delete=ON"); err != nil {
			return writeError(op+": pragma", err)
		}
		defer func() {
			if _, err := conn.ExecContext(context.Background(), "PRAGMA secure_delete=FAST"); err != nil {
				// Never hand back a connection that zeroes every freed page.
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return writeError(op+": begin", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return writeError(op+": commit", err)
	}
	return nil
}

// record writes the purge record with the first batch and adds each
// later batch's counts to it, in the batch's transaction.
func (s *Store) record(ctx context.Context, tx *sql.Tx, p *hookwatch.Purge, first bool, events, quarantined int) error {
	var err error
	if first {
		filter, jerr := json.Marshal(p.Filter)
		if jerr != nil {
			return fmt.Errorf("sqlite: purge: encode filter: %w", jerr)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO purges (id, kind, actor, at, filter, events, quarantined) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.ID, string(p.Kind), p.Actor, micros(p.At), string(filter), events, quarantined)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE purges SET events = events + ?, quarantined = quarantined + ? WHERE id = ?`, events, quarantined, p.ID)
	}
	if err != nil {
		return writeError("purge: record", err)
	}
	return nil
}

// deleteEvents deletes events with their deliveries, attempts and issue
// samples. Their live dedupe keys stay (dedupe_kept) until they expire: a
// purge and an erasure keep them alike, since a key is a provider's event
// ID or a body's SHA-256, never the subject itself (docs/purge.md).
func (s *Store) deleteEvents(ctx context.Context, tx *sql.Tx, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	in, args := qmarks(len(ids)), anys(ids)
	if err := s.keepDedupeKeys(ctx, tx, in, args, now); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id IN (` + in + `))`,
		`DELETE FROM deliveries WHERE event_id IN (` + in + `)`,
		`DELETE FROM failures WHERE event_id IN (` + in + `)`,
		`DELETE FROM event_filters WHERE event_id IN (` + in + `)`,
		`UPDATE issues SET last_event_id = '' WHERE last_event_id IN (` + in + `)`,
		`DELETE FROM events WHERE id IN (` + in + `)`,
	} {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return writeError("delete events", err)
		}
	}
	return nil
}

func selectIDs(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, writeError("select events", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, writeError("select events", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, writeError("select events", err)
	}
	return ids, nil
}

func qmarks(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// ListPurges returns purge and erasure records, newest first.
func (s *Store) ListPurges(ctx context.Context, limit int) ([]*hookwatch.Purge, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, kind, actor, at, filter, events, skipped, quarantined FROM purges ORDER BY id DESC LIMIT ?`, sqlq.Limit(limit, 100))
	return collect(rows, err, "list purges", func(row row) (*hookwatch.Purge, error) {
		var (
			p      hookwatch.Purge
			at     int64
			filter string
		)
		if err := row.Scan(&p.ID, &p.Kind, &p.Actor, &at, &filter, &p.Events, &p.Skipped, &p.Quarantined); err != nil {
			return nil, err
		}
		p.At = fromMicros(at)
		if err := json.Unmarshal([]byte(filter), &p.Filter); err != nil {
			return nil, fmt.Errorf("decode filter of %s: %w", p.ID, err)
		}
		return &p, nil
	})
}
