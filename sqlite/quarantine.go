package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
)

// AddQuarantined stores rejected requests; see hookwatch.QuarantineStore.
func (s *Store) AddQuarantined(ctx context.Context, qs []*hookwatch.Quarantined) error {
	if len(qs) == 0 {
		return nil
	}
	skey, err := s.storedSubjectKey(ctx)
	if err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return writeError("begin", err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO quarantine
		(id, source, provider, reason, detail, method, url, headers, body, truncated, received_at, size, key_id, subject)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return writeError("prepare", err)
	}
	defer ins.Close()
	for _, q := range qs {
		headers, body, keyID, err := s.cipher.SealPayload("quarantine", q.ID, q.Headers, q.Body)
		if err != nil {
			return fmt.Errorf("sqlite: insert quarantined: %w", err)
		}
		if _, err := ins.ExecContext(ctx, q.ID, q.Source, q.Provider, q.Reason, q.Detail, q.Method, q.URL,
			headers, body, q.Truncated, micros(q.ReceivedAt), q.StoredSize(), keyID, hookwatch.StoredSubject(skey, q.Subject)); err != nil {
			return writeError("insert quarantined", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return writeError("commit", err)
	}
	return nil
}

const quarantineColumns = `id, source, provider, reason, detail, method, url, headers, body, truncated,
	received_at, released_at, event_id, released_by, unverified, key_id, subject`

// scanQuarantined reads a row of quarantineColumns, decrypting its headers
// and body.
func (s *Store) scanQuarantined(row interface{ Scan(...any) error }) (*hookwatch.Quarantined, error) {
	var (
		q                  hookwatch.Quarantined
		headers, keyID     string
		received, released int64
	)
	if err := row.Scan(&q.ID, &q.Source, &q.Provider, &q.Reason, &q.Detail, &q.Method, &q.URL, &headers, &q.Body,
		&q.Truncated, &received, &released, &q.EventID, &q.ReleasedBy, &q.Unverified, &keyID, &q.Subject); err != nil {
		return nil, err
	}
	q.ReceivedAt, q.ReleasedAt = fromMicros(received), fromMicros(released)
	var err error
	if q.Headers, q.Body, err = s.cipher.OpenPayload("quarantine", q.ID, keyID, headers, q.Body); err != nil {
		return nil, fmt.Errorf("sqlite: quarantined %s: %w", q.ID, err)
	}
	return &q, nil
}

// GetQuarantined returns one quarantined request.
func (s *Store) GetQuarantined(ctx context.Context, id string) (*hookwatch.Quarantined, error) {
	q, err := s.scanQuarantined(s.r.QueryRowContext(ctx, `SELECT `+quarantineColumns+` FROM quarantine WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "quarantined request %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: get quarantined: %w", err)
	}
	return q, nil
}

// ListQuarantined returns quarantined requests matching f, newest first.
func (s *Store) ListQuarantined(ctx context.Context, f hookwatch.QuarantineFilter) ([]*hookwatch.Quarantined, error) {
	c := newConds()
	if len(f.IDs) > 0 {
		c.Add("id IN (?"+strings.Repeat(", ?", len(f.IDs)-1)+")", anys(f.IDs)...)
	}
	if f.Source != "" {
		c.Add("source = ?", f.Source)
	}
	if f.Reason != "" {
		c.Add("reason = ?", f.Reason)
	}
	switch f.Status {
	case hookwatch.QuarantineHeld:
		c.Add("released_at = 0")
	case hookwatch.QuarantineReleased:
		c.Add("released_at <> 0")
	}
	if !f.Since.IsZero() {
		c.Add("received_at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		c.Add("received_at < ?", micros(f.Until))
	}
	if f.Before != "" {
		c.Add("id < ?", f.Before)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+quarantineColumns+` FROM quarantine WHERE `+c.Where()+
		` ORDER BY id DESC LIMIT `+c.Arg(sqlq.Limit(f.Limit, 100)), c.Args...)
	return collect(rows, err, "list quarantined", s.scanQuarantined)
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// MarkReleased records a release; see hookwatch.QuarantineStore.
func (s *Store) MarkReleased(ctx context.Context, r hookwatch.QuarantineRelease) error {
	res, err := s.w.ExecContext(ctx, `UPDATE quarantine SET released_at = ?, event_id = ?, released_by = ?, unverified = ?
		WHERE id = ? AND released_at = 0`, micros(r.At), r.EventID, r.By, r.Unverified, r.ID)
	if err != nil {
		return writeError("mark released", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return writeError("mark released", err)
	} else if n == 1 {
		return nil
	}
	var released int64
	err = s.w.QueryRowContext(ctx, `SELECT released_at FROM quarantine WHERE id = ?`, r.ID).Scan(&released)
	if errors.Is(err, sql.ErrNoRows) {
		return hookwatch.Errorf(hookwatch.ENOTFOUND, "quarantined request %s not found", r.ID)
	} else if err != nil {
		return writeError("mark released", err)
	}
	return hookwatch.Errorf(hookwatch.ECONFLICT, "quarantined request %s was already released", r.ID)
}

// PruneQuarantine applies the quarantine's bounds; see
// hookwatch.QuarantineStore.
func (s *Store) PruneQuarantine(ctx context.Context, b hookwatch.QuarantineBounds) (int, error) {
	var n int64
	prune := func(query string, args ...any) error {
		res, err := s.w.ExecContext(ctx, query, args...)
		if err != nil {
			return writeError("prune quarantine", err)
		}
		d, _ := res.RowsAffected()
		n += d
		return nil
	}
	if !b.Before.IsZero() {
		if err := prune(`DELETE FROM quarantine WHERE received_at < ?`, micros(b.Before)); err != nil {
			return int(n), err
		}
	}
	if b.MaxCount > 0 {
		// Everything older than the keep-th newest; NULL (nothing) when
		// there are fewer.
		if err := prune(`DELETE FROM quarantine WHERE id <
			(SELECT id FROM quarantine ORDER BY id DESC LIMIT 1 OFFSET ?)`, b.MaxCount-1); err != nil {
			return int(n), err
		}
	}
	if b.MaxBytes > 0 {
		// The newest request at which the running total, newest first,
		// exceeds the budget: it and everything older go. The sizes are
		// read from the (id, size) index, not from the rows and their
		// bodies.
		if err := prune(`DELETE FROM quarantine WHERE id <= (
			SELECT id FROM (SELECT id, sum(size) OVER (ORDER BY id DESC) AS total FROM quarantine INDEXED BY quarantine_size)
			WHERE total > ? ORDER BY id DESC LIMIT 1)`, b.MaxBytes); err != nil {
			return int(n), err
		}
	}
	return int(n), nil
}
