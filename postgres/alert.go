package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/jackc/pgx/v5"
)

// AlertStates returns every stored alert state.
func (s *Store) AlertStates(ctx context.Context) ([]hookwatch.AlertState, error) {
	rows, err := s.pool.Query(ctx, `SELECT rule, subject, status, since, notified_at, value, summary, updated_at, issue_id, held_back, held_until
		FROM alert_states ORDER BY rule, subject`)
	if err != nil {
		return nil, storeError("alert states", err)
	}
	defer rows.Close()
	var out []hookwatch.AlertState
	for rows.Next() {
		var a hookwatch.AlertState
		var status string
		var since, notified, heldUntil *time.Time
		if err := rows.Scan(&a.Rule, &a.Subject, &status, &since, &notified, &a.Value, &a.Summary, &a.UpdatedAt, &a.IssueID, &a.HeldBack, &heldUntil); err != nil {
			return nil, storeError("alert states", err)
		}
		a.Status, a.Since, a.NotifiedAt, a.UpdatedAt = hookwatch.AlertStatus(status), utc(since), utc(notified), a.UpdatedAt.UTC()
		a.HeldUntil = utc(heldUntil)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError("alert states", err)
	}
	return out, nil
}

// utc is fromNull in UTC.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// SaveAlerts stores alert states and queues notifications in one transaction.
func (s *Store) SaveAlerts(ctx context.Context, states []hookwatch.AlertState, queue []*hookwatch.Notification) error {
	if len(states) == 0 && len(queue) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, a := range states {
			if err := upsertAlertState(ctx, tx, a, false); err != nil {
				return err
			}
		}
		for _, n := range queue {
			if n.Status != hookwatch.NotificationInhibited && n.Status != hookwatch.NotificationSilenced {
				n.Status = hookwatch.NotificationQueued
			}
			if err := upsertNotification(ctx, tx, n, false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return storeError("save alerts", err)
	}
	return nil
}

// upsertAlertState stores a state, replacing the one of the same rule and
// subject; keep leaves an existing one as it is (an import).
func upsertAlertState(ctx context.Context, tx pgx.Tx, a hookwatch.AlertState, keep bool) error {
	conflict := `DO UPDATE SET status = excluded.status, since = excluded.since, notified_at = excluded.notified_at, value = excluded.value,
		summary = excluded.summary, updated_at = excluded.updated_at, issue_id = excluded.issue_id, held_back = excluded.held_back,
		held_until = excluded.held_until`
	if keep {
		conflict = `DO NOTHING`
	}
	_, err := tx.Exec(ctx, `INSERT INTO alert_states (rule, subject, status, since, notified_at, value, summary, updated_at, issue_id, held_back, held_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (rule, subject) `+conflict,
		text(a.Rule), text(a.Subject), string(a.Status), nullTime(a.Since), nullTime(a.NotifiedAt), a.Value, text(truncate(a.Summary, 1000)),
		a.UpdatedAt, text(a.IssueID), text(truncate(a.HeldBack, 500)), nullTime(a.HeldUntil))
	return err
}

const notificationColumns = `id, channel, rule, subject, kind, summary, value, threshold, issue_id, status, attempts, error, created_at, sent_at, details`

// upsertNotification inserts a notification or updates its delivery
// status; keep leaves an existing one as it is (an import).
func upsertNotification(ctx context.Context, tx pgx.Tx, n *hookwatch.Notification, keep bool) error {
	details, err := hookwatch.EncodeAlertDetails(n.Details)
	if err != nil {
		return err
	}
	conflict := `DO UPDATE SET status = excluded.status, attempts = excluded.attempts, error = excluded.error, sent_at = excluded.sent_at`
	if keep {
		conflict = `DO NOTHING`
	}
	_, err = tx.Exec(ctx, `INSERT INTO notifications (`+notificationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (id) `+conflict,
		n.ID, text(n.Channel), text(n.Rule), text(n.Subject), string(n.Kind), text(truncate(n.Summary, 2000)), n.Value, n.Threshold,
		text(n.IssueID), string(n.Status), n.Attempts, text(truncate(n.Error, 1000)), n.CreatedAt, nullTime(n.SentAt), text(details))
	return err
}

func (s *Store) queryNotifications(ctx context.Context, q string, args ...any) ([]*hookwatch.Notification, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, storeError("notifications", err)
	}
	defer rows.Close()
	var out []*hookwatch.Notification
	for rows.Next() {
		var n hookwatch.Notification
		var kind, status, details string
		var sent *time.Time
		if err := rows.Scan(&n.ID, &n.Channel, &n.Rule, &n.Subject, &kind, &n.Summary, &n.Value, &n.Threshold, &n.IssueID,
			&status, &n.Attempts, &n.Error, &n.CreatedAt, &sent, &details); err != nil {
			return nil, storeError("notifications", err)
		}
		n.Kind, n.Status, n.CreatedAt, n.SentAt = hookwatch.NotificationKind(kind), hookwatch.NotificationStatus(status), n.CreatedAt.UTC(), utc(sent)
		var err error
		if n.Details, err = hookwatch.DecodeAlertDetails(details); err != nil {
			return nil, storeError("notifications", err)
		}
		out = append(out, &n)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError("notifications", err)
	}
	return out, nil
}

// QueuedNotifications returns the outbox, oldest first.
func (s *Store) QueuedNotifications(ctx context.Context) ([]*hookwatch.Notification, error) {
	return s.queryNotifications(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE status = 'queued' ORDER BY created_at, id`)
}

// RecordNotifications inserts or updates notifications in the history.
func (s *Store) RecordNotifications(ctx context.Context, ns []*hookwatch.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, n := range ns {
			if err := upsertNotification(ctx, tx, n, false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return storeError("record notifications", err)
	}
	return nil
}

// ListNotifications returns the alert history, newest first.
func (s *Store) ListNotifications(ctx context.Context, f hookwatch.NotificationFilter) ([]*hookwatch.Notification, error) {
	var c conds
	if f.Channel != "" {
		c.add("channel = ?", text(f.Channel))
	}
	if f.Rule != "" {
		c.add("rule = ?", text(f.Rule))
	}
	if f.Subject != "" {
		c.add("subject = ?", text(f.Subject))
	}
	if f.Status != "" {
		c.add("status = ?", string(f.Status))
	}
	return s.queryNotifications(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE `+c.where()+
		` ORDER BY created_at DESC, id DESC LIMIT `+c.arg(limitOr(f.Limit, 100)), c.args...)
}

// AcquireLease takes or renews a lease.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO leases (name, owner, until) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
		WHERE leases.owner = excluded.owner OR leases.until <= $4`, text(name), text(owner), now.Add(ttl), now)
	if err != nil {
		return false, storeError("acquire lease", err)
	}
	return tag.RowsAffected() > 0, nil
}

// ReleaseLease gives up a lease held by owner.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND owner = $2`, text(name), text(owner)); err != nil {
		return storeError("release lease", err)
	}
	return nil
}

