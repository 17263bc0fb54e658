package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
)

// The delivery queue. Every write goes through the single writer connection
// with BEGIN IMMEDIATE (_txlock=immediate), so a claim's select-and-lease is
// one serialised transaction: two claimers can never lease the same row.
//
// Claims, finishes and releases commit with synchronous=NORMAL: atomic and
// surviving a process crash (the WAL is in the OS cache), but not fsynced one
// by one; the next event commit (synchronous=FULL) syncs them too. A power
// loss can forget the last few outcomes, and a forgotten outcome only means
// a delivery is sent again (at least once), never lost. Events themselves
// are always committed with FULL. Without this, three fsync streams (ingest,
// claims, finishes) share one disk and delivery stalls at a few hundred/s.

// relaxedTx runs fn in a write transaction committed with
// synchronous=NORMAL, on the writer connection held for the duration so no
// other write runs with the relaxed setting.
func (s *Store) relaxedTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return writeError(op+": conn", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=NORMAL"); err != nil {
		return writeError(op+": pragma", err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.Background(), "PRAGMA synchronous=FULL"); err != nil {
			// Never hand a relaxed connection back to the ingest path.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
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

const deliveryColumns = `id, event_id, destination, status, attempts, next_attempt_at, lease_owner, lease_until,
	last_class, last_status, last_error, created_at, updated_at, queued_at, completed_at, order_key, order_error`

func scanDelivery(row interface{ Scan(...any) error }) (*hookwatch.Delivery, error) {
	var (
		d                                                  hookwatch.Delivery
		status, class                                      string
		next, lease, created, updated, queued, completedAt int64
	)
	if err := row.Scan(&d.ID, &d.EventID, &d.Destination, &status, &d.Attempts, &next, &d.LeaseOwner, &lease,
		&class, &d.LastStatus, &d.LastError, &created, &updated, &queued, &completedAt, &d.OrderKey, &d.OrderError); err != nil {
		return nil, err
	}
	d.Status, d.LastClass = hookwatch.DeliveryStatus(status), hookwatch.ErrorClass(class)
	d.NextAttemptAt, d.LeaseUntil = fromMicros(next), fromMicros(lease)
	d.CreatedAt, d.UpdatedAt, d.CompletedAt = fromMicros(created), fromMicros(updated), fromMicros(completedAt)
	d.QueuedAt = fromMicros(queued)
	if queued == 0 {
		d.QueuedAt = d.CreatedAt
	}
	return &d, nil
}

// ClaimDeliveries leases due deliveries; see hookwatch.DeliveryStore.
func (s *Store) ClaimDeliveries(ctx context.Context, r hookwatch.ClaimRequest) ([]*hookwatch.Delivery, error) {
	if r.Limit <= 0 {
		return nil, nil
	}
	var out, dead []*hookwatch.Delivery
	var attempts []*hookwatch.Attempt
	err := s.relaxedTx(ctx, "claim", func(tx *sql.Tx) error {
		var err error
		out, dead, attempts, err = s.claimTx(ctx, tx, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	if r.DeadLettered != nil {
		for i, d := range dead {
			r.DeadLettered(d, attempts[i])
		}
	}
	hookwatch.SortDue(out)
	return out, nil
}

// unreadable dead-letters, in tx, the claimed deliveries in ds whose event
// exists but does not open, and returns the others, then the dead-lettered
// ones and their attempts.
func (s *Store) unreadable(ctx context.Context, tx *sql.Tx, r hookwatch.ClaimRequest, ds []*hookwatch.Delivery,
	events map[string]*hookwatch.Event) ([]*hookwatch.Delivery, []*hookwatch.Delivery, []*hookwatch.Attempt, error) {
	var (
		keep, dead []*hookwatch.Delivery
		attempts   []*hookwatch.Attempt
		fs         []hookwatch.Finish
	)
	for _, d := range ds {
		if events[d.EventID] != nil {
			keep = append(keep, d)
			continue
		}
		var (
			e              = &hookwatch.Event{ID: d.EventID}
			headers, keyID string
			body           []byte
			received       int64
		)
		err := tx.QueryRowContext(ctx, `SELECT source, provider, type, received_at, test, trace, key_id, headers, body FROM events WHERE id = ?`,
			d.EventID).Scan(&e.Source, &e.Provider, &e.Type, &received, &e.Test, &e.Trace, &keyID, &headers, &body)
		if errors.Is(err, sql.ErrNoRows) {
			keep = append(keep, d) // no event at all: the engine records that
			continue
		} else if err != nil {
			return nil, nil, nil, writeError("claim: events", err)
		}
		_, _, err = s.cipher.OpenPayload("events", d.EventID, keyID, headers, body)
		if err == nil {
			return nil, nil, nil, hookwatch.Errorf(hookwatch.EINTERNAL, "sqlite: claim: event %s did not read but opens", d.EventID)
		}
		e.ReceivedAt = fromMicros(received)
		a := &hookwatch.Attempt{DeliveryID: d.ID, Owner: r.Owner, At: r.Now, Class: hookwatch.ClassUnknown,
			Error: hookwatch.UnreadableEvent(keyID, err)}
		fs = append(fs, hookwatch.Finish{Owner: r.Owner, Attempt: *a, Outcome: hookwatch.OutcomeDead})
		d.Event, d.Status, d.Attempts, d.LeaseOwner, d.LeaseUntil = e, hookwatch.DeliveryDead, d.Attempts+1, "", time.Time{}
		d.LastClass, d.LastStatus, d.LastError, d.CompletedAt = a.Class, 0, a.Error, r.Now
		dead, attempts = append(dead, d), append(attempts, a)
	}
	if len(fs) == 0 {
		return keep, nil, nil, nil
	}
	results := make([]error, len(fs))
	if err := s.finishTx(ctx, tx, fs, results); err != nil {
		return nil, nil, nil, err
	}
	for _, err := range results {
		if err != nil {
			return nil, nil, nil, fmt.Errorf("sqlite: claim: dead-letter unreadable event: %w", err)
		}
	}
	return keep, dead, attempts, nil
}

// olderOfKey selects a delivery of d's destination and ordering key
// received before d (event receive time, then event ID) whose status is
// pending or its one argument (holdStatus): one that d waits behind. It
// probes deliveries_order (0018); order_key <> ” lets SQLite use that
// partial index.
const olderOfKey = `SELECT 1 FROM deliveries o
	WHERE o.destination = d.destination AND o.order_key = d.order_key AND o.order_key <> ''
	  AND o.status IN ('pending', ?)
	  AND (o.order_at < d.order_at OR (o.order_at = d.order_at AND o.event_id < d.event_id))`

// holdStatus is the status besides pending that holds an ordering key:
// dead under on_dead: block, else pending again (nothing more).
func holdStatus(blockOnDead bool) string {
	if blockOnDead {
		return string(hookwatch.DeliveryDead)
	}
	return string(hookwatch.DeliveryPending)
}

// claimTx leases due deliveries in tx and returns them, then those it
// dead-lettered (their event does not open) and their attempts.
func (s *Store) claimTx(ctx context.Context, tx *sql.Tx, r hookwatch.ClaimRequest) (out, dead []*hookwatch.Delivery, attempts []*hookwatch.Attempt, err error) {
	var blocked int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM destination_state WHERE name = ? AND (paused <> 0 OR disabled_at <> 0)`,
		r.Destination).Scan(&blocked); err != nil {
		return nil, nil, nil, writeError("claim: destination state", err)
	}
	if blocked > 0 {
		return nil, nil, nil, nil
	}
	// First the deliveries owed by stored events (fanout.go), so that no
	// claim misses one, and rows created and leased in one transaction are
	// written once. (Not for a paused or disabled destination, which the
	// engine does not claim: the group commit fans out in batches then.)
	if _, err := s.fanOutTx(ctx, tx, fanoutBatch); err != nil {
		return nil, nil, nil, err
	}
	now := micros(r.Now)
	rows, err := tx.QueryContext(ctx, `UPDATE deliveries SET lease_owner = ?, lease_until = ?, updated_at = ?
		WHERE id IN (SELECT id FROM deliveries d
			WHERE destination = ? AND status = 'pending' AND next_attempt_at <= ? AND lease_until <= ?
			  AND (order_key = '' OR NOT EXISTS (`+olderOfKey+`))
			ORDER BY next_attempt_at LIMIT ?)
		RETURNING `+deliveryColumns,
		r.Owner, micros(r.Now.Add(r.Lease)), now, r.Destination, now, now, holdStatus(r.BlockOnDead), r.Limit)
	if err != nil {
		return nil, nil, nil, writeError("claim", err)
	}
	var (
		eventIDs []any
		marks    []string
	)
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, nil, nil, writeError("claim: scan", err)
		}
		out = append(out, d)
		eventIDs = append(eventIDs, d.EventID)
		marks = append(marks, "?")
	}
	if err := rows.Close(); err != nil {
		return nil, nil, nil, writeError("claim", err)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, writeError("claim", err)
	}
	if len(out) == 0 {
		return nil, nil, nil, nil
	}
	events := make(map[string]*hookwatch.Event, len(out))
	erows, err := tx.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id IN (`+strings.Join(marks, ",")+`)`, eventIDs...)
	if err != nil {
		return nil, nil, nil, writeError("claim: events", err)
	}
	opened := true
	for erows.Next() {
		e, err := s.scanEvent(erows)
		if err != nil {
			// Its payload does not open: found below, by the delivery
			// left without an event, and dead-lettered.
			opened = false
			continue
		}
		events[e.ID] = e
	}
	erows.Close()
	if err := erows.Err(); err != nil {
		return nil, nil, nil, writeError("claim: events", err)
	}
	if !opened {
		if out, dead, attempts, err = s.unreadable(ctx, tx, r, out, events); err != nil {
			return nil, nil, nil, err
		}
	}
	for _, d := range out {
		d.Event = events[d.EventID]
	}
	hookwatch.SortDue(out) // RETURNING does not keep the subquery's order
	return out, dead, attempts, nil
}

// FinishDeliveries records attempts and outcomes; see hookwatch.DeliveryStore.
func (s *Store) FinishDeliveries(ctx context.Context, fs []hookwatch.Finish) ([]error, error) {
	results := make([]error, len(fs))
	if len(fs) == 0 {
		return results, nil
	}
	err := s.relaxedTx(ctx, "finish", func(tx *sql.Tx) error { return s.finishTx(ctx, tx, fs, results) })
	if err != nil {
		return nil, err
	}
	return results, nil
}

// finishUpdate and finishAttempt are finishTx's statements. They run through
// the connection's statement cache (prepared.go) like every other query:
// preparing them on the transaction instead parsed both anew at every
// finish, about 6 % of the CPU of a delivery run (docs/PERFORMANCE.md).
const (
	finishUpdate = `UPDATE deliveries SET status = ?, attempts = attempts + ?, next_attempt_at = ?,
		lease_owner = '', lease_until = 0, last_class = ?, last_status = ?, last_error = ?, updated_at = ?, completed_at = ?
		WHERE id = ? AND status = 'pending' AND lease_owner = ?`
	finishAttempt = `INSERT INTO attempts (delivery_id, n, owner, at, latency_us, class, http_status, error, response,
		transform, sent_hash, sent_url, sent_headers, sent_body, sent_key, sent_size)
		VALUES (?, (SELECT coalesce(max(n), 0) + 1 FROM attempts WHERE delivery_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

func (s *Store) finishTx(ctx context.Context, tx *sql.Tx, fs []hookwatch.Finish, results []error) error {
	now := micros(s.now())
	for i, f := range fs {
		a := f.Attempt
		status, completed, next := hookwatch.DeliveryPending, int64(0), micros(f.NextAttemptAt)
		switch f.Outcome {
		case hookwatch.OutcomeSucceeded:
			status, completed = hookwatch.DeliverySucceeded, micros(a.At.Add(a.Latency))
		case hookwatch.OutcomeDead:
			status, completed = hookwatch.DeliveryDead, micros(a.At.Add(a.Latency))
		case hookwatch.OutcomeRetry:
		default:
			results[i] = hookwatch.Errorf(hookwatch.EINVALID, "unknown outcome %q", f.Outcome)
			continue
		}
		if f.Outcome != hookwatch.OutcomeRetry {
			next = micros(a.At)
		}
		count := 1
		if f.NoCount {
			count = 0
		}
		res, err := tx.ExecContext(ctx, finishUpdate, string(status), count, next, string(a.Class), a.StatusCode, truncate(a.Error, 500),
			now, completed, a.DeliveryID, f.Owner)
		if err != nil {
			return writeError("finish: update", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var st, owner string
			err := tx.QueryRowContext(ctx, `SELECT status, lease_owner FROM deliveries WHERE id = ?`, a.DeliveryID).Scan(&st, &owner)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				results[i] = hookwatch.Errorf(hookwatch.ENOTFOUND, "delivery %s not found", a.DeliveryID)
			case err != nil:
				return writeError("finish: lookup", err)
			default:
				results[i] = hookwatch.Errorf(hookwatch.ECONFLICT, "delivery %s is %s and leased by %q, not %q", a.DeliveryID, st, owner, f.Owner)
			}
			continue
		}
		resp := a.Response
		if len(resp) > hookwatch.MaxResponseBody {
			resp = resp[:hookwatch.MaxResponseBody]
		}
		if resp == nil {
			resp = []byte{}
		}
		sentURL, sentSize := "", 0
		if a.Sent != nil {
			sentURL, sentSize = a.Sent.URL, a.Sent.BodySize
		}
		sentHeaders, sentBody, sentKey, err := s.cipher.SealSent(a.DeliveryID, fromMicros(micros(a.At)), a.Sent)
		if err != nil {
			return hookwatch.Errorf(hookwatch.EINTERNAL, "sqlite: finish: seal the request as sent: %v", err)
		}
		if _, err := tx.ExecContext(ctx, finishAttempt, a.DeliveryID, a.DeliveryID, a.Owner, micros(a.At), a.Latency.Microseconds(),
			string(a.Class), a.StatusCode, truncate(a.Error, 2000), resp,
			a.Transform, a.SentHash, sentURL, sentHeaders, sentBody, sentKey, sentSize); err != nil {
			return writeError("finish: insert attempt", err)
		}
	}
	return nil
}

// RetryTransformFailures makes transform failures due again; see
// hookwatch.DeliveryStore.
func (s *Store) RetryTransformFailures(ctx context.Context, destination, hash string, now time.Time) (int, error) {
	var n int64
	err := s.relaxedTx(ctx, "retry transform failures", func(tx *sql.Tx) error {
		at := micros(now)
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = ?, updated_at = ?
			WHERE destination = ? AND status = 'pending' AND last_class = ? AND lease_until <= ?
			AND (SELECT transform FROM attempts WHERE delivery_id = deliveries.id ORDER BY n DESC LIMIT 1) IS NOT ?`,
			at, at, destination, string(hookwatch.ClassTransform), at, hash)
		if err != nil {
			return writeError("retry transform failures", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// prefixed qualifies every column of a column list with p ("d.").
func prefixed(cols, p string) string {
	parts := strings.Split(cols, ",")
	for i := range parts {
		parts[i] = p + strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, ", ")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ReleaseDeliveries clears leases; see hookwatch.DeliveryStore.
func (s *Store) ReleaseDeliveries(ctx context.Context, owner string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	now := micros(s.now())
	return s.relaxedTx(ctx, "release", func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET lease_owner = '', lease_until = 0, updated_at = ?
				WHERE id = ? AND lease_owner = ? AND status = 'pending'`, now, id, owner); err != nil {
				return writeError("release", err)
			}
		}
		return nil
	})
}

// GetDelivery returns a delivery and its attempts.
func (s *Store) GetDelivery(ctx context.Context, id string) (*hookwatch.Delivery, []*hookwatch.Attempt, error) {
	if err := s.settle(ctx); err != nil {
		return nil, nil, err
	}
	d, err := scanDelivery(s.r.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "delivery %s not found", id)
	} else if err != nil {
		return nil, nil, fmt.Errorf("sqlite: get delivery: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT n, owner, at, latency_us, class, http_status, error, response,
		transform, sent_hash, sent_url, sent_headers, sent_body, sent_key, sent_size
		FROM attempts WHERE delivery_id = ? ORDER BY n`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: get attempts: %w", err)
	}
	defer rows.Close()
	var attempts []*hookwatch.Attempt
	for rows.Next() {
		a := &hookwatch.Attempt{DeliveryID: id}
		var at, latency int64
		var class, sentURL, sentHeaders, sentKey string
		var sentBody []byte
		var sentSize int
		if err := rows.Scan(&a.N, &a.Owner, &at, &latency, &class, &a.StatusCode, &a.Error, &a.Response,
			&a.Transform, &a.SentHash, &sentURL, &sentHeaders, &sentBody, &sentKey, &sentSize); err != nil {
			return nil, nil, fmt.Errorf("sqlite: get attempts: %w", err)
		}
		a.At, a.Latency, a.Class = fromMicros(at), time.Duration(latency)*time.Microsecond, hookwatch.ErrorClass(class)
		if a.Sent, err = s.cipher.OpenSent(id, a.At, sentURL, sentKey, sentHeaders, sentBody, sentSize); err != nil {
			// The attempt itself is still worth showing: say why the
			// request as sent is not.
			a.Sent = &hookwatch.SentRequest{URL: sentURL, BodySize: sentSize, Unreadable: hookwatch.UnreadableEvent(sentKey, err)}
		}
		attempts = append(attempts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("sqlite: get attempts: %w", err)
	}
	return d, attempts, nil
}

// filterSQL renders f as a FROM clause and a WHERE condition on deliveries
// d (joined with events e when the filter needs the event).
func filterSQL(f hookwatch.DeliveryFilter) (from, where string, args []any) {
	c := newConds()
	from = "deliveries d"
	if f.Source != "" || f.Type != "" || !f.Since.IsZero() || !f.Until.IsZero() {
		from = "deliveries d JOIN events e ON e.id = d.event_id"
	}
	if len(f.EventIDs) > 0 {
		marks := make([]string, len(f.EventIDs))
		ids := make([]any, len(f.EventIDs))
		for i, id := range f.EventIDs {
			marks[i], ids[i] = "?", id
		}
		c.Add("d.event_id IN ("+strings.Join(marks, ",")+")", ids...)
	}
	if f.Destination != "" {
		c.Add("d.destination = ?", f.Destination)
	}
	if f.Status != "" {
		c.Add("d.status = ?", string(f.Status))
	}
	if f.Source != "" {
		c.Add("e.source = ?", f.Source)
	}
	if f.Type != "" {
		c.Add("e.type = ?", f.Type)
	}
	if !f.Since.IsZero() {
		c.Add("e.received_at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		c.Add("e.received_at < ?", micros(f.Until))
	}
	if f.Before != "" {
		c.Add("d.id < ?", f.Before)
	}
	return from, c.Where(), c.Args
}

// ListDeliveries returns deliveries matching f, newest first.
func (s *Store) ListDeliveries(ctx context.Context, f hookwatch.DeliveryFilter) ([]*hookwatch.Delivery, error) {
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
	from, where, args := filterSQL(f)
	rows, err := s.r.QueryContext(ctx, `SELECT `+prefixed(deliveryColumns, "d.")+` FROM `+from+` WHERE `+where+` ORDER BY d.id DESC LIMIT ?`, append(args, sqlq.Limit(f.Limit, 100))...)
	return collect(rows, err, "list deliveries", scanDelivery)
}

// CountDeliveries counts deliveries matching f by destination and status.
func (s *Store) CountDeliveries(ctx context.Context, f hookwatch.DeliveryFilter) (map[string]map[hookwatch.DeliveryStatus]int, error) {
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
	f.Before = ""
	from, where, args := filterSQL(f)
	rows, err := s.r.QueryContext(ctx, `SELECT d.destination, d.status, count(*) FROM `+from+` WHERE `+where+` GROUP BY d.destination, d.status`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: count deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]map[hookwatch.DeliveryStatus]int{}
	for rows.Next() {
		var dest, status string
		var n int
		if err := rows.Scan(&dest, &status, &n); err != nil {
			return nil, fmt.Errorf("sqlite: count deliveries: %w", err)
		}
		if out[dest] == nil {
			out[dest] = map[hookwatch.DeliveryStatus]int{}
		}
		out[dest][hookwatch.DeliveryStatus(status)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: count deliveries: %w", err)
	}
	return out, nil
}

// emptyFilter reports whether f selects every delivery.
func emptyFilter(f hookwatch.DeliveryFilter) bool {
	return len(f.EventIDs) == 0 && f.Source == "" && f.Destination == "" && f.Type == "" && f.Status == "" &&
		f.Since.IsZero() && f.Until.IsZero()
}

// ReplayDeliveries re-queues deliveries; see hookwatch.DeliveryStore.
func (s *Store) ReplayDeliveries(ctx context.Context, r hookwatch.ReplayRequest) (*hookwatch.Replay, error) {
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
	if emptyFilter(r.Filter) {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "a replay needs a filter (event IDs, source, destination, type, status or time range)")
	}
	f := r.Filter
	f.Before, f.Limit = "", 0
	from, where, args := filterSQL(f)
	now := micros(r.Now)
	// A delivery in flight (leased) is left alone: its worker finishes it.
	where += " AND NOT (d.status = 'pending' AND d.lease_until > ?)"
	args = append(args, now)
	rep := &hookwatch.Replay{ID: hookwatch.NewID("rpl", r.Now), Actor: r.Actor, At: r.Now, Filter: f, Rate: r.Rate, DryRun: r.DryRun}
	if r.DryRun {
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM `+from+` WHERE `+where, args...).Scan(&rep.Count); err != nil {
			return nil, fmt.Errorf("sqlite: replay count: %w", err)
		}
		return rep, nil
	}
	step := int64(0)
	if r.Rate > 0 {
		step = int64(1e6 / r.Rate)
	}
	filterJSON, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("sqlite: replay: encode filter: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, writeError("replay: begin", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = 'pending', attempts = 0, lease_owner = '', lease_until = 0,
			next_attempt_at = ? + r.rn * ?, queued_at = ?, completed_at = 0, updated_at = ?
		FROM (SELECT d.id AS id, row_number() OVER (ORDER BY d.id) - 1 AS rn FROM `+from+` WHERE `+where+`) AS r
		WHERE deliveries.id = r.id`,
		append([]any{now, step, now, now}, args...)...)
	if err != nil {
		return nil, writeError("replay", err)
	}
	n, _ := res.RowsAffected()
	rep.Count = int(n)
	if _, err := tx.ExecContext(ctx, `INSERT INTO replays (id, actor, at, filter, rate, count) VALUES (?, ?, ?, ?, ?, ?)`,
		rep.ID, rep.Actor, now, string(filterJSON), r.Rate, rep.Count); err != nil {
		return nil, writeError("replay: record", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, writeError("replay: commit", err)
	}
	return rep, nil
}

// ListReplays returns replay records, newest first.
func (s *Store) ListReplays(ctx context.Context, limit int) ([]*hookwatch.Replay, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, actor, at, filter, rate, count FROM replays ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list replays: %w", err)
	}
	defer rows.Close()
	var out []*hookwatch.Replay
	for rows.Next() {
		var r hookwatch.Replay
		var at int64
		var filter string
		if err := rows.Scan(&r.ID, &r.Actor, &at, &filter, &r.Rate, &r.Count); err != nil {
			return nil, fmt.Errorf("sqlite: list replays: %w", err)
		}
		r.At = fromMicros(at)
		if err := json.Unmarshal([]byte(filter), &r.Filter); err != nil {
			return nil, fmt.Errorf("sqlite: list replays: decode filter of %s: %w", r.ID, err)
		}
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list replays: %w", err)
	}
	return out, nil
}

// DestinationStates returns every stored destination state.
func (s *Store) DestinationStates(ctx context.Context) (map[string]hookwatch.DestinationState, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, paused, disabled_at, disabled_reason, circuit, failures, probe_at, not_before, updated_at FROM destination_state`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: destination states: %w", err)
	}
	defer rows.Close()
	out := map[string]hookwatch.DestinationState{}
	for rows.Next() {
		var st hookwatch.DestinationState
		var disabled, probe, notBefore, updated int64
		var circuit string
		if err := rows.Scan(&st.Name, &st.Paused, &disabled, &st.DisabledReason, &circuit, &st.Failures, &probe, &notBefore, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: destination states: %w", err)
		}
		st.DisabledAt, st.ProbeAt, st.NotBefore, st.UpdatedAt = fromMicros(disabled), fromMicros(probe), fromMicros(notBefore), fromMicros(updated)
		st.Circuit = hookwatch.CircuitState(circuit)
		out[st.Name] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: destination states: %w", err)
	}
	return out, nil
}

// SetDestinationPaused pauses or resumes a destination.
func (s *Store) SetDestinationPaused(ctx context.Context, name string, paused bool, now time.Time) error {
	q := `INSERT INTO destination_state (name, paused, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at`
	if !paused {
		q += `, disabled_at = 0, disabled_reason = ''`
	}
	if _, err := s.w.ExecContext(ctx, q, name, paused, micros(now)); err != nil {
		return writeError("set paused", err)
	}
	return nil
}

// DisableDestination marks a destination disabled.
func (s *Store) DisableDestination(ctx context.Context, name, reason string, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO destination_state (name, disabled_at, disabled_reason, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET disabled_at = excluded.disabled_at, disabled_reason = excluded.disabled_reason, updated_at = excluded.updated_at`,
		name, micros(now), truncate(reason, 500), micros(now)); err != nil {
		return writeError("disable destination", err)
	}
	return nil
}

// SetCircuit stores a destination's circuit breaker state.
func (s *Store) SetCircuit(ctx context.Context, st hookwatch.DestinationState) error {
	circuit := st.Circuit
	if circuit == "" {
		circuit = hookwatch.CircuitClosed
	}
	now := micros(st.UpdatedAt)
	if now == 0 {
		now = micros(s.now())
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO destination_state (name, circuit, failures, probe_at, not_before, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET circuit = excluded.circuit, failures = excluded.failures, probe_at = excluded.probe_at,
		not_before = excluded.not_before, updated_at = excluded.updated_at`,
		st.Name, string(circuit), st.Failures, micros(st.ProbeAt), micros(st.NotBefore), now); err != nil {
		return writeError("set circuit", err)
	}
	return nil
}
