package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// insertBatch writes a whole ingest batch in one statement, so one round
// trip and one commit whatever the batch size. A single statement is its
// own transaction: it stores all of the batch or nothing.
//
// keys takes the dedupe key of each event that carries one (in-batch
// duplicates already removed, sorted so that concurrent batches lock keys
// in the same order and cannot deadlock). A key that is new or expired is
// taken for the proposed event; a live key is left as it is. The update
// always happens, so that RETURNING yields the key's event ID in both cases:
// the proposed ID means taken, another ID means duplicate of that one.
//
// ev inserts the events without a key and those whose key was taken (dk is
// an event's Event.DedupeID); dl inserts the deliveries of the events
// inserted; fl the routes whose filters left inserted events out
// (Event.Filtered).
const insertBatch = `
WITH keys AS (
    INSERT INTO dedupe AS d (source, provider_event_id, event_id, expires_at, received_at)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
    ON CONFLICT (source, provider_event_id) DO UPDATE SET
        event_id    = CASE WHEN d.expires_at <= excluded.received_at THEN excluded.event_id    ELSE d.event_id    END,
        expires_at  = CASE WHEN d.expires_at <= excluded.received_at THEN excluded.expires_at  ELSE d.expires_at  END,
        received_at = CASE WHEN d.expires_at <= excluded.received_at THEN excluded.received_at ELSE d.received_at END
    RETURNING d.source, d.provider_event_id, d.event_id
), ev AS (
    INSERT INTO events (id, source, provider, provider_event_id, type, headers, body, received_at, malformed, test, trace, key_id, subject)
    SELECT e.id, e.source, e.provider, e.pid, e.type, e.headers, e.body, e.received_at, e.malformed, e.test, e.trace, e.key_id, e.subject
    FROM unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bytea[],
                $13::timestamptz[], $14::bool[], $15::bool[], $16::text[], $22::text[], $23::text[], $24::text[])
        AS e(id, source, provider, pid, type, headers, body, received_at, malformed, test, trace, dk, key_id, subject)
    WHERE e.dk = '' OR e.id IN (SELECT event_id FROM keys)
    RETURNING id
), dl AS (
    INSERT INTO deliveries (id, event_id, destination, next_attempt_at, created_at, updated_at, order_key, order_at, order_error)
    SELECT x.id, x.event_id, x.destination, x.next_attempt_at, $21::timestamptz, $21::timestamptz, x.order_key, x.next_attempt_at, x.order_error
    FROM unnest($17::text[], $18::text[], $19::text[], $20::timestamptz[], $25::text[], $26::text[])
        AS x(id, event_id, destination, next_attempt_at, order_key, order_error)
    WHERE x.event_id IN (SELECT id FROM ev)
), fl AS (
    INSERT INTO event_filters (event_id, route, destinations, error, error_sealed, key_id)
    SELECT f.event_id, f.route, f.destinations, f.error, f.sealed, f.key_id
    FROM unnest($27::text[], $28::int[], $29::text[], $30::text[], $31::bytea[], $32::text[]) AS f(event_id, route, destinations, error, sealed, key_id)
    WHERE f.event_id IN (SELECT id FROM ev)
)
SELECT source, provider_event_id, event_id FROM keys`

// dedupeKey is one (source, Event.DedupeID) of a batch.
type dedupeKey struct{ source, id string }

