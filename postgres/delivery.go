package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/jackc/pgx/v5"
)

// The delivery queue. Several instances claim from it at once: a claim
// selects due rows FOR UPDATE SKIP LOCKED and leases them in the same
// statement, so two claimers never get the same delivery and never wait on
// each other. Lease times come from the caller's clock (ClaimRequest.Now):
// instances sharing a database need clocks kept in sync (NTP), as leases are
// compared across them.

// deliveryColumns lists a delivery's columns, qualified by p ("d." or "").
func deliveryColumns(p string) string {
	return p + `id, ` + p + `event_id, ` + p + `destination, ` + p + `status, ` + p + `attempts, ` +
		p + `next_attempt_at, ` + p + `lease_owner, ` + p + `lease_until, ` + p + `last_class, ` +
		p + `last_status, ` + p + `last_error, ` + p + `created_at, ` + p + `updated_at, coalesce(` +
		p + `queued_at, ` + p + `created_at), ` + p + `completed_at, ` + p + `order_key, ` + p + `order_error`
}

// deliveryDest returns the scan destinations of deliveryColumns for d, and
// a function to call after the scan.
func deliveryDest(d *hookwatch.Delivery) ([]any, func()) {
	var (
		status, class    string
		lease, completed *time.Time
		next, created    time.Time
		updated, queued  time.Time
		dest             = []any{&d.ID, &d.EventID, &d.Destination, &status, &d.Attempts, &next, &d.LeaseOwner, &lease, &class, &d.LastStatus, &d.LastError, &created, &updated, &queued, &completed, &d.OrderKey, &d.OrderError}
		after            = func() {
			d.Status, d.LastClass = hookwatch.DeliveryStatus(status), hookwatch.ErrorClass(class)
			d.NextAttemptAt, d.CreatedAt, d.UpdatedAt, d.QueuedAt = next.UTC(), created.UTC(), updated.UTC(), queued.UTC()
			d.LeaseUntil, d.CompletedAt = fromNull(lease), fromNull(completed)
		}
	)
	return dest, after
}

// nullTime stores the zero time as NULL ("never").
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// fromNull is the inverse of nullTime.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// olderOfKey selects a delivery of d's destination and ordering key with
// the status, received before d: one that d waits behind. Each status has
// its partial index (0018), so this is one probe.
func olderOfKey(status string) string {
	return `SELECT 1 FROM deliveries o
	WHERE o.destination = d.destination AND o.order_key = d.order_key AND o.order_key <> '' AND o.status = '` + status + `'
	  AND (o.order_at, o.event_id) < (d.order_at, d.event_id)`
}

// claimDeliveries leases due deliveries and returns them with their events,
// in one statement. An ordered delivery is claimed only at the head of its
// key. Under concurrent claimers this holds because the head check reads
// the key's older deliveries, not locks: an older delivery leased by
// another instance is still pending (so it holds the key), and one the
// statement's snapshot sees finished stays finished (only a replay makes
// it pending again). A killed instance's head stays pending, and so holds
// its key, until its lease expires and it is claimed again.
var claimDeliveries = `
WITH c AS (
    SELECT id FROM deliveries d
    WHERE destination = $1 AND status = 'pending' AND next_attempt_at <= $2
      AND (lease_until IS NULL OR lease_until <= $2)
      AND NOT EXISTS (SELECT 1 FROM destination_state s WHERE s.name = $1 AND (s.paused OR s.disabled_at IS NOT NULL))
      AND (d.order_key = '' OR NOT EXISTS (` + olderOfKey("pending") + `)
           AND NOT ($6 AND EXISTS (` + olderOfKey("dead") + `)))
    ORDER BY next_attempt_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d SET lease_owner = $4, lease_until = $5, updated_at = $2
FROM c, events e
WHERE d.id = c.id AND e.id = d.event_id
RETURNING ` + deliveryColumns("d.") + `, ` + eventColumnsOf("e.") + `, e.key_id`

// eventColumnsOf lists an event's columns qualified by p.
func eventColumnsOf(p string) string {
	cols := strings.Split(eventColumns, ", ")
	for i := range cols {
		cols[i] = p + cols[i]
	}
	return strings.Join(cols, ", ")
}

