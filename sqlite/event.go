package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
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
	// Read before the transaction: a subject is sealed under the
	// installation key when payloads are encrypted (hookwatch.StoredSubject).
	skey, err := s.storedSubjectKey(ctx)
	if err != nil {
		return nil, err
	}
	var fanned int64 = -1
	err = s.relaxedTx(ctx, "insert events", func(tx *sql.Tx) error {
		var err error
		fanned, err = s.insertEvents(ctx, tx, events, results, skey)
		return err
	})
	if err != nil {
		return nil, err
	}
	if fanned >= 0 {
		s.fan.covered(fanned)
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

// The statements of the group commit, prepared when the store opens
// (stmt.go). A batch is cut into multi-row statements of fixed shapes.
const (
	eventInsert = `INSERT INTO events
		(rowid, id, source, provider, provider_event_id, type, headers, body, received_at, malformed, test, trace, key_id, dedupe_id, dedupe_until, subject, destinations)
		VALUES `
	eventCols      = 17
	deliveryInsert = `INSERT INTO deliveries (id, event_id, destination, next_attempt_at, created_at, updated_at, order_key, order_at, order_error) VALUES `
	deliveryCols   = 9
)

// dedupeLookup reads the holders of n keys, live or expired: the events
// holding them, through probes of the events_dedupe index (0015), which
// covers the query, and the keys kept for removed events (dedupe_kept,
// 0016; usually empty, a probe of its root page). Its arguments are the n
// keys once; ?1 ... ?n serve both halves.
func dedupeLookup(n int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		b.WriteString("?" + strconv.Itoa(i))
	}
	b.WriteByte(')')
	in := b.String()
	return `SELECT dedupe_id, source, id, dedupe_until FROM events WHERE dedupe_id <> '' AND dedupe_id IN ` + in +
		` UNION ALL SELECT dedupe_id, source, event_id, dedupe_until FROM dedupe_kept WHERE dedupe_id IN ` + in
}

// insertStatements are the statements prepared for the group commit.
func insertStatements() []string {
	var out []string
	for _, n := range shapes {
		out = append(out, dedupeLookup(n), eventInsert+placeholders(n, eventCols), deliveryInsert+placeholders(n, deliveryCols))
	}
	return append(out, fanoutStatements()...)
}

