package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
)

// AlertStates returns every stored alert state.
func (s *Store) AlertStates(ctx context.Context) ([]hookwatch.AlertState, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT rule, subject, status, since, notified_at, value, summary, updated_at, issue_id, held_back, held_until
		FROM alert_states ORDER BY rule, subject`)
	return collect(rows, err, "alert states", func(r row) (hookwatch.AlertState, error) {
		var a hookwatch.AlertState
		var status string
		var since, notified, updated, heldUntil int64
		err := r.Scan(&a.Rule, &a.Subject, &status, &since, &notified, &a.Value, &a.Summary, &updated, &a.IssueID, &a.HeldBack, &heldUntil)
		a.Status, a.Since, a.NotifiedAt, a.UpdatedAt = hookwatch.AlertStatus(status), fromMicros(since), fromMicros(notified), fromMicros(updated)
		a.HeldUntil = fromMicros(heldUntil)
		return a, err
	})
}

// SaveAlerts stores alert states and queues notifications in one transaction.
func (s *Store) SaveAlerts(ctx context.Context, states []hookwatch.AlertState, queue []*hookwatch.Notification) error {
	if len(states) == 0 && len(queue) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return writeError("save alerts: begin", err)
	}
	defer tx.Rollback()
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
	if err := tx.Commit(); err != nil {
		return writeError("save alerts: commit", err)
	}
	return nil
}

// upsertAlertState stores a state, replacing the one of the same rule and
// subject; keep leaves an existing one as it is (an import).
func upsertAlertState(ctx context.Context, db execer, a hookwatch.AlertState, keep bool) error {
	conflict := `DO UPDATE SET status = excluded.status, since = excluded.since, notified_at = excluded.notified_at, value = excluded.value,
		summary = excluded.summary, updated_at = excluded.updated_at, issue_id = excluded.issue_id, held_back = excluded.held_back,
		held_until = excluded.held_until`
	if keep {
		conflict = `DO NOTHING`
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO alert_states (rule, subject, status, since, notified_at, value, summary, updated_at, issue_id, held_back, held_until)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rule, subject) `+conflict,
		a.Rule, a.Subject, string(a.Status), micros(a.Since), micros(a.NotifiedAt), a.Value, truncate(a.Summary, 1000), micros(a.UpdatedAt),
		a.IssueID, truncate(a.HeldBack, 500), micros(a.HeldUntil)); err != nil {
		return writeError("save alerts: state", err)
	}
	return nil
}

const notificationColumns = `id, channel, rule, subject, kind, summary, value, threshold, issue_id, status, attempts, error, created_at, sent_at, details`

// upsertNotification inserts a notification or updates its delivery
// status; keep leaves an existing one as it is (an import).
func upsertNotification(ctx context.Context, db execer, n *hookwatch.Notification, keep bool) error {
	details, err := hookwatch.EncodeAlertDetails(n.Details)
	if err != nil {
		return fmt.Errorf("sqlite: record notification: %w", err)
	}
	conflict := `DO UPDATE SET status = excluded.status, attempts = excluded.attempts, error = excluded.error, sent_at = excluded.sent_at`
	if keep {
		conflict = `DO NOTHING`
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO notifications (`+notificationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) `+conflict,
		n.ID, n.Channel, n.Rule, n.Subject, string(n.Kind), truncate(n.Summary, 2000), n.Value, n.Threshold, n.IssueID,
		string(n.Status), n.Attempts, truncate(n.Error, 1000), micros(n.CreatedAt), micros(n.SentAt), details); err != nil {
		return writeError("record notification", err)
	}
	return nil
}

func scanNotification(row interface{ Scan(...any) error }) (*hookwatch.Notification, error) {
	var n hookwatch.Notification
	var kind, status, details string
	var created, sent int64
	if err := row.Scan(&n.ID, &n.Channel, &n.Rule, &n.Subject, &kind, &n.Summary, &n.Value, &n.Threshold, &n.IssueID,
		&status, &n.Attempts, &n.Error, &created, &sent, &details); err != nil {
		return nil, err
	}
	n.Kind, n.Status, n.CreatedAt, n.SentAt = hookwatch.NotificationKind(kind), hookwatch.NotificationStatus(status), fromMicros(created), fromMicros(sent)
	var err error
	if n.Details, err = hookwatch.DecodeAlertDetails(details); err != nil {
		return nil, err
	}
	return &n, nil
}

func (s *Store) queryNotifications(ctx context.Context, q string, args ...any) ([]*hookwatch.Notification, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	return collect(rows, err, "notifications", scanNotification)
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
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return writeError("record notifications: begin", err)
	}
	defer tx.Rollback()
	for _, n := range ns {
		if err := upsertNotification(ctx, tx, n, false); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return writeError("record notifications: commit", err)
	}
	return nil
}

