package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
)

// InsertEvents stores a batch in one transaction; see hookwatch.EventStore.
//
// Each table gets one multi-row statement per chunk of the batch rather than
// one statement per row: on the single writer connection the per-statement
// overhead, not SQLite's B-tree work, dominated the group commit.
func (s *Store) InsertEvents(ctx context.Context, events []*hookwatch.Event) ([]hookwatch.InsertResult, error) {
	results := make([]hookwatch.InsertResult, len(events))
	if len(events) == 0 {
		return results, nil
	}
	// The transaction commits with synchronous=NORMAL on the writer
	// connection, which is then free for the next batch; the batch is
	// durable, and InsertEvents returns, once an fsync of the WAL covers it.
	//
	// The epoch is sampled before the transaction begins: if the store
	// reopens after an fsync failure before the batch is synced, the batch
	// is not acknowledged (sync.go), since recovery decided whether it
	// survived. While the store is down, fail at once.
	epoch := s.wal.epoch.Load()
	if err := s.Recovering(); err != nil {
		return nil, err
	}
	err := s.relaxedTx(ctx, "insert events", func(tx *sql.Tx) error {
		return s.insertEvents(ctx, tx, events, results)
	})
	if err != nil {
		return nil, err
	}
	// Counted only now that the commit returned: a sync that sees this
	// number knows the batch's frames are written. After a failed fsync the
	// batch may still be in the store (its frames were written, and the
	// reopen may keep them) though it is answered with an error: a
	// provider's retry is then answered as a duplicate of it.
	if err := s.wal.sync(epoch, s.wal.committed()); err != nil {
		return nil, err
	}
	return results, nil
}

