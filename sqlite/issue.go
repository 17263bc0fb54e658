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

const issueColumns = `id, fingerprint, kind, source, destination, class, status, priority, test, first_seen, last_seen,
	count, events, dead_letters, last_message, last_event_id, regression, regressed_at, resolved_at, updated_at`

func scanIssue(row interface{ Scan(...any) error }) (*hookwatch.Issue, error) {
	var (
		i                                   hookwatch.Issue
		kind, status, priority              string
		first, last, regressed, res, update int64
	)
	if err := row.Scan(&i.ID, &i.Fingerprint, &kind, &i.Source, &i.Destination, &i.Class, &status, &priority, &i.Test,
		&first, &last, &i.Count, &i.Events, &i.DeadLetters, &i.LastMessage, &i.LastEventID, &i.Regression,
		&regressed, &res, &update); err != nil {
		return nil, err
	}
	i.Kind, i.Status, i.Priority = hookwatch.FailureKind(kind), hookwatch.IssueStatus(status), hookwatch.Priority(priority)
	i.FirstSeen, i.LastSeen, i.RegressedAt = fromMicros(first), fromMicros(last), fromMicros(regressed)
	i.ResolvedAt, i.UpdatedAt = fromMicros(res), fromMicros(update)
	return &i, nil
}

// RecordFailures groups failures into issues; see hookwatch.IssueStore
// (hookwatch.RecordFailure decides what each failure changes).
func (s *Store) RecordFailures(ctx context.Context, fs []hookwatch.Failure) ([]hookwatch.IssueChange, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, writeError("record failures: begin", err)
	}
	defer tx.Rollback()
	changes := make([]hookwatch.IssueChange, len(fs))
	for n, f := range fs {
		i, err := scanIssue(tx.QueryRowContext(ctx, `SELECT `+issueColumns+` FROM issues WHERE fingerprint = ?`, f.Fingerprint()))
		isNew := errors.Is(err, sql.ErrNoRows)
		switch {
		case isNew:
			i = hookwatch.NewIssue(f)
			if _, err := tx.ExecContext(ctx, `INSERT INTO issues (id, fingerprint, kind, source, destination, class, status, priority,
				test, first_seen, last_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				i.ID, i.Fingerprint, string(i.Kind), i.Source, i.Destination, i.Class, string(i.Status), string(i.Priority), i.Test,
				micros(i.FirstSeen), micros(i.LastSeen), micros(i.UpdatedAt)); err != nil {
				return nil, writeError("record failures: insert issue", err)
			}
		case err != nil:
			return nil, writeError("record failures: read issue", err)
		}
		var seen int
		if f.EventID != "" {
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM failures WHERE issue_id = ? AND event_id = ? LIMIT 1)`,
				i.ID, f.EventID).Scan(&seen); err != nil {
				return nil, writeError("record failures: affected events", err)
			}
		}
		changes[n] = hookwatch.RecordFailure(i, f, isNew, seen == 0)
		if _, err := tx.ExecContext(ctx, `UPDATE issues SET kind = ?, status = ?, last_seen = ?, count = ?, events = ?, dead_letters = ?,
			last_message = ?, last_event_id = ?, regression = ?, regressed_at = ?, updated_at = ? WHERE id = ?`,
			string(i.Kind), string(i.Status), micros(i.LastSeen), i.Count, i.Events, i.DeadLetters, i.LastMessage, i.LastEventID,
			i.Regression, micros(i.RegressedAt), micros(i.UpdatedAt), i.ID); err != nil {
			return nil, writeError("record failures: update issue", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO failures (issue_id, kind, source, destination, class, event_id, delivery_id, test, at, message)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, i.ID, string(f.Kind), f.Source, f.Destination, f.Class, f.EventID, f.DeliveryID,
			f.Test, micros(f.At), truncate(f.Message, hookwatch.MaxFailureMessage)); err != nil {
			return nil, writeError("record failures: insert failure", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, writeError("record failures: commit", err)
	}
	return changes, nil
}

// GetIssue returns an issue with its comments.
func (s *Store) GetIssue(ctx context.Context, id string) (*hookwatch.Issue, error) {
	return getIssue(ctx, s.r, id)
}

func getIssue(ctx context.Context, q querier, id string) (*hookwatch.Issue, error) {
	i, err := scanIssue(q.QueryRowContext(ctx, `SELECT `+issueColumns+` FROM issues WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "issue %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: get issue: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT id, author, at, body FROM issue_comments WHERE issue_id = ? ORDER BY at, rowid`, id)
	i.Comments, err = collect(rows, err, "get issue comments", func(r row) (*hookwatch.IssueComment, error) {
		var c hookwatch.IssueComment
		var at int64
		err := r.Scan(&c.ID, &c.Author, &at, &c.Body)
		c.At = fromMicros(at)
		return &c, err
	})
	if err != nil {
		return nil, err
	}
	return i, nil
}

// ListIssues returns issues matching f, most recently seen first.
func (s *Store) ListIssues(ctx context.Context, f hookwatch.IssueFilter) ([]*hookwatch.Issue, error) {
	c := newConds()
	if f.Status != "" {
		c.Add("status = ?", string(f.Status))
	}
	if f.Source != "" {
		c.Add("source = ?", f.Source)
	}
	if f.Destination != "" {
		c.Add("destination = ?", f.Destination)
	}
	if f.Class != "" {
		c.Add("class = ?", f.Class)
	}
	if f.Priority != "" {
		c.Add("priority = ?", string(f.Priority))
	}
	if f.Test != nil {
		c.Add("test = ?", *f.Test)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+issueColumns+` FROM issues WHERE `+c.Where()+
		` ORDER BY last_seen DESC, id DESC LIMIT `+c.Arg(sqlq.Limit(f.Limit, 100)), c.Args...)
	return collect(rows, err, "list issues", scanIssue)
}

// UpdateIssue changes an issue's status or priority, or comments on it.
func (s *Store) UpdateIssue(ctx context.Context, id string, u hookwatch.IssueUpdate) (*hookwatch.Issue, error) {
	if err := hookwatch.ValidateIssueUpdate(u); err != nil {
		return nil, err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, writeError("update issue: begin", err)
	}
	defer tx.Rollback()
	i, err := scanIssue(tx.QueryRowContext(ctx, `SELECT `+issueColumns+` FROM issues WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "issue %s not found", id)
	} else if err != nil {
		return nil, writeError("update issue: read", err)
	}
	for _, body := range hookwatch.ApplyIssueUpdate(i, u) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO issue_comments (id, issue_id, author, at, body) VALUES (?, ?, ?, ?, ?)`,
			hookwatch.NewID("cmt", u.Now), id, u.Actor, micros(u.Now), body); err != nil {
			return nil, writeError("update issue: comment", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE issues SET status = ?, priority = ?, resolved_at = ?, updated_at = ? WHERE id = ?`,
		string(i.Status), string(i.Priority), micros(i.ResolvedAt), micros(i.UpdatedAt), id); err != nil {
		return nil, writeError("update issue", err)
	}
	got, err := getIssue(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, writeError("update issue: commit", err)
	}
	return got, nil
}

// CountFailures counts failures in [since, until).
func (s *Store) CountFailures(ctx context.Context, since, until time.Time, test bool) ([]hookwatch.FailureCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, source, destination, class, count(*) FROM failures
		WHERE at >= ? AND at < ? AND (? OR test = 0) GROUP BY kind, source, destination, class ORDER BY kind, source, destination, class`,
		micros(since), micros(until), test)
	return collect(rows, err, "count failures", func(r row) (hookwatch.FailureCount, error) {
		var c hookwatch.FailureCount
		err := r.Scan(&c.Kind, &c.Source, &c.Destination, &c.Class, &c.Count)
		return c, err
	})
}

// pruneBatch is how many rows one prune transaction deletes at most: the
// single writer connection is free for commits between batches.
const pruneBatch = 1000

// PruneFailures applies the failures' retention bounds; see
// hookwatch.IssueStore.
func (s *Store) PruneFailures(ctx context.Context, before time.Time, keep int) (int, error) {
	n := 0
	if !before.IsZero() {
		d, err := s.deleteBatches(ctx, `DELETE FROM failures WHERE id IN (SELECT id FROM failures WHERE at < ? LIMIT ?)`, micros(before))
		n += d
		if err != nil {
			return n, err
		}
	}
	if keep > 0 {
		// The keep-th most recent; nothing to do when there are fewer.
		var cutoff int64
		err := s.r.QueryRowContext(ctx, `SELECT id FROM failures ORDER BY id DESC LIMIT 1 OFFSET ?`, keep-1).Scan(&cutoff)
		if errors.Is(err, sql.ErrNoRows) {
			return n, nil
		} else if err != nil {
			return n, fmt.Errorf("sqlite: prune failures: %w", err)
		}
		d, err := s.deleteBatches(ctx, `DELETE FROM failures WHERE id IN (SELECT id FROM failures WHERE id < ? ORDER BY id LIMIT ?)`, cutoff)
		n += d
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// deleteBatches runs a DELETE taking (arg, limit) in batches of pruneBatch
// (sqlq.DeleteBatches) and returns how many it deleted.
func (s *Store) deleteBatches(ctx context.Context, query string, arg any) (int, error) {
	return sqlq.DeleteBatches(ctx, pruneBatch, func(ctx context.Context, limit int) (int64, error) {
		res, err := s.w.ExecContext(ctx, query, arg, limit)
		if err != nil {
			return 0, writeError("prune failures", err)
		}
		return res.RowsAffected()
	})
}

// IssueFailures returns an issue's most recent failures; see
// hookwatch.IssueStore.
func (s *Store) IssueFailures(ctx context.Context, issueID string, limit int) ([]hookwatch.Failure, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, source, destination, class, event_id, delivery_id, test, at, message
		FROM failures WHERE issue_id = ? ORDER BY id DESC LIMIT ?`, issueID, sqlq.Limit(limit, 20))
	return collect(rows, err, "issue failures", func(r row) (hookwatch.Failure, error) {
		var (
			f  hookwatch.Failure
			at int64
		)
		err := r.Scan(&f.Kind, &f.Source, &f.Destination, &f.Class, &f.EventID, &f.DeliveryID, &f.Test, &at, &f.Message)
		f.At = fromMicros(at)
		return f, err
	})
}