// ClaimDeliveries leases due deliveries; see hookwatch.DeliveryStore.
func (s *Store) ClaimDeliveries(ctx context.Context, r hookwatch.ClaimRequest) ([]*hookwatch.Delivery, error) {
	if r.Limit <= 0 {
		return nil, nil
	}
	var (
		out, dead []*hookwatch.Delivery
		fs        []hookwatch.Finish
	)
	err := retry(ctx, func() error {
		out, dead, fs = out[:0], dead[:0], fs[:0]
		rows, err := s.pool.Query(ctx, claimDeliveries, r.Destination, r.Now, r.Limit, r.Owner, r.Now.Add(r.Lease), r.BlockOnDead)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d := &hookwatch.Delivery{}
			dest, after := deliveryDest(d)
			e, edest, eafter := s.eventDest()
			var keyID string
			if err := rows.Scan(append(append(dest, edest...), &keyID)...); err != nil {
				return err
			}
			after()
			if err := eafter(); err != nil {
				// The payload does not open: dead-lettered below, never
				// returned. The event keeps its plaintext columns only.
				e.Headers, e.Body = nil, nil
				a := hookwatch.Attempt{DeliveryID: d.ID, Owner: r.Owner, At: r.Now, Class: hookwatch.ClassUnknown,
					Error: hookwatch.UnreadableEvent(keyID, err)}
				fs = append(fs, hookwatch.Finish{Owner: r.Owner, Attempt: a, Outcome: hookwatch.OutcomeDead})
				d.Event = e
				dead = append(dead, d)
				continue
			}
			d.Event = e
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, storeError("claim", err)
	}
	if len(fs) > 0 {
		// The claim committed, leasing them to r.Owner: now they are
		// finished as dead. If that fails they are due again when the
		// lease expires, and the claim's good deliveries are released.
		results, err := s.FinishDeliveries(ctx, fs)
		if err == nil {
			err = errors.Join(results...)
		}
		if err != nil {
			ids := make([]string, len(out))
			for i, d := range out {
				ids[i] = d.ID
			}
			_ = s.ReleaseDeliveries(ctx, r.Owner, ids)
			return nil, fmt.Errorf("postgres: claim: dead-letter unreadable events: %w", err)
		}
		for i, d := range dead {
			a := &fs[i].Attempt
			d.Status, d.Attempts, d.LeaseOwner, d.LeaseUntil = hookwatch.DeliveryDead, d.Attempts+1, "", time.Time{}
			d.LastClass, d.LastStatus, d.LastError, d.CompletedAt = a.Class, 0, a.Error, r.Now
			if r.DeadLettered != nil {
				r.DeadLettered(d, a)
			}
		}
	}
	hookwatch.SortDue(out) // RETURNING does not keep the subquery's order
	return out, nil
}

// finishDelivery applies one finished attempt when the delivery is still
// pending and leased by the owner, then reports whether it did and, when it
// did not, what the delivery is now (no row: it does not exist).
const finishDelivery = `
WITH u AS (
    UPDATE deliveries SET status = $3, attempts = attempts + $4, next_attempt_at = $5,
        lease_owner = '', lease_until = NULL, last_class = $6, last_status = $7, last_error = $8,
        updated_at = $9, completed_at = $10
    WHERE id = $1 AND status = 'pending' AND lease_owner = $2
    RETURNING id
), a AS (
    INSERT INTO attempts (delivery_id, n, owner, at, latency_us, class, http_status, error, response)
    SELECT u.id, (SELECT coalesce(max(n), 0) + 1 FROM attempts WHERE delivery_id = u.id),
        $11, $12, $13, $6, $7, $14, $15
    FROM u
    RETURNING n
)
SELECT (SELECT count(*) FROM a), d.status, d.lease_owner
FROM (SELECT 1) one LEFT JOIN deliveries d ON d.id = $1`

// FinishDeliveries records attempts and outcomes; see hookwatch.DeliveryStore.
// The batch is sent as one pipeline, which PostgreSQL runs as one implicit
// transaction: one round trip, all or nothing.
func (s *Store) FinishDeliveries(ctx context.Context, fs []hookwatch.Finish) ([]error, error) {
	results := make([]error, len(fs))
	if len(fs) == 0 {
		return results, nil
	}
	now := s.now()
	b := &pgx.Batch{}
	var queued []int // index in fs of each queued statement
	for i, f := range fs {
		a := f.Attempt
		status, next := hookwatch.DeliveryPending, f.NextAttemptAt
		var completed time.Time
		switch f.Outcome {
		case hookwatch.OutcomeSucceeded:
			status, completed = hookwatch.DeliverySucceeded, a.At.Add(a.Latency)
		case hookwatch.OutcomeDead:
			status, completed = hookwatch.DeliveryDead, a.At.Add(a.Latency)
		case hookwatch.OutcomeRetry:
		default:
			results[i] = hookwatch.Errorf(hookwatch.EINVALID, "unknown outcome %q", f.Outcome)
			continue
		}
		if f.Outcome != hookwatch.OutcomeRetry {
			next = a.At
		}
		count := 1
		if f.NoCount {
			count = 0
		}
		resp := a.Response
		if len(resp) > hookwatch.MaxResponseBody {
			resp = resp[:hookwatch.MaxResponseBody]
		}
		if resp == nil {
			resp = []byte{}
		}
		b.Queue(finishDelivery, a.DeliveryID, f.Owner, string(status), count, next,
			string(a.Class), a.StatusCode, text(truncate(a.Error, 500)), now, nullTime(completed),
			text(a.Owner), a.At, a.Latency.Microseconds(), text(truncate(a.Error, 2000)), resp)
		queued = append(queued, i)
	}
	if len(queued) == 0 {
		return results, nil
	}
	err := retry(ctx, func() error {
		br := s.pool.SendBatch(ctx, b)
		for _, i := range queued {
			var (
				applied       int
				status, owner *string
			)
			if err := br.QueryRow().Scan(&applied, &status, &owner); err != nil {
				br.Close()
				return err
			}
			id := fs[i].Attempt.DeliveryID
			switch {
			case applied > 0:
				results[i] = nil
			case status == nil:
				results[i] = hookwatch.Errorf(hookwatch.ENOTFOUND, "delivery %s not found", id)
			default:
				results[i] = hookwatch.Errorf(hookwatch.ECONFLICT, "delivery %s is %s and leased by %q, not %q", id, *status, *owner, fs[i].Owner)
			}
		}
		return br.Close()
	})
	if err != nil {
		return nil, storeError("finish", err)
	}
	return results, nil
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
	if _, err := s.pool.Exec(ctx, `UPDATE deliveries SET lease_owner = '', lease_until = NULL, updated_at = $1
		WHERE id = ANY($2) AND lease_owner = $3 AND status = 'pending'`, s.now(), ids, owner); err != nil {
		return storeError("release", err)
	}
	return nil
}

// GetDelivery returns a delivery and its attempts.
func (s *Store) GetDelivery(ctx context.Context, id string) (*hookwatch.Delivery, []*hookwatch.Attempt, error) {
	d := &hookwatch.Delivery{}
	dest, after := deliveryDest(d)
	err := s.pool.QueryRow(ctx, `SELECT `+deliveryColumns("")+` FROM deliveries WHERE id = $1`, id).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "delivery %s not found", id)
	} else if err != nil {
		return nil, nil, storeError("get delivery", err)
	}
	after()
	rows, err := s.pool.Query(ctx, `SELECT n, owner, at, latency_us, class, http_status, error, response
		FROM attempts WHERE delivery_id = $1 ORDER BY n`, id)
	if err != nil {
		return nil, nil, storeError("get attempts", err)
	}
	attempts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookwatch.Attempt, error) {
		a := &hookwatch.Attempt{DeliveryID: id}
		var latency int64
		var class string
		if err := row.Scan(&a.N, &a.Owner, &a.At, &latency, &class, &a.StatusCode, &a.Error, &a.Response); err != nil {
			return nil, err
		}
		a.At, a.Latency, a.Class = a.At.UTC(), time.Duration(latency)*time.Microsecond, hookwatch.ErrorClass(class)
		return a, nil
	})
	if err != nil {
		return nil, nil, storeError("get attempts", err)
	}
	return d, attempts, nil
}