// insertEvents writes the batch in tx and fills results.
//
// Dedupe: the key of an event (Event.DedupeID) is stored in its row with
// the time it stops deduplicating, and an event whose key is held by a
// live event (one stored before, or earlier in the batch, or one removed
// before its key expired, whose key is in dedupe_kept) is a duplicate of
// it. The check and the insert run in one transaction on the store's
// single writer connection, so two events with one live key are never both
// stored.
//
// The deliveries the events are owed are not created here: each event row
// keeps its destinations, and the fan-out (fanout.go) creates the delivery
// rows later, in larger batches. It runs here too, in this transaction,
// when this process is more than fanoutBehind events behind; then fanned is
// the fan.owed value it covered, else -1 (recorded by the caller once the
// transaction committed).
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, events []*hookwatch.Event, results []hookwatch.InsertResult, skey []byte) (fanned int64, err error) {
	// The keys held by stored and removed events, read a statement shape
	// at a time; expired holders come back too and are told apart below.
	type key struct{ source, id string }
	held := map[key][]holder{}
	var ids []any
	for _, e := range events {
		if k := e.DedupeID(); k != "" {
			if _, ok := held[key{e.Source, k}]; !ok {
				held[key{e.Source, k}] = nil
				ids = append(ids, k)
			}
		}
	}
	for _, n := range cut(len(ids)) {
		st, err := s.stmts.get(ctx, tx, dedupeLookup(n))
		if err != nil {
			return -1, writeError("dedupe", err)
		}
		rows, err := st.QueryContext(ctx, ids[:n]...)
		if err != nil {
			return -1, writeError("dedupe", err)
		}
		for rows.Next() {
			var (
				k     key
				h     holder
				until int64
			)
			if err := rows.Scan(&k.id, &k.source, &h.id, &until); err != nil {
				rows.Close()
				return -1, writeError("dedupe", err)
			}
			if hs, ok := held[k]; ok {
				h.until = until
				held[k] = append(hs, h)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return -1, writeError("dedupe", err)
		}
		ids = ids[n:]
	}
	stored := make([]int, 0, len(events))
	for i, e := range events {
		k := e.DedupeID()
		if k == "" {
			stored = append(stored, i)
			results[i] = hookwatch.InsertResult{ID: e.ID}
			continue
		}
		// Live: a holder whose key expires after this event arrived (a
		// holder earlier in this batch is live until its own expiry).
		at := micros(e.ReceivedAt)
		if first, ok := live(held[key{e.Source, k}], at); ok {
			results[i] = hookwatch.InsertResult{Duplicate: true, ID: first}
			continue
		}
		held[key{e.Source, k}] = append(held[key{e.Source, k}], holder{id: e.ID, until: dedupeUntil(e)})
		stored = append(stored, i)
		results[i] = hookwatch.InsertResult{ID: e.ID}
	}

	if len(stored) == 0 {
		return -1, nil // all duplicates
	}
	// The events, with rowids above the largest and the fan-out cursor
	// (fanout.go), and their destinations.
	base, err := s.stmts.get(ctx, tx, fanoutBase)
	if err != nil {
		return -1, writeError("insert events: rowid", err)
	}
	var rowid int64
	if err := base.QueryRowContext(ctx).Scan(&rowid); err != nil {
		return -1, writeError("insert events: rowid", err)
	}
	var owed int64
	args := make([]any, 0, eventCols*min(len(stored), shapes[0]))
	rest := stored
	for _, n := range cut(len(stored)) {
		args = args[:0]
		for _, i := range rest[:n] {
			e := events[i]
			headers, body, keyID, err := s.cipher.SealPayload("events", e.ID, e.Headers, e.Body)
			if err != nil {
				return -1, fmt.Errorf("sqlite: insert events: %w", err)
			}
			dests, err := encodeDestinations(e.Destinations, e.Orders)
			if err != nil {
				return -1, fmt.Errorf("sqlite: insert events: destinations: %w", err)
			}
			if dests != "" {
				owed++
			}
			rowid++
			args = append(args, rowid, e.ID, e.Source, e.Provider, e.ProviderEventID, e.Type,
				headers, body, micros(e.ReceivedAt), e.Malformed, e.Test, e.Trace, keyID, e.DedupeID(), dedupeUntil(e), hookwatch.StoredSubject(skey, e.Subject), dests)
		}
		rest = rest[n:]
		if err := s.execShape(ctx, tx, eventInsert, n, eventCols, args); err != nil {
			return -1, writeError("insert events", err)
		}
	}
	if err := s.insertFiltered(ctx, tx, events, stored); err != nil {
		return -1, err
	}
	if owed == 0 {
		return -1, nil
	}
	// Counted inside the transaction: a fan-out that reads fan.owed before
	// its own transaction begins and sees this batch runs after this commit.
	total := s.fan.owed.Add(owed)
	if total-s.fan.fanned.Load() <= fanoutBehind {
		return -1, nil
	}
	done, err := s.fanOutTx(ctx, tx, fanoutBatch)
	if err != nil || !done {
		return -1, err
	}
	return total, nil
}

// insertFiltered stores the routes whose filters left stored events out
// (Event.Filtered): one statement for the batch, only when it has any. The
// errors are sealed when the store encrypts (encrypt.SealFilterError).
func (s *Store) insertFiltered(ctx context.Context, tx *sql.Tx, events []*hookwatch.Event, stored []int) error {
	var args []any
	for _, i := range stored {
		e := events[i]
		for _, f := range e.Filtered {
			msg, sealed, keyID, err := s.cipher.SealFilterError(e.ID, f.Route, f.Err)
			if err != nil {
				return fmt.Errorf("sqlite: insert event filters: %w", err)
			}
			args = append(args, e.ID, f.Route, strings.Join(f.Destinations, ","), msg, sealed, keyID)
		}
	}
	if len(args) == 0 {
		return nil
	}
	q := `INSERT INTO event_filters (event_id, route, destinations, error, error_sealed, key_id) VALUES ` + placeholders(len(args)/6, 6)
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return writeError("insert event filters", err)
	}
	return nil
}