// InsertEvents stores a batch in one statement; see hookwatch.EventStore.
func (s *Store) InsertEvents(ctx context.Context, events []*hookwatch.Event) ([]hookwatch.InsertResult, error) {
	results := make([]hookwatch.InsertResult, len(events))
	if len(events) == 0 {
		return results, nil
	}
	n := len(events)
	var (
		ids, sources, providers, pids, types, headers, traces = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		subjects                                              = make([]string, n)
		bodies                                                = make([][]byte, n)
		keys                                                  = make([]string, n) // Event.DedupeID
		keyIDs                                                = make([]string, n) // encryption key IDs
		received                                              = make([]time.Time, n)
		malformed, test                                       = make([]bool, n), make([]bool, n)
		dlvIDs, dlvEvents, dlvDests                           []string
		dlvKeys, dlvKeyErrors                                 []string
		dlvNext                                               []time.Time
		flEvents, flDests, flErrs, flKeyIDs                   []string
		flSealed                                              [][]byte
		flRoutes                                              []int32
		first                                                 = map[dedupeKey]int{} // key -> index of the first event with it
		order                                                 []int                 // indexes of first events with a key
	)
	skey, err := s.storedSubjectKey(ctx)
	if err != nil {
		return nil, err
	}
	for i, e := range events {
		h, body, keyID, err := s.cipher.SealPayload("events", e.ID, e.Headers, e.Body)
		if err != nil {
			return nil, fmt.Errorf("postgres: insert events: %w", err)
		}
		ids[i], sources[i], providers[i], pids[i] = e.ID, text(e.Source), text(e.Provider), text(e.ProviderEventID)
		types[i], headers[i], traces[i], subjects[i] = text(e.Type), h, text(e.Trace), hookwatch.StoredSubject(skey, text(e.Subject))
		bodies[i], keyIDs[i] = body, keyID
		received[i], malformed[i], test[i] = e.ReceivedAt, e.Malformed, e.Test
		if keys[i] = text(e.DedupeID()); keys[i] != "" {
			k := dedupeKey{sources[i], keys[i]}
			if _, ok := first[k]; !ok {
				first[k] = i
				order = append(order, i)
			}
		}
		for j, d := range e.Destinations {
			o := e.OrderOf(j)
			dlvKeys, dlvKeyErrors = append(dlvKeys, text(o.Key)), append(dlvKeyErrors, text(o.Error))
			dlvIDs = append(dlvIDs, hookwatch.NewID("dlv", e.ReceivedAt))
			dlvEvents = append(dlvEvents, e.ID)
			dlvDests = append(dlvDests, text(d))
			dlvNext = append(dlvNext, e.ReceivedAt)
		}
		for _, f := range e.Filtered {
			flEvents = append(flEvents, e.ID)
			flRoutes = append(flRoutes, int32(f.Route))
			flDests = append(flDests, text(strings.Join(f.Destinations, ",")))
			msg, sealed, keyID, err := s.cipher.SealFilterError(e.ID, f.Route, text(f.Err))
			if err != nil {
				return nil, fmt.Errorf("postgres: insert events: filter error: %w", err)
			}
			flErrs, flSealed, flKeyIDs = append(flErrs, msg), append(flSealed, sealed), append(flKeyIDs, keyID)
		}
	}
	sort.Slice(order, func(a, b int) bool {
		ka, kb := order[a], order[b]
		if sources[ka] != sources[kb] {
			return sources[ka] < sources[kb]
		}
		return keys[ka] < keys[kb]
	})
	kSources, kIDs, kEvents := make([]string, len(order)), make([]string, len(order)), make([]string, len(order))
	kExpires, kReceived := make([]time.Time, len(order)), make([]time.Time, len(order))
	for j, i := range order {
		e := events[i]
		until := e.DedupeUntil
		if until.IsZero() {
			until = e.ReceivedAt.Add(hookwatch.DefaultDedupeHorizon)
		}
		kSources[j], kIDs[j], kEvents[j], kExpires[j], kReceived[j] = sources[i], keys[i], e.ID, until, e.ReceivedAt
	}
	args := []any{kSources, kIDs, kEvents, kExpires, kReceived,
		ids, sources, providers, pids, types, headers, bodies, received, malformed, test, traces,
		dlvIDs, dlvEvents, dlvDests, dlvNext, s.now(), keys, keyIDs, subjects, dlvKeys, dlvKeyErrors,
		flEvents, flRoutes, flDests, flErrs, flSealed, flKeyIDs}

	holder := make(map[dedupeKey]string, len(order)) // key -> event ID holding it
	err = retry(ctx, func() error {
		clear(holder)
		rows, err := s.pool.Query(ctx, insertBatch, args...)
		if err != nil {
			return err
		}
		var k dedupeKey
		var id string
		_, err = pgx.ForEachRow(rows, []any{&k.source, &k.id, &id}, func() error {
			holder[k] = id
			return nil
		})
		return err
	})
	if err != nil {
		return nil, storeError("insert events", err)
	}
	for i, e := range events {
		if keys[i] == "" {
			results[i] = hookwatch.InsertResult{ID: e.ID}
			continue
		}
		id, ok := holder[dedupeKey{sources[i], keys[i]}]
		if !ok {
			return nil, fmt.Errorf("postgres: insert events: no dedupe row returned for %s", e.ID)
		}
		results[i] = hookwatch.InsertResult{ID: id, Duplicate: id != e.ID}
	}
	return results, nil
}