// filterSQL renders f as a FROM clause and a WHERE condition on deliveries
// d (joined with events e when the filter needs the event). Placeholders
// are numbered after the args already in args.
func filterSQL(f hookwatch.DeliveryFilter, args []any) (from, where string, _ []any) {
	c := newConds(args...)
	from = "deliveries d"
	if f.Source != "" || f.Type != "" || !f.Since.IsZero() || !f.Until.IsZero() {
		from = "deliveries d JOIN events e ON e.id = d.event_id"
	}
	if len(f.EventIDs) > 0 {
		c.Add("d.event_id = ANY(?)", f.EventIDs)
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
		c.Add("e.received_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		c.Add("e.received_at < ?", f.Until)
	}
	if f.Before != "" {
		c.Add("d.id < ?", f.Before)
	}
	return from, c.Where(), c.Args
}

// ListDeliveries returns deliveries matching f, newest first.
func (s *Store) ListDeliveries(ctx context.Context, f hookwatch.DeliveryFilter) ([]*hookwatch.Delivery, error) {
	from, where, args := filterSQL(f, nil)
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns("d.")+` FROM `+from+` WHERE `+where+
		` ORDER BY d.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, storeError("list deliveries", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookwatch.Delivery, error) {
		d := &hookwatch.Delivery{}
		dest, after := deliveryDest(d)
		if err := row.Scan(dest...); err != nil {
			return nil, err
		}
		after()
		return d, nil
	})
	if err != nil {
		return nil, storeError("list deliveries", err)
	}
	return out, nil
}

// CountDeliveries counts deliveries matching f by destination and status.
func (s *Store) CountDeliveries(ctx context.Context, f hookwatch.DeliveryFilter) (map[string]map[hookwatch.DeliveryStatus]int, error) {
	f.Before = ""
	from, where, args := filterSQL(f, nil)
	rows, err := s.pool.Query(ctx, `SELECT d.destination, d.status, count(*) FROM `+from+` WHERE `+where+` GROUP BY d.destination, d.status`, args...)
	if err != nil {
		return nil, storeError("count deliveries", err)
	}
	out := map[string]map[hookwatch.DeliveryStatus]int{}
	var (
		dest, status string
		n            int
	)
	_, err = pgx.ForEachRow(rows, []any{&dest, &status, &n}, func() error {
		if out[dest] == nil {
			out[dest] = map[hookwatch.DeliveryStatus]int{}
		}
		out[dest][hookwatch.DeliveryStatus(status)] = n
		return nil
	})
	if err != nil {
		return nil, storeError("count deliveries", err)
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
	if emptyFilter(r.Filter) {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "a replay needs a filter (event IDs, source, destination, type, status or time range)")
	}
	f := r.Filter
	f.Before, f.Limit = "", 0
	// $1 is the replay time, $2 the spread step in microseconds.
	step := int64(0)
	if r.Rate > 0 {
		step = int64(1e6 / r.Rate)
	}
	// A delivery in flight (leased) is left alone: its worker finishes it.
	const notLeased = ` AND NOT (%[1]sstatus = 'pending' AND coalesce(%[1]slease_until > $1, false))`
	rep := &hookwatch.Replay{ID: hookwatch.NewID("rpl", r.Now), Actor: r.Actor, At: r.Now, Filter: f, Rate: r.Rate, DryRun: r.DryRun}
	if r.DryRun {
		from, where, args := filterSQL(f, []any{r.Now})
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+from+` WHERE `+where+fmt.Sprintf(notLeased, "d."),
			args...).Scan(&rep.Count); err != nil {
			return nil, storeError("replay count", err)
		}
		return rep, nil
	}
	from, where, args := filterSQL(f, []any{r.Now, step})
	filterJSON, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("postgres: replay: encode filter: %w", err)
	}
	n := len(args)
	args = append(args, rep.ID, text(rep.Actor), text(string(filterJSON)), r.Rate)
	// The lease is checked again on the row being updated: a claim that
	// committed after the subquery's snapshot wins.
	q := `WITH r AS (
		UPDATE deliveries SET status = 'pending', attempts = 0, lease_owner = '', lease_until = NULL,
			next_attempt_at = $1::timestamptz + (sel.rn * $2::bigint) * interval '1 microsecond',
			queued_at = $1, completed_at = NULL, updated_at = $1
		FROM (SELECT d.id AS id, row_number() OVER (ORDER BY d.id) - 1 AS rn FROM ` + from + ` WHERE ` + where + fmt.Sprintf(notLeased, "d.") + `) AS sel
		WHERE deliveries.id = sel.id` + fmt.Sprintf(notLeased, "deliveries.") + `
		RETURNING 1
	)
	INSERT INTO replays (id, actor, at, filter, rate, count)
	SELECT $` + strconv.Itoa(n+1) + `, $` + strconv.Itoa(n+2) + `, $1, $` + strconv.Itoa(n+3) + `, $` + strconv.Itoa(n+4) + `, count(*) FROM r
	RETURNING count`
	if err := s.pool.QueryRow(ctx, q, args...).Scan(&rep.Count); err != nil {
		return nil, storeError("replay", err)
	}
	return rep, nil
}

// ListReplays returns replay records, newest first.
func (s *Store) ListReplays(ctx context.Context, limit int) ([]*hookwatch.Replay, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT id, actor, at, filter, rate, count FROM replays ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, storeError("list replays", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookwatch.Replay, error) {
		var r hookwatch.Replay
		var filter string
		if err := row.Scan(&r.ID, &r.Actor, &r.At, &filter, &r.Rate, &r.Count); err != nil {
			return nil, err
		}
		r.At = r.At.UTC()
		if err := json.Unmarshal([]byte(filter), &r.Filter); err != nil {
			return nil, fmt.Errorf("decode filter of %s: %w", r.ID, err)
		}
		return &r, nil
	})
	if err != nil {
		return nil, storeError("list replays", err)
	}
	return out, nil
}

// DestinationStates returns every stored destination state.
func (s *Store) DestinationStates(ctx context.Context) (map[string]hookwatch.DestinationState, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, paused, disabled_at, disabled_reason, circuit, failures, probe_at, not_before, updated_at FROM destination_state`)
	if err != nil {
		return nil, storeError("destination states", err)
	}
	out := map[string]hookwatch.DestinationState{}
	var (
		st                         hookwatch.DestinationState
		disabled, probe, notBefore *time.Time
		circuit                    string
	)
	_, err = pgx.ForEachRow(rows, []any{&st.Name, &st.Paused, &disabled, &st.DisabledReason, &circuit, &st.Failures, &probe, &notBefore, &st.UpdatedAt}, func() error {
		st.DisabledAt, st.ProbeAt, st.NotBefore, st.UpdatedAt = fromNull(disabled), fromNull(probe), fromNull(notBefore), st.UpdatedAt.UTC()
		st.Circuit = hookwatch.CircuitState(circuit)
		out[st.Name] = st
		return nil
	})
	if err != nil {
		return nil, storeError("destination states", err)
	}
	return out, nil
}

