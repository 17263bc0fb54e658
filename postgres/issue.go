package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
	"github.com/jackc/pgx/v5"
)

const issueColumns = `id, fingerprint, kind, source, destination, class, status, priority, test, first_seen, last_seen,
	count, events, dead_letters, last_message, last_event_id, regression, regressed_at, resolved_at, updated_at`

func scanIssue(row pgx.Row) (*hookwatch.Issue, error) {
	var (
		i                      hookwatch.Issue
		kind, status, priority string
		regressed, resolved    *time.Time
	)
	if err := row.Scan(&i.ID, &i.Fingerprint, &kind, &i.Source, &i.Destination, &i.Class, &status, &priority, &i.Test,
		&i.FirstSeen, &i.LastSeen, &i.Count, &i.Events, &i.DeadLetters, &i.LastMessage, &i.LastEventID, &i.Regression,
		&regressed, &resolved, &i.UpdatedAt); err != nil {
		return nil, err
	}
	i.Kind, i.Status, i.Priority = hookwatch.FailureKind(kind), hookwatch.IssueStatus(status), hookwatch.Priority(priority)
	i.FirstSeen, i.LastSeen, i.UpdatedAt = i.FirstSeen.UTC(), i.LastSeen.UTC(), i.UpdatedAt.UTC()
	i.RegressedAt, i.ResolvedAt = fromNull(regressed).UTC(), fromNull(resolved).UTC()
	if regressed == nil {
		i.RegressedAt = time.Time{}
	}
	if resolved == nil {
		i.ResolvedAt = time.Time{}
	}
	return &i, nil
}