// AddSilence stores a silence; see hookwatch.AlertStore.
func (s *Store) AddSilence(ctx context.Context, si *hookwatch.Silence) error {
	if err := hookwatch.ValidateSilence(si); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM silences WHERE expires_at < $1`, si.CreatedAt.Add(-hookwatch.SilenceRetention)); err != nil {
			return err
		}
		return insertSilence(ctx, tx, si, false)
	})
	if isUnique(err) {
		return hookwatch.Errorf(hookwatch.ECONFLICT, "silence %s exists", si.ID)
	}
	if err != nil {
		return storeError("add silence", err)
	}
	return nil
}

// insertSilence inserts si; with keep, an existing silence of that ID is
// left as it is (an import).
func insertSilence(ctx context.Context, tx pgx.Tx, si *hookwatch.Silence, keep bool) error {
	q := `INSERT INTO silences (id, rule, subject, comment, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	if keep {
		q += ` ON CONFLICT (id) DO NOTHING`
	}
	_, err := tx.Exec(ctx, q, text(si.ID), text(si.Rule), text(si.Subject), text(truncate(si.Comment, 1000)), text(truncate(si.CreatedBy, 200)),
		si.CreatedAt, si.ExpiresAt)
	return err
}

const silenceColumns = `id, rule, subject, comment, created_by, created_at, expires_at`

func scanSilence(row pgx.Row) (*hookwatch.Silence, error) {
	var si hookwatch.Silence
	if err := row.Scan(&si.ID, &si.Rule, &si.Subject, &si.Comment, &si.CreatedBy, &si.CreatedAt, &si.ExpiresAt); err != nil {
		return nil, err
	}
	si.CreatedAt, si.ExpiresAt = si.CreatedAt.UTC(), si.ExpiresAt.UTC()
	return &si, nil
}

// ListSilences returns the silences expiring after since, soonest first.
func (s *Store) ListSilences(ctx context.Context, since time.Time) ([]*hookwatch.Silence, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+silenceColumns+` FROM silences WHERE expires_at > $1 ORDER BY expires_at, id`, since)
	if err != nil {
		return nil, storeError("silences", err)
	}
	defer rows.Close()
	var out []*hookwatch.Silence
	for rows.Next() {
		si, err := scanSilence(rows)
		if err != nil {
			return nil, storeError("silences", err)
		}
		out = append(out, si)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError("silences", err)
	}
	return out, nil
}

