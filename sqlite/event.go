package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hookwatch/hookwatch"
)

// InsertEvents stores a batch in one transaction; see hookwatch.EventStore.
func (s *Store) InsertEvents(ctx context.Context, events []*hookwatch.Event) ([]hookwatch.InsertResult, error) {
	results := make([]hookwatch.InsertResult, len(events))
	if len(events) == 0 {
		return results, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, writeError("begin", err)
	}
	defer tx.Rollback()

	insEvent, err := tx.PrepareContext(ctx, `INSERT INTO events
		(id, source, provider, provider_event_id, type, headers, body, received_at, malformed, test, trace)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, writeError("prepare", err)
	}
	defer insEvent.Close()
	var insDelivery, claimKey *sql.Stmt
	now := micros(s.now())

	for i, e := range events {
		if e.ProviderEventID != "" {
			if claimKey == nil {
				// The upsert takes the key when it is new or expired; when
				// RETURNING yields no row the key is live: a duplicate.
				claimKey, err = tx.PrepareContext(ctx, `INSERT INTO dedupe (source, provider_event_id, event_id, expires_at)
					VALUES (?, ?, ?, ?)
					ON CONFLICT (source, provider_event_id) DO UPDATE
					SET event_id = excluded.event_id, expires_at = excluded.expires_at
					WHERE dedupe.expires_at <= ?
					RETURNING event_id`)
				if err != nil {
					return nil, writeError("prepare", err)
				}
				defer claimKey.Close()
			}
			until := e.DedupeUntil
			if until.IsZero() {
				until = e.ReceivedAt.Add(hookwatch.DefaultDedupeHorizon)
			}
			var got string
			err := claimKey.QueryRowContext(ctx, e.Source, e.ProviderEventID, e.ID, micros(until), micros(e.ReceivedAt)).Scan(&got)
			if errors.Is(err, sql.ErrNoRows) {
				var first string
				if err := tx.QueryRowContext(ctx, `SELECT event_id FROM dedupe WHERE source = ? AND provider_event_id = ?`, e.Source, e.ProviderEventID).Scan(&first); err != nil {
					return nil, writeError("dedupe lookup", err)
				}
				results[i] = hookwatch.InsertResult{Duplicate: true, ID: first}
				continue
			} else if err != nil {
				return nil, writeError("dedupe", err)
			}
		}
		headers, err := json.Marshal(e.Headers)
		if err != nil {
			return nil, fmt.Errorf("sqlite: encode headers: %w", err)
		}
		body := e.Body
		if body == nil {
			body = []byte{}
		}
		if _, err := insEvent.ExecContext(ctx, e.ID, e.Source, e.Provider, e.ProviderEventID, e.Type,
			headers, body, micros(e.ReceivedAt), e.Malformed, e.Test, e.Trace); err != nil {
			return nil, writeError("insert event", err)
		}
		for _, dest := range e.Destinations {
			if insDelivery == nil {
				insDelivery, err = tx.PrepareContext(ctx, `INSERT INTO deliveries
					(id, event_id, destination, next_attempt_at, created_at, updated_at)
					VALUES (?, ?, ?, ?, ?, ?)`)
				if err != nil {
					return nil, writeError("prepare", err)
				}
				defer insDelivery.Close()
			}
			id := hookwatch.NewID("dlv", e.ReceivedAt)
			if _, err := insDelivery.ExecContext(ctx, id, e.ID, dest, micros(e.ReceivedAt), now, now); err != nil {
				return nil, writeError("insert delivery", err)
			}
		}
		results[i] = hookwatch.InsertResult{ID: e.ID}
	}
	if err := tx.Commit(); err != nil {
		return nil, writeError("commit", err)
	}
	return results, nil
}

const eventColumns = `id, source, provider, provider_event_id, type, headers, body, received_at, malformed, test, trace`

// scanEvent reads a row of eventColumns.
func scanEvent(row interface{ Scan(...any) error }) (*hookwatch.Event, error) {
	var (
		e        hookwatch.Event
		headers  string
		received int64
	)
	if err := row.Scan(&e.ID, &e.Source, &e.Provider, &e.ProviderEventID, &e.Type, &headers, &e.Body,
		&received, &e.Malformed, &e.Test, &e.Trace); err != nil {
		return nil, err
	}
	e.ReceivedAt = fromMicros(received)
	e.Headers = http.Header{}
	if err := json.Unmarshal([]byte(headers), &e.Headers); err != nil {
		return nil, fmt.Errorf("sqlite: decode headers of %s: %w", e.ID, err)
	}
	return &e, nil
}

// GetEvent returns one event by ID.
func (s *Store) GetEvent(ctx context.Context, id string) (*hookwatch.Event, error) {
	e, err := scanEvent(s.r.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "event %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: get event: %w", err)
	}
	return e, nil
}

// ListEvents returns events matching f, newest first.
func (s *Store) ListEvents(ctx context.Context, f hookwatch.EventFilter) ([]*hookwatch.Event, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Source != "" {
		add("source = ?", f.Source)
	}
	if f.Type != "" {
		add("type = ?", f.Type)
	}
	if f.ProviderEventID != "" {
		add("provider_event_id = ?", f.ProviderEventID)
	}
	if !f.Since.IsZero() {
		add("received_at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("received_at < ?", micros(f.Until))
	}
	if f.Before != "" {
		add("id < ?", f.Before)
	}
	q := `SELECT ` + eventColumns + ` FROM events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list events: %w", err)
	}
	defer rows.Close()
	var out []*hookwatch.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list events: %w", err)
	}
	return out, nil
}
