package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
	"github.com/jackc/pgx/v5"
)

// AlertStates returns every stored alert state.
func (s *Store) AlertStates(ctx context.Context) ([]hookwatch.AlertState, error) {
	rows, err := s.pool.Query(ctx, `SELECT rule, subject, status, since, notified_at, value, summary, updated_at, issue_id, held_back, held_until
		FROM alert_states ORDER BY rule, subject`)
	return collect(rows, err, "alert states", func(r pgx.Row) (hookwatch.AlertState, error) {
		var a hookwatch.AlertState
		var status string
		var since, notified, heldUntil *time.Time
		err := r.Scan(&a.Rule, &a.Subject, &status, &since, &notified, &a.Value, &a.Summary, &a.UpdatedAt, &a.IssueID, &a.HeldBack, &heldUntil)
		a.Status, a.Since, a.NotifiedAt, a.UpdatedAt = hookwatch.AlertStatus(status), utc(since), utc(notified), a.UpdatedAt.UTC()
		a.HeldUntil = utc(heldUntil)
		return a, err
	})
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
	return collect(rows, err, "notifications", func(r pgx.Row) (*hookwatch.Notification, error) {
		var n hookwatch.Notification
		var kind, status, details string
		var sent *time.Time
		if err := r.Scan(&n.ID, &n.Channel, &n.Rule, &n.Subject, &kind, &n.Summary, &n.Value, &n.Threshold, &n.IssueID,
			&status, &n.Attempts, &n.Error, &n.CreatedAt, &sent, &details); err != nil {
			return nil, err
		}
		n.Kind, n.Status, n.CreatedAt, n.SentAt = hookwatch.NotificationKind(kind), hookwatch.NotificationStatus(status), n.CreatedAt.UTC(), utc(sent)
		var err error
		n.Details, err = hookwatch.DecodeAlertDetails(details)
		return &n, err
	})
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
	c := newConds()
	if f.Channel != "" {
		c.Add("channel = ?", text(f.Channel))
	}
	if f.Rule != "" {
		c.Add("rule = ?", text(f.Rule))
	}
	if f.Subject != "" {
		c.Add("subject = ?", text(f.Subject))
	}
	if f.Status != "" {
		c.Add("status = ?", string(f.Status))
	}
	return s.queryNotifications(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE `+c.Where()+
		` ORDER BY created_at DESC, id DESC LIMIT `+c.Arg(sqlq.Limit(f.Limit, 100)), c.Args...)
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
	return collect(rows, err, "silences", scanSilence)
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