// RecordFailures groups failures into issues; see hookwatch.IssueStore
// (hookwatch.RecordFailure decides what each failure changes). Instances
// recording the same new fingerprint at once meet on its unique index: one
// inserts, the other finds the row and locks it.
func (s *Store) RecordFailures(ctx context.Context, fs []hookwatch.Failure) ([]hookwatch.IssueChange, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	var changes []hookwatch.IssueChange
	err := retry(ctx, func() error {
		changes = make([]hookwatch.IssueChange, len(fs))
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			for n, f := range fs {
				ni := hookwatch.NewIssue(f)
				tag, err := tx.Exec(ctx, `INSERT INTO issues (id, fingerprint, kind, source, destination, class, status, priority,
					test, first_seen, last_seen, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
					ON CONFLICT (fingerprint) DO NOTHING`,
					ni.ID, text(ni.Fingerprint), string(ni.Kind), text(ni.Source), text(ni.Destination), text(ni.Class),
					string(ni.Status), string(ni.Priority), ni.Test, ni.FirstSeen, ni.LastSeen, ni.UpdatedAt)
				if err != nil {
					return err
				}
				i, err := scanIssue(tx.QueryRow(ctx, `SELECT `+issueColumns+` FROM issues WHERE fingerprint = $1 FOR UPDATE`, text(ni.Fingerprint)))
				if err != nil {
					return err
				}
				var seen bool
				if f.EventID != "" {
					if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM failures WHERE issue_id = $1 AND event_id = $2)`,
						i.ID, text(f.EventID)).Scan(&seen); err != nil {
						return err
					}
				}
				changes[n] = hookwatch.RecordFailure(i, f, tag.RowsAffected() > 0, !seen)
				// The issue as its text columns hold it (text changes nothing
				// it read from them).
				i.LastMessage, i.LastEventID = text(i.LastMessage), text(i.LastEventID)
				changes[n].Issue = i
				if _, err := tx.Exec(ctx, `UPDATE issues SET kind = $1, status = $2, last_seen = $3, count = $4, events = $5,
					dead_letters = $6, last_message = $7, last_event_id = $8, regression = $9, regressed_at = $10, updated_at = $11
					WHERE id = $12`, string(i.Kind), string(i.Status), i.LastSeen, i.Count, i.Events, i.DeadLetters, i.LastMessage,
					i.LastEventID, i.Regression, nullTime(i.RegressedAt), i.UpdatedAt, i.ID); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO failures (issue_id, kind, source, destination, class, event_id, delivery_id, test, at, message)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, i.ID, string(f.Kind), text(f.Source), text(f.Destination),
					text(f.Class), text(f.EventID), text(f.DeliveryID), f.Test, f.At, text(truncate(f.Message, hookwatch.MaxFailureMessage))); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, storeError("record failures", err)
	}
	return changes, nil
}

// GetIssue returns an issue with its comments.
func (s *Store) GetIssue(ctx context.Context, id string) (*hookwatch.Issue, error) {
	return getIssue(ctx, s.pool, id)
}

func getIssue(ctx context.Context, q queryer, id string) (*hookwatch.Issue, error) {
	i, err := scanIssue(q.QueryRow(ctx, `SELECT `+issueColumns+` FROM issues WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "issue %s not found", id)
	} else if err != nil {
		return nil, storeError("get issue", err)
	}
	rows, err := q.Query(ctx, `SELECT id, author, at, body FROM issue_comments WHERE issue_id = $1 ORDER BY at, seq`, id)
	i.Comments, err = collect(rows, err, "get issue comments", func(r pgx.Row) (*hookwatch.IssueComment, error) {
		var c hookwatch.IssueComment
		err := r.Scan(&c.ID, &c.Author, &c.At, &c.Body)
		c.At = c.At.UTC()
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
		c.Add("source = ?", text(f.Source))
	}
	if f.Destination != "" {
		c.Add("destination = ?", text(f.Destination))
	}
	if f.Class != "" {
		c.Add("class = ?", text(f.Class))
	}
	if f.Priority != "" {
		c.Add("priority = ?", string(f.Priority))
	}
	if f.Test != nil {
		c.Add("test = ?", *f.Test)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+issueColumns+` FROM issues WHERE `+c.Where()+
		` ORDER BY last_seen DESC, id DESC LIMIT `+c.Arg(sqlq.Limit(f.Limit, 100)), c.Args...)
	return collect(rows, err, "list issues", scanIssue)
}

// UpdateIssue changes an issue's status or priority, or comments on it.
func (s *Store) UpdateIssue(ctx context.Context, id string, u hookwatch.IssueUpdate) (*hookwatch.Issue, error) {
	if err := hookwatch.ValidateIssueUpdate(u); err != nil {
		return nil, err
	}
	var got *hookwatch.Issue
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		i, err := scanIssue(tx.QueryRow(ctx, `SELECT `+issueColumns+` FROM issues WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return hookwatch.Errorf(hookwatch.ENOTFOUND, "issue %s not found", id)
		} else if err != nil {
			return err
		}
		for _, body := range hookwatch.ApplyIssueUpdate(i, u) {
			if _, err := tx.Exec(ctx, `INSERT INTO issue_comments (id, issue_id, author, at, body) VALUES ($1, $2, $3, $4, $5)`,
				hookwatch.NewID("cmt", u.Now), id, text(u.Actor), u.Now, text(body)); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE issues SET status = $1, priority = $2, resolved_at = $3, updated_at = $4 WHERE id = $5`,
			string(i.Status), string(i.Priority), nullTime(i.ResolvedAt), i.UpdatedAt, id); err != nil {
			return err
		}
		got, err = getIssue(ctx, tx, id)
		return err
	})
	if err != nil {
		if hookwatch.ErrorCode(err) != hookwatch.EINTERNAL {
			return nil, err
		}
		return nil, storeError("update issue", err)
	}
	return got, nil
}

// CountFailures counts failures in [since, until).
func (s *Store) CountFailures(ctx context.Context, since, until time.Time, test bool) ([]hookwatch.FailureCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, source, destination, class, count(*) FROM failures
		WHERE at >= $1 AND at < $2 AND ($3 OR NOT test) GROUP BY kind, source, destination, class ORDER BY kind, source, destination, class`,
		since, until, test)
	return collect(rows, err, "count failures", func(r pgx.Row) (hookwatch.FailureCount, error) {
		var c hookwatch.FailureCount
		err := r.Scan(&c.Kind, &c.Source, &c.Destination, &c.Class, &c.Count)
		return c, err
	})
}

// pruneBatch is how many rows one prune statement deletes at most, so a
// first prune of a large table does not hold one long transaction.
const pruneBatch = 1000

// PruneFailures applies the failures' retention bounds; see
// hookwatch.IssueStore.
func (s *Store) PruneFailures(ctx context.Context, before time.Time, keep int) (int, error) {
	n := 0
	if !before.IsZero() {
		d, err := s.deleteBatches(ctx, `DELETE FROM failures WHERE id IN (SELECT id FROM failures WHERE at < $1 LIMIT $2)`, before)
		n += d
		if err != nil {
			return n, err
		}
	}
	if keep > 0 {
		// The keep-th most recent; nothing to do when there are fewer.
		var cutoff int64
		err := s.pool.QueryRow(ctx, `SELECT id FROM failures ORDER BY id DESC LIMIT 1 OFFSET $1`, keep-1).Scan(&cutoff)
		if errors.Is(err, pgx.ErrNoRows) {
			return n, nil
		} else if err != nil {
			return n, storeError("prune failures", err)
		}
		d, err := s.deleteBatches(ctx, `DELETE FROM failures WHERE id IN (SELECT id FROM failures WHERE id < $1 ORDER BY id LIMIT $2)`, cutoff)
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
		tag, err := s.pool.Exec(ctx, query, arg, limit)
		if err != nil {
			return 0, storeError("prune failures", err)
		}
		return tag.RowsAffected(), nil
	})
}

// IssueFailures returns an issue's most recent failures; see
// hookwatch.IssueStore.
func (s *Store) IssueFailures(ctx context.Context, issueID string, limit int) ([]hookwatch.Failure, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, source, destination, class, event_id, delivery_id, test, at, message
		FROM failures WHERE issue_id = $1 ORDER BY id DESC LIMIT $2`, issueID, sqlq.Limit(limit, 20))
	if err != nil {
		return nil, storeError("issue failures", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hookwatch.Failure, error) {
		var f hookwatch.Failure
		err := r.Scan(&f.Kind, &f.Source, &f.Destination, &f.Class, &f.EventID, &f.DeliveryID, &f.Test, &f.At, &f.Message)
		f.At = f.At.UTC()
		return f, err
	})
	if err != nil {
		return nil, storeError("issue failures", err)
	}
	return out, nil
}
