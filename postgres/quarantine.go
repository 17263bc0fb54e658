package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
	"github.com/jackc/pgx/v5"
)

// AddQuarantined stores rejected requests in one statement; see
// hookwatch.QuarantineStore.
func (s *Store) AddQuarantined(ctx context.Context, qs []*hookwatch.Quarantined) error {
	if len(qs) == 0 {
		return nil
	}
	n := len(qs)
	var (
		ids, sources, providers, reasons = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		details, methods, urls, headers  = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		keyIDs                           = make([]string, n)
		bodies                           = make([][]byte, n)
		truncated                        = make([]bool, n)
		received                         = make([]time.Time, n)
		sizes                            = make([]int64, n)
		subjects                         = make([]string, n)
	)
	skey, err := s.storedSubjectKey(ctx)
	if err != nil {
		return err
	}
	for i, q := range qs {
		h, body, keyID, err := s.cipher.SealPayload("quarantine", q.ID, q.Headers, q.Body)
		if err != nil {
			return fmt.Errorf("postgres: insert quarantined: %w", err)
		}
		keyIDs[i] = keyID
		// Rejected requests are whatever an attacker sent: make every text
		// storable so one odd request cannot fail the batch.
		ids[i], sources[i], providers[i], reasons[i] = q.ID, text(q.Source), text(q.Provider), text(q.Reason)
		details[i], methods[i], urls[i], headers[i] = text(q.Detail), text(q.Method), text(q.URL), text(h)
		bodies[i], truncated[i], received[i], sizes[i] = body, q.Truncated, q.ReceivedAt, q.StoredSize()
		subjects[i] = hookwatch.StoredSubject(skey, text(q.Subject))
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO quarantine
		(id, source, provider, reason, detail, method, url, headers, body, truncated, received_at, size, key_id, subject)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::bytea[], $10::bool[], $11::timestamptz[], $12::bigint[], $13::text[], $14::text[])`,
		ids, sources, providers, reasons, details, methods, urls, headers, bodies, truncated, received, sizes, keyIDs, subjects)
	if err != nil {
		return storeError("insert quarantined", err)
	}
	return nil
}

const quarantineColumns = `id, source, provider, reason, detail, method, url, headers, body, truncated,
	received_at, released_at, event_id, released_by, unverified, key_id, subject`

// scanQuarantined reads a row of quarantineColumns, decrypting its headers
// and body.
func (s *Store) scanQuarantined(row pgx.Row) (*hookwatch.Quarantined, error) {
	var (
		q              hookwatch.Quarantined
		headers, keyID string
		released       *time.Time
	)
	if err := row.Scan(&q.ID, &q.Source, &q.Provider, &q.Reason, &q.Detail, &q.Method, &q.URL, &headers, &q.Body,
		&q.Truncated, &q.ReceivedAt, &released, &q.EventID, &q.ReleasedBy, &q.Unverified, &keyID, &q.Subject); err != nil {
		return nil, err
	}
	q.ReceivedAt, q.ReleasedAt = q.ReceivedAt.UTC(), fromNull(released)
	var err error
	if q.Headers, q.Body, err = s.cipher.OpenPayload("quarantine", q.ID, keyID, headers, q.Body); err != nil {
		return nil, fmt.Errorf("quarantined %s: %w", q.ID, err)
	}
	return &q, nil
}

// GetQuarantined returns one quarantined request.
func (s *Store) GetQuarantined(ctx context.Context, id string) (*hookwatch.Quarantined, error) {
	q, err := s.scanQuarantined(s.pool.QueryRow(ctx, `SELECT `+quarantineColumns+` FROM quarantine WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "quarantined request %s not found", id)
	} else if err != nil {
		return nil, storeError("get quarantined", err)
	}
	return q, nil
}

// ListQuarantined returns quarantined requests matching f, newest first.
func (s *Store) ListQuarantined(ctx context.Context, f hookwatch.QuarantineFilter) ([]*hookwatch.Quarantined, error) {
	c := newConds()
	if len(f.IDs) > 0 {
		c.Add("id = ANY(?::text[])", f.IDs)
	}
	if f.Source != "" {
		c.Add("source = ?", f.Source)
	}
	if f.Reason != "" {
		c.Add("reason = ?", f.Reason)
	}
	switch f.Status {
	case hookwatch.QuarantineHeld:
		c.Add("released_at IS NULL")
	case hookwatch.QuarantineReleased:
		c.Add("released_at IS NOT NULL")
	}
	if !f.Since.IsZero() {
		c.Add("received_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		c.Add("received_at < ?", f.Until)
	}
	if f.Before != "" {
		c.Add("id < ?", f.Before)
	}
	q := `SELECT ` + quarantineColumns + ` FROM quarantine WHERE ` + c.Where() + ` ORDER BY id DESC LIMIT ` + c.Arg(sqlq.Limit(f.Limit, 100))
	rows, err := s.pool.Query(ctx, q, c.Args...)
	if err != nil {
		return nil, storeError("list quarantined", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookwatch.Quarantined, error) { return s.scanQuarantined(row) })
	if err != nil {
		return nil, storeError("list quarantined", err)
	}
	return out, nil
}

// MarkReleased records a release; see hookwatch.QuarantineStore.
func (s *Store) MarkReleased(ctx context.Context, r hookwatch.QuarantineRelease) error {
	// One statement tells the three cases apart: updated, already released,
	// missing.
	var updated, exists bool
	err := s.pool.QueryRow(ctx, `WITH u AS (
		UPDATE quarantine SET released_at = $2, event_id = $3, released_by = $4, unverified = $5
		WHERE id = $1 AND released_at IS NULL
		RETURNING 1
	)
	SELECT EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM quarantine WHERE id = $1)`,
		r.ID, r.At, r.EventID, text(r.By), r.Unverified).Scan(&updated, &exists)
	switch {
	case err != nil:
		return storeError("mark released", err)
	case updated:
		return nil
	case !exists:
		return hookwatch.Errorf(hookwatch.ENOTFOUND, "quarantined request %s not found", r.ID)
	}
	return hookwatch.Errorf(hookwatch.ECONFLICT, "quarantined request %s was already released", r.ID)
}

// PruneQuarantine applies the quarantine's bounds; see
// hookwatch.QuarantineStore.
func (s *Store) PruneQuarantine(ctx context.Context, b hookwatch.QuarantineBounds) (int, error) {
	var n int64
	prune := func(query string, args ...any) error {
		tag, err := s.pool.Exec(ctx, query, args...)
		if err != nil {
			return storeError("prune quarantine", err)
		}
		n += tag.RowsAffected()
		return nil
	}
	if !b.Before.IsZero() {
		if err := prune(`DELETE FROM quarantine WHERE received_at < $1`, b.Before); err != nil {
			return int(n), err
		}
	}
	if b.MaxCount > 0 {
		// Everything older than the keep-th newest; NULL (nothing) when
		// there are fewer.
		if err := prune(`DELETE FROM quarantine WHERE id <
			(SELECT id FROM quarantine ORDER BY id DESC LIMIT 1 OFFSET $1)`, b.MaxCount-1); err != nil {
			return int(n), err
		}
	}
	if b.MaxBytes > 0 {
		// The newest request at which the running total, newest first,
		// exceeds the budget: it and everything older go.
		if err := prune(`DELETE FROM quarantine WHERE id <= (
			SELECT id FROM (SELECT id, sum(size) OVER (ORDER BY id DESC) AS total FROM quarantine) t
			WHERE total > $1 ORDER BY id DESC LIMIT 1)`, b.MaxBytes); err != nil {
			return int(n), err
		}
	}
	return int(n), nil
}