// RemoveSilence deletes a silence and returns it.
func (s *Store) RemoveSilence(ctx context.Context, id string) (*hookwatch.Silence, error) {
	si, err := scanSilence(s.pool.QueryRow(ctx, `DELETE FROM silences WHERE id = $1 RETURNING `+silenceColumns, text(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "no silence %s (hookwatch alerts silences lists them)", id)
	}
	if err != nil {
		return nil, storeError("remove silence", err)
	}
	return si, nil
}

// latencySQL returns the columns that bucket the processing time
// expression lat (an interval) cumulatively by hookwatch.LatencyBuckets.
func latencySQL(lat string) string {
	var b strings.Builder
	for _, d := range hookwatch.LatencyBuckets {
		fmt.Fprintf(&b, ", count(*) FILTER (WHERE %s <= interval '%d microseconds')", lat, d.Microseconds())
	}
	return b.String()
}

// Traffic computes the figures of a window; see hookwatch.HealthStore.
func (s *Store) Traffic(ctx context.Context, q hookwatch.TrafficQuery) ([]hookwatch.Traffic, error) {
	type key struct {
		src, dst string
		test     bool
	}
	m := map[key]*hookwatch.Traffic{}
	var order []key
	get := func(src, dst string, test bool) *hookwatch.Traffic {
		k := key{src, dst, test}
		if r, ok := m[k]; ok {
			return r
		}
		r := &hookwatch.Traffic{Source: src, Destination: dst, Test: test}
		m[k], order = r, append(order, k)
		return r
	}
	each := func(sql string, args []any, f func(pgx.Rows) error) error {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return storeError("health", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := f(rows); err != nil {
				return storeError("health", err)
			}
		}
		if err := rows.Err(); err != nil {
			return storeError("health", err)
		}
		return nil
	}
	args := []any{q.Since, q.Until, q.Test}
	if err := each(`SELECT source, test, count(*) FROM events WHERE received_at >= $1 AND received_at < $2 AND ($3 OR NOT test)
		GROUP BY source, test ORDER BY source, test`, args, func(r pgx.Rows) error {
		var src string
		var test bool
		var n int
		if err := r.Scan(&src, &test, &n); err != nil {
			return err
		}
		get(src, "", test).Accepted = n
		return nil
	}); err != nil {
		return nil, err
	}
	// Processing time counts from the event's receipt, or from its replay
	// (greatest ignores a NULL queued_at: never replayed).
	const lat = `(d.completed_at - greatest(e.received_at, d.queued_at))`
	nb := len(hookwatch.LatencyBuckets)
	if err := each(`SELECT e.source, d.destination, e.test, count(*), coalesce(sum(extract(epoch FROM `+lat+`) * 1000000), 0)::bigint`+latencySQL(lat)+`
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.status = 'succeeded' AND d.completed_at >= $1 AND d.completed_at < $2 AND ($3 OR NOT e.test)
		GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, args, func(r pgx.Rows) error {
		var src, dst string
		var test bool
		var n int
		var sum int64
		cum := make([]int, nb)
		dest := []any{&src, &dst, &test, &n, &sum}
		for i := range cum {
			dest = append(dest, &cum[i])
		}
		if err := r.Scan(dest...); err != nil {
			return err
		}
		t := get(src, dst, test)
		t.Delivered, t.LatencySum = n, time.Duration(sum)*time.Microsecond
		t.Latency = decumulate(cum, n)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := each(`SELECT e.source, d.destination, e.test, a.class, count(*)
		FROM attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN events e ON e.id = d.event_id
		WHERE a.at >= $1 AND a.at < $2 AND a.class <> '' AND ($3 OR NOT e.test)
		GROUP BY e.source, d.destination, e.test, a.class ORDER BY e.source, d.destination, e.test, a.class`, args, func(r pgx.Rows) error {
		var src, dst, class string
		var test bool
		var n int
		if err := r.Scan(&src, &dst, &test, &class, &n); err != nil {
			return err
		}
		t := get(src, dst, test)
		if t.Failed == nil {
			t.Failed = map[hookwatch.ErrorClass]int{}
		}
		t.Failed[hookwatch.ErrorClass(class)] = n
		return nil
	}); err != nil {
		return nil, err
	}
	if err := each(`SELECT e.source, d.destination, e.test, count(*) FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.status = 'dead' AND d.completed_at >= $1 AND d.completed_at < $2 AND ($3 OR NOT e.test)
		GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, args, func(r pgx.Rows) error {
		var src, dst string
		var test bool
		var n int
		if err := r.Scan(&src, &dst, &test, &n); err != nil {
			return err
		}
		get(src, dst, test).DeadLetters = n
		return nil
	}); err != nil {
		return nil, err
	}
	if q.Within > 0 {
		w := q.Within
		if err := each(`SELECT e.source, d.destination, e.test, count(*),
			count(*) FILTER (WHERE d.status = 'succeeded' AND d.completed_at - e.received_at <= $4 * interval '1 microsecond')
			FROM events e JOIN deliveries d ON d.event_id = e.id
			WHERE e.received_at >= $1 AND e.received_at < $2 AND ($3 OR NOT e.test)
			GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`,
			[]any{q.Since.Add(-w), q.Until.Add(-w), q.Test, w.Microseconds()}, func(r pgx.Rows) error {
				var src, dst string
				var test bool
				var total, good int
				if err := r.Scan(&src, &dst, &test, &total, &good); err != nil {
					return err
				}
				t := get(src, dst, test)
				t.SLOTotal, t.SLOGood = total, good
				return nil
			}); err != nil {
			return nil, err
		}
	}
	out := make([]hookwatch.Traffic, 0, len(order))
	for _, k := range order {
		out = append(out, *m[k])
	}
	return out, nil
}

// decumulate turns cumulative bucket counts into per-bucket counts, the
// last element counting those over every bound.
func decumulate(cum []int, total int) []int {
	out := make([]int, len(cum)+1)
	prev := 0
	for i, c := range cum {
		out[i] = c - prev
		prev = c
	}
	out[len(cum)] = total - prev
	return out
}

// Backlogs returns pending deliveries by (source, destination).
func (s *Store) Backlogs(ctx context.Context, test bool) ([]hookwatch.Backlog, error) {
	rows, err := s.pool.Query(ctx, `SELECT e.source, d.destination, e.test, count(*), min(coalesce(d.queued_at, d.created_at))
		FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.status = 'pending' AND ($1 OR NOT e.test)
		GROUP BY e.source, d.destination, e.test ORDER BY e.source, d.destination, e.test`, test)
	if err != nil {
		return nil, storeError("backlogs", err)
	}
	defer rows.Close()
	var out []hookwatch.Backlog
	for rows.Next() {
		var b hookwatch.Backlog
		if err := rows.Scan(&b.Source, &b.Destination, &b.Test, &b.Pending, &b.Oldest); err != nil {
			return nil, storeError("backlogs", err)
		}
		b.Oldest = b.Oldest.UTC()
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError("backlogs", err)
	}
	return out, nil
}