// ListNotifications returns the alert history, newest first.
func (s *Store) ListNotifications(ctx context.Context, f hookwatch.NotificationFilter) ([]*hookwatch.Notification, error) {
	c := newConds()
	if f.Channel != "" {
		c.Add("channel = ?", f.Channel)
	}
	if f.Rule != "" {
		c.Add("rule = ?", f.Rule)
	}
	if f.Subject != "" {
		c.Add("subject = ?", f.Subject)
	}
	if f.Status != "" {
		c.Add("status = ?", string(f.Status))
	}
	return s.queryNotifications(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE `+c.Where()+
		` ORDER BY created_at DESC, id DESC LIMIT `+c.Arg(sqlq.Limit(f.Limit, 100)), c.Args...)
}

// AcquireLease takes or renews a lease.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO leases (name, owner, until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
		WHERE leases.owner = excluded.owner OR leases.until <= ?`, name, owner, micros(now.Add(ttl)), micros(now))
	if err != nil {
		return false, writeError("acquire lease", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, writeError("acquire lease", err)
	}
	return n > 0, nil
}

// ReleaseLease gives up a lease held by owner.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND owner = ?`, name, owner); err != nil {
		return writeError("release lease", err)
	}
	return nil
}

// AddSilence stores a silence; see hookwatch.AlertStore.
func (s *Store) AddSilence(ctx context.Context, si *hookwatch.Silence) error {
	if err := hookwatch.ValidateSilence(si); err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return writeError("add silence: begin", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM silences WHERE expires_at < ?`, micros(si.CreatedAt.Add(-hookwatch.SilenceRetention))); err != nil {
		return writeError("add silence: forget expired", err)
	}
	if err := insertSilence(ctx, tx, si, false); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return writeError("add silence: commit", err)
	}
	return nil
}

// insertSilence inserts si; with keep, an existing silence of that ID is
// left as it is (an import) instead of being a conflict.
func insertSilence(ctx context.Context, db execer, si *hookwatch.Silence, keep bool) error {
	q := `INSERT INTO silences (id, rule, subject, comment, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	if keep {
		q += ` ON CONFLICT (id) DO NOTHING`
	}
	_, err := db.ExecContext(ctx, q, si.ID, si.Rule, si.Subject, truncate(si.Comment, 1000), truncate(si.CreatedBy, 200),
		micros(si.CreatedAt), micros(si.ExpiresAt))
	if isConstraint(err) {
		return hookwatch.Errorf(hookwatch.ECONFLICT, "silence %s exists", si.ID)
	}
	if err != nil {
		return writeError("add silence", err)
	}
	return nil
}

const silenceColumns = `id, rule, subject, comment, created_by, created_at, expires_at`

func scanSilence(row interface{ Scan(...any) error }) (*hookwatch.Silence, error) {
	var si hookwatch.Silence
	var created, expires int64
	if err := row.Scan(&si.ID, &si.Rule, &si.Subject, &si.Comment, &si.CreatedBy, &created, &expires); err != nil {
		return nil, err
	}
	si.CreatedAt, si.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &si, nil
}

// ListSilences returns the silences expiring after since, soonest first.
func (s *Store) ListSilences(ctx context.Context, since time.Time) ([]*hookwatch.Silence, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+silenceColumns+` FROM silences WHERE expires_at > ? ORDER BY expires_at, id`, micros(since))
	return collect(rows, err, "silences", func(r row) (*hookwatch.Silence, error) { return scanSilence(r) })
}

// RemoveSilence deletes a silence and returns it.
func (s *Store) RemoveSilence(ctx context.Context, id string) (*hookwatch.Silence, error) {
	si, err := scanSilence(s.w.QueryRowContext(ctx, `DELETE FROM silences WHERE id = ? RETURNING `+silenceColumns, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "no silence %s (hookwatch alerts silences lists them)", id)
	}
	if err != nil {
		return nil, writeError("remove silence", err)
	}
	return si, nil
}