// SetDestinationPaused pauses or resumes a destination.
func (s *Store) SetDestinationPaused(ctx context.Context, name string, paused bool, now time.Time) error {
	q := `INSERT INTO destination_state (name, paused, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at`
	if !paused {
		q += `, disabled_at = NULL, disabled_reason = ''`
	}
	if _, err := s.pool.Exec(ctx, q, text(name), paused, now); err != nil {
		return storeError("set paused", err)
	}
	return nil
}

// DisableDestination marks a destination disabled.
func (s *Store) DisableDestination(ctx context.Context, name, reason string, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO destination_state (name, disabled_at, disabled_reason, updated_at) VALUES ($1, $2, $3, $2)
		ON CONFLICT (name) DO UPDATE SET disabled_at = excluded.disabled_at, disabled_reason = excluded.disabled_reason, updated_at = excluded.updated_at`,
		text(name), now, text(truncate(reason, 500))); err != nil {
		return storeError("disable destination", err)
	}
	return nil
}

// SetCircuit stores a destination's circuit breaker state.
func (s *Store) SetCircuit(ctx context.Context, st hookwatch.DestinationState) error {
	circuit := st.Circuit
	if circuit == "" {
		circuit = hookwatch.CircuitClosed
	}
	now := st.UpdatedAt
	if now.IsZero() {
		now = s.now()
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO destination_state (name, circuit, failures, probe_at, not_before, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (name) DO UPDATE SET circuit = excluded.circuit, failures = excluded.failures, probe_at = excluded.probe_at,
		not_before = excluded.not_before, updated_at = excluded.updated_at`,
		text(st.Name), string(circuit), st.Failures, nullTime(st.ProbeAt), nullTime(st.NotBefore), now); err != nil {
		return storeError("set circuit", err)
	}
	return nil
}