// insertEvents writes the batch in tx and fills results.
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, events []*hookwatch.Event, results []hookwatch.InsertResult) error {
	// 1. Dedupe: the upsert takes each key that is new or expired and returns
	// the event IDs that took theirs; an event whose ID is not returned found
	// its key live (stored before, or earlier in this batch): a duplicate.
	var keyed []int
	for i, e := range events {
		if e.DedupeID() != "" {
			keyed = append(keyed, i)
		}
	}
	dup := make([]bool, len(events))
	if len(keyed) > 0 {
		claimed := make(map[string]bool, len(keyed))
		for _, chunk := range chunks(keyed, 200) {
			// A live key expires for the chunk when the earliest event of the
			// chunk arrived after its expiry: a batch spans milliseconds, and
			// erring this way never forgets a key early.
			args := make([]any, 0, 4*len(chunk)+1)
			earliest := events[chunk[0]].ReceivedAt
			for _, i := range chunk {
				e := events[i]
				until := e.DedupeUntil
				if until.IsZero() {
					until = e.ReceivedAt.Add(hookwatch.DefaultDedupeHorizon)
				}
				if e.ReceivedAt.Before(earliest) {
					earliest = e.ReceivedAt
				}
				args = append(args, e.Source, e.DedupeID(), e.ID, micros(until))
			}
			args = append(args, micros(earliest))
			rows, err := tx.QueryContext(ctx, `INSERT INTO dedupe (source, provider_event_id, event_id, expires_at) `+
				`VALUES `+placeholders(len(chunk), 4)+`
				ON CONFLICT (source, provider_event_id) DO UPDATE
				SET event_id = excluded.event_id, expires_at = excluded.expires_at
				WHERE dedupe.expires_at <= ?
				RETURNING event_id`, args...)
			if err != nil {
				return writeError("dedupe", err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return writeError("dedupe", err)
				}
				claimed[id] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return writeError("dedupe", err)
			}
		}
		for _, i := range keyed {
			if claimed[events[i].ID] {
				continue
			}
			e := events[i]
			var first string
			if err := tx.QueryRowContext(ctx, `SELECT event_id FROM dedupe WHERE source = ? AND provider_event_id = ?`, e.Source, e.DedupeID()).Scan(&first); err != nil {
				return writeError("dedupe lookup", err)
			}
			dup[i] = true
			results[i] = hookwatch.InsertResult{Duplicate: true, ID: first}
		}
	}

	// 2. Events, and 3. one pending delivery per destination.
	var stored []int
	for i := range events {
		if !dup[i] {
			stored = append(stored, i)
			results[i] = hookwatch.InsertResult{ID: events[i].ID}
		}
	}
	now := micros(s.now())
	var deliveryArgs []any
	for _, chunk := range chunks(stored, 200) {
		args := make([]any, 0, 12*len(chunk))
		for _, i := range chunk {
			e := events[i]
			headers, body, keyID, err := s.cipher.SealPayload("events", e.ID, e.Headers, e.Body)
			if err != nil {
				return fmt.Errorf("sqlite: insert events: %w", err)
			}
			args = append(args, e.ID, e.Source, e.Provider, e.ProviderEventID, e.Type,
				headers, body, micros(e.ReceivedAt), e.Malformed, e.Test, e.Trace, keyID)
			for _, dest := range e.Destinations {
				deliveryArgs = append(deliveryArgs, hookwatch.NewID("dlv", e.ReceivedAt), e.ID, dest, micros(e.ReceivedAt), now, now)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO events
			(id, source, provider, provider_event_id, type, headers, body, received_at, malformed, test, trace, key_id)
			VALUES `+placeholders(len(chunk), 12), args...); err != nil {
			return writeError("insert events", err)
		}
	}
	const perDelivery = 6
	for len(deliveryArgs) > 0 {
		n := min(len(deliveryArgs)/perDelivery, 500)
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries
			(id, event_id, destination, next_attempt_at, created_at, updated_at)
			VALUES `+placeholders(n, perDelivery), deliveryArgs[:n*perDelivery]...); err != nil {
			return writeError("insert deliveries", err)
		}
		deliveryArgs = deliveryArgs[n*perDelivery:]
	}
	return nil
}

// chunks splits idx into slices of at most n (SQLite caps the number of
// parameters of one statement).
func chunks(idx []int, n int) [][]int {
	var out [][]int
	for len(idx) > n {
		out = append(out, idx[:n])
		idx = idx[n:]
	}
	if len(idx) > 0 {
		out = append(out, idx)
	}
	return out
}

// placeholders returns "(?, ?), (?, ?)" for rows rows of cols columns.
func placeholders(rows, cols int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	var b strings.Builder
	b.Grow(rows * (len(row) + 2))
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

const eventColumns = `id, source, provider, provider_event_id, type, headers, body, received_at, malformed, test, trace, key_id`

// scanEvent reads a row of eventColumns, decrypting its headers and body.
func (s *Store) scanEvent(row interface{ Scan(...any) error }) (*hookwatch.Event, error) {
	var (
		e              hookwatch.Event
		headers, keyID string
		received       int64
	)
	if err := row.Scan(&e.ID, &e.Source, &e.Provider, &e.ProviderEventID, &e.Type, &headers, &e.Body,
		&received, &e.Malformed, &e.Test, &e.Trace, &keyID); err != nil {
		return nil, err
	}
	e.ReceivedAt = fromMicros(received)
	var err error
	if e.Headers, e.Body, err = s.cipher.OpenPayload("events", e.ID, keyID, headers, e.Body); err != nil {
		return nil, fmt.Errorf("sqlite: event %s: %w", e.ID, err)
	}
	return &e, nil
}

// GetEvent returns one event by ID.
func (s *Store) GetEvent(ctx context.Context, id string) (*hookwatch.Event, error) {
	e, err := s.scanEvent(s.r.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "event %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: get event: %w", err)
	}
	return e, nil
}

// ListEvents returns events matching f, newest first.
func (s *Store) ListEvents(ctx context.Context, f hookwatch.EventFilter) ([]*hookwatch.Event, error) {
	c := newConds()
	if f.Source != "" {
		c.Add("source = ?", f.Source)
	}
	if f.Type != "" {
		c.Add("type = ?", f.Type)
	}
	if f.ProviderEventID != "" {
		c.Add("provider_event_id = ?", f.ProviderEventID)
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
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE `+c.Where()+
		` ORDER BY id DESC LIMIT `+c.Arg(sqlq.Limit(f.Limit, 100)), c.Args...)
	return collect(rows, err, "list events", s.scanEvent)
}

// PruneDedupe forgets expired dedupe keys; see hookwatch.EventStore.
func (s *Store) PruneDedupe(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM dedupe WHERE (source, provider_event_id) IN
		(SELECT source, provider_event_id FROM dedupe WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`, micros(before), limit)
	if err != nil {
		return 0, writeError("prune dedupe", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
