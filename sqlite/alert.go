package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// AlertStates returns every stored alert state.
func (s *Store) AlertStates(ctx context.Context) ([]hookwatch.AlertState, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT rule, subject, status, since, notified_at, value, summary, updated_at FROM alert_states ORDER BY rule, subject`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: alert states: %w", err)
	}
	defer rows.Close()
	var out []hookwatch.AlertState
	for rows.Next() {
		var a hookwatch.AlertState
		var status string
		var since, notified, updated int64
		if err := rows.Scan(&a.Rule, &a.Subject, &status, &since, &notified, &a.Value, &a.Summary, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: alert states: %w", err)
		}
		a.Status, a.Since, a.NotifiedAt, a.UpdatedAt = hookwatch.AlertStatus(status), fromMicros(since), fromMicros(notified), fromMicros(updated)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: alert states: %w", err)
	}
	return out, nil
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_states (rule, subject, status, since, notified_at, value, summary, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rule, subject) DO UPDATE SET status = excluded.status, since = excluded.since,
			notified_at = excluded.notified_at, value = excluded.value, summary = excluded.summary, updated_at = excluded.updated_at`,
			a.Rule, a.Subject, string(a.Status), micros(a.Since), micros(a.NotifiedAt), a.Value, truncate(a.Summary, 1000), micros(a.UpdatedAt)); err != nil {
			return writeError("save alerts: state", err)
		}
	}
	for _, n := range queue {
		n.Status = hookwatch.NotificationQueued
		if err := upsertNotification(ctx, tx, n); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return writeError("save alerts: commit", err)
	}
	return nil
}

const notificationColumns = `id, channel, rule, subject, kind, summary, value, threshold, issue_id, status, attempts, error, created_at, sent_at`

func upsertNotification(ctx context.Context, db interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}, n *hookwatch.Notification) error {
	if _, err := db.ExecContext(ctx, `INSERT INTO notifications (`+notificationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts, error = excluded.error, sent_at = excluded.sent_at`,
		n.ID, n.Channel, n.Rule, n.Subject, string(n.Kind), truncate(n.Summary, 2000), n.Value, n.Threshold, n.IssueID,
		string(n.Status), n.Attempts, truncate(n.Error, 1000), micros(n.CreatedAt), micros(n.SentAt)); err != nil {
		return writeError("record notification", err)
	}
	return nil
}

func scanNotification(row interface{ Scan(...any) error }) (*hookwatch.Notification, error) {
	var n hookwatch.Notification
	var kind, status string
	var created, sent int64
	if err := row.Scan(&n.ID, &n.Channel, &n.Rule, &n.Subject, &kind, &n.Summary, &n.Value, &n.Threshold, &n.IssueID,
		&status, &n.Attempts, &n.Error, &created, &sent); err != nil {
		return nil, err
	}
	n.Kind, n.Status, n.CreatedAt, n.SentAt = hookwatch.NotificationKind(kind), hookwatch.NotificationStatus(status), fromMicros(created), fromMicros(sent)
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
		if err := upsertNotification(ctx, tx, n); err != nil {
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
	conds, args := []string{"1 = 1"}, []any{}
	if f.Channel != "" {
		conds, args = append(conds, "channel = ?"), append(args, f.Channel)
	}
	if f.Rule != "" {
		conds, args = append(conds, "rule = ?"), append(args, f.Rule)
	}
	if f.Status != "" {
		conds, args = append(conds, "status = ?"), append(args, string(f.Status))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	return s.queryNotifications(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE `+strings.Join(conds, " AND ")+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, limit)...)
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