// EventFilters returns the routes whose filters left the event out.
func (s *Store) EventFilters(ctx context.Context, id string) ([]hookwatch.Filtered, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT route, destinations, error, error_sealed, key_id FROM event_filters WHERE event_id = ? ORDER BY route`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: event filters: %w", err)
	}
	defer rows.Close()
	var out []hookwatch.Filtered
	for rows.Next() {
		var (
			f            hookwatch.Filtered
			dests, keyID string
			msg          string
			sealed       []byte
		)
		if err := rows.Scan(&f.Route, &dests, &msg, &sealed, &keyID); err != nil {
			return nil, fmt.Errorf("sqlite: event filters: %w", err)
		}
		if f.Err, err = s.cipher.OpenFilterError(id, f.Route, keyID, msg, sealed); err != nil {
			return nil, fmt.Errorf("sqlite: event filters of %s: %w", id, err)
		}
		f.Destinations = strings.Split(dests, ",")
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: event filters: %w", err)
	}
	return out, nil
}

// holder is an event holding a dedupe key, and when the key expires.
type holder struct {
	id    string
	until int64
}

// live returns the holder whose key is live at at (microseconds).
func live(hs []holder, at int64) (string, bool) {
	for _, h := range hs {
		if h.until > at {
			return h.id, true
		}
	}
	return "", false
}

// dedupeUntil is when e's dedupe key stops deduplicating, in microseconds
// (0 for an event without a key).
func dedupeUntil(e *hookwatch.Event) int64 {
	switch {
	case e.DedupeID() == "":
		return 0
	case e.DedupeUntil.IsZero():
		return micros(e.ReceivedAt.Add(hookwatch.DefaultDedupeHorizon))
	}
	return micros(e.DedupeUntil)
}

// execShape runs the prepared statement prefix + n rows of cols columns.
func (s *Store) execShape(ctx context.Context, tx *sql.Tx, prefix string, n, cols int, args []any) error {
	st, err := s.stmts.get(ctx, tx, prefix+placeholders(n, cols))
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
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

const eventColumns = `id, source, provider, provider_event_id, type, headers, body, received_at, malformed, test, trace, key_id, subject`

// scanEvent reads a row of eventColumns, decrypting its headers and body.
func (s *Store) scanEvent(row interface{ Scan(...any) error }) (*hookwatch.Event, error) {
	var (
		e              hookwatch.Event
		headers, keyID string
		received       int64
	)
	if err := row.Scan(&e.ID, &e.Source, &e.Provider, &e.ProviderEventID, &e.Type, &headers, &e.Body,
		&received, &e.Malformed, &e.Test, &e.Trace, &keyID, &e.Subject); err != nil {
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
		// Through events_dedupe: an event's dedupe key is its provider ID,
		// except for sources with dedupe: body (keys "sha256:...").
		// (Written as a subquery: with an OR, the planner scanned the
		// table in id order instead.)
		c.Add(`id IN (SELECT id FROM events WHERE dedupe_id = ? AND dedupe_id <> ''
			UNION ALL SELECT id FROM events WHERE dedupe_id >= 'sha256:' AND dedupe_id < 'sha256;' AND dedupe_id <> '')
			AND provider_event_id = ?`, f.ProviderEventID, f.ProviderEventID)
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
	order := "DESC"
	if f.After != "" {
		c.Add("id > ?", f.After)
		order = "ASC" // paging forward, in receive order
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE `+c.Where()+
		` ORDER BY id `+order+` LIMIT `+c.Arg(sqlq.Limit(f.Limit, 100)), c.Args...)
	return collect(rows, err, "list events", s.scanEvent)
}

// PruneDedupe forgets at most limit keys of removed events (dedupe_kept)
// that expired at or before before; see hookwatch.EventStore. The keys of
// stored events expire in place (0015) and go with their events.
func (s *Store) PruneDedupe(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := s.Recovering(); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, nil
	}
	var n int64
	err := s.relaxedTx(ctx, "prune dedupe", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dedupe_kept WHERE (dedupe_id, source) IN
			(SELECT dedupe_id, source FROM dedupe_kept WHERE dedupe_until <= ? ORDER BY dedupe_until LIMIT ?)`, micros(before), limit)
		if err != nil {
			return writeError("prune dedupe", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// keepDedupeKeys copies the live dedupe keys of the events ids (in, their
// placeholders) into dedupe_kept, in tx, before they are deleted: a
// provider's retry is a duplicate until the key's horizon, whatever removed
// the event (docs/configuration.md, "Dedupe wins"). A key is kept when it
// is live at now, the time of the removal (the caller's clock: retention's
// and purges' requests carry it). When two removed events hold one key (the
// first's expired before the second came), the later expiry wins.
func (s *Store) keepDedupeKeys(ctx context.Context, tx *sql.Tx, in string, ids []any, now time.Time) error {
	args := append(append(make([]any, 0, len(ids)+1), ids...), micros(now))
	if _, err := tx.ExecContext(ctx, `INSERT INTO dedupe_kept (dedupe_id, source, event_id, dedupe_until)
		SELECT dedupe_id, source, id, dedupe_until FROM events WHERE id IN (`+in+`) AND dedupe_id <> '' AND dedupe_until > ?
		ON CONFLICT (dedupe_id, source) DO UPDATE SET event_id = excluded.event_id, dedupe_until = excluded.dedupe_until
			WHERE excluded.dedupe_until > dedupe_kept.dedupe_until`, args...); err != nil {
		return writeError("keep dedupe keys", err)
	}
	return nil
}