// retry runs f again (up to three times in all) when it failed on a
// deadlock or a serialization failure: f is one statement, so a failed run
// left nothing behind.
func retry(ctx context.Context, f func() error) error {
	var err error
	for range 3 {
		err = f()
		var pe *pgconn.PgError
		if err == nil || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// text makes s storable in a text column: PostgreSQL rejects NUL bytes and
// invalid UTF-8, and one odd provider event ID must not fail a whole batch.
func text(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

const eventColumns = `id, source, provider, provider_event_id, type, headers, body, received_at, malformed, test, trace, key_id, subject`

// eventDest returns a new event, the scan destinations of eventColumns for
// it, and a function to call after the scan (which decrypts the headers
// and body).
func (s *Store) eventDest() (*hookwatch.Event, []any, func() error) {
	var (
		e              = &hookwatch.Event{}
		headers, keyID string
	)
	dest := []any{&e.ID, &e.Source, &e.Provider, &e.ProviderEventID, &e.Type, &headers, &e.Body,
		&e.ReceivedAt, &e.Malformed, &e.Test, &e.Trace, &keyID, &e.Subject}
	return e, dest, func() error {
		e.ReceivedAt = e.ReceivedAt.UTC()
		var err error
		if e.Headers, e.Body, err = s.cipher.OpenPayload("events", e.ID, keyID, headers, e.Body); err != nil {
			return fmt.Errorf("event %s: %w", e.ID, err)
		}
		return nil
	}
}

// scanEvent reads a row of eventColumns.
func (s *Store) scanEvent(row pgx.Row) (*hookwatch.Event, error) {
	e, dest, after := s.eventDest()
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	return e, after()
}

// GetEvent returns one event by ID.
func (s *Store) GetEvent(ctx context.Context, id string) (*hookwatch.Event, error) {
	e, err := s.scanEvent(s.pool.QueryRow(ctx, `SELECT `+eventColumns+` FROM events WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "event %s not found", id)
	} else if err != nil {
		return nil, storeError("get event", err)
	}
	return e, nil
}

// EventFilters returns the routes whose filters left the event out.
func (s *Store) EventFilters(ctx context.Context, id string) ([]hookwatch.Filtered, error) {
	rows, err := s.pool.Query(ctx, `SELECT route, destinations, error, error_sealed, key_id FROM event_filters WHERE event_id = $1 ORDER BY route`, id)
	if err != nil {
		return nil, storeError("event filters", err)
	}
	var out []hookwatch.Filtered
	var (
		route int32
		dests string
		msg   string
		seal  []byte
		keyID string
	)
	_, err = pgx.ForEachRow(rows, []any{&route, &dests, &msg, &seal, &keyID}, func() error {
		m, err := s.cipher.OpenFilterError(id, int(route), keyID, msg, seal)
		if err != nil {
			return fmt.Errorf("of %s: %w", id, err)
		}
		out = append(out, hookwatch.Filtered{Route: int(route), Destinations: strings.Split(dests, ","), Err: m})
		return nil
	})
	if err != nil {
		return nil, storeError("event filters", err)
	}
	return out, nil
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
		c.Add("received_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		c.Add("received_at < ?", f.Until)
	}
	if f.Before != "" {
		c.Add("id < ?", f.Before)
	}
	order := "DESC"
	if f.After != "" {
		c.Add("id > ?", f.After)
		order = "ASC" // paging forward, in receive order
	}
	q := `SELECT ` + eventColumns + ` FROM events WHERE ` + c.Where() + ` ORDER BY id ` + order + ` LIMIT ` + c.Arg(sqlq.Limit(f.Limit, 100))
	rows, err := s.pool.Query(ctx, q, c.Args...)
	if err != nil {
		return nil, storeError("list events", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookwatch.Event, error) { return s.scanEvent(row) })
	if err != nil {
		return nil, storeError("list events", err)
	}
	return out, nil
}

// PruneDedupe forgets expired dedupe keys; see hookwatch.EventStore.
func (s *Store) PruneDedupe(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM dedupe WHERE ctid IN
		(SELECT ctid FROM dedupe WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)`, before, limit)
	if err != nil {
		return 0, storeError("prune dedupe", err)
	}
	return int(tag.RowsAffected()), nil
}
