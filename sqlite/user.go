package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

var _ hookwatch.UserStore = (*Store)(nil)

// isConstraint reports a UNIQUE or PRIMARY KEY violation.
func isConstraint(err error) bool {
	var se *sqlite3.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3lib.SQLITE_CONSTRAINT
}

// CreateUser stores a new user; see hookwatch.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *hookwatch.User) error {
	if u.Name == "" || len(u.PasswordHash) == 0 {
		return hookwatch.Errorf(hookwatch.EINVALID, "a user needs a name and a password")
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)`,
		u.Name, u.PasswordHash, micros(u.CreatedAt))
	if isConstraint(err) {
		return hookwatch.Errorf(hookwatch.ECONFLICT, "user %q already exists", u.Name)
	} else if err != nil {
		return writeError("create user", err)
	}
	return nil
}

// GetUser returns one user.
func (s *Store) GetUser(ctx context.Context, name string) (*hookwatch.User, error) {
	var (
		u       hookwatch.User
		created int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT name, password_hash, created_at FROM users WHERE name = ?`, name).
		Scan(&u.Name, &u.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "no user %q", name)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: get user: %w", err)
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

// ListUsers returns every user by name.
func (s *Store) ListUsers(ctx context.Context) ([]*hookwatch.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, password_hash, created_at FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	var out []*hookwatch.User
	for rows.Next() {
		var (
			u       hookwatch.User
			created int64
		)
		if err := rows.Scan(&u.Name, &u.PasswordHash, &created); err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		u.CreatedAt = fromMicros(created)
		out = append(out, &u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	return out, nil
}

// DeleteUser deletes a user with its sessions and tokens.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return writeError("begin", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM sessions WHERE user_name = ?`, `DELETE FROM api_tokens WHERE user_name = ?`} {
		if _, err := tx.ExecContext(ctx, q, name); err != nil {
			return writeError("delete user", err)
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
	if err != nil {
		return writeError("delete user", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return hookwatch.Errorf(hookwatch.ENOTFOUND, "no user %q", name)
	}
	if err := tx.Commit(); err != nil {
		return writeError("commit", err)
	}
	return nil
}

// userExists checks inside tx that a user exists, so that callers get
// ENOTFOUND rather than a foreign key failure.
func userExists(ctx context.Context, tx *sql.Tx, name string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, name).Scan(&n); err != nil {
		return writeError("find user", err)
	}
	if n == 0 {
		return hookwatch.Errorf(hookwatch.ENOTFOUND, "no user %q", name)
	}
	return nil
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, se *hookwatch.Session) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return writeError("begin", err)
	}
	defer tx.Rollback()
	if err := userExists(ctx, tx, se.User); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_name, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		se.ID, se.User, se.CSRF, micros(se.CreatedAt), micros(se.ExpiresAt)); err != nil {
		if isConstraint(err) {
			return hookwatch.Errorf(hookwatch.ECONFLICT, "session exists")
		}
		return writeError("create session", err)
	}
	if err := tx.Commit(); err != nil {
		return writeError("commit", err)
	}
	return nil
}

// GetSession returns a live session.
func (s *Store) GetSession(ctx context.Context, id string, now time.Time) (*hookwatch.Session, error) {
	var (
		se               hookwatch.Session
		created, expires int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, user_name, csrf, created_at, expires_at FROM sessions WHERE id = ? AND expires_at > ?`,
		id, micros(now)).Scan(&se.ID, &se.User, &se.CSRF, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "no such session")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: get session: %w", err)
	}
	se.CreatedAt, se.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &se, nil
}

// DeleteSession deletes a session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return writeError("delete session", err)
	}
	return nil
}

// DeleteExpiredSessions deletes expired sessions.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, micros(now))
	if err != nil {
		return 0, writeError("delete expired sessions", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// CreateAPIToken stores a token.
func (s *Store) CreateAPIToken(ctx context.Context, t *hookwatch.APIToken) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return writeError("begin", err)
	}
	defer tx.Rollback()
	if err := userExists(ctx, tx, t.User); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, user_name, name, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.User, t.Name, t.Hash, micros(t.CreatedAt), micros(t.ExpiresAt)); err != nil {
		if isConstraint(err) {
			return hookwatch.Errorf(hookwatch.ECONFLICT, "token %s exists", t.ID)
		}
		return writeError("create token", err)
	}
	if err := tx.Commit(); err != nil {
		return writeError("commit", err)
	}
	return nil
}

const tokenColumns = `id, user_name, name, hash, created_at, expires_at`

func scanToken(row interface{ Scan(...any) error }) (*hookwatch.APIToken, error) {
	var (
		t                hookwatch.APIToken
		created, expires int64
	)
	if err := row.Scan(&t.ID, &t.User, &t.Name, &t.Hash, &created, &expires); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &t, nil
}

// GetAPIToken returns the live token with the given hash.
func (s *Store) GetAPIToken(ctx context.Context, hash string, now time.Time) (*hookwatch.APIToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ? AND (expires_at = 0 OR expires_at > ?)`,
		hash, micros(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "no such token")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: get token: %w", err)
	}
	return t, nil
}

// ListAPITokens returns every token, oldest first.
func (s *Store) ListAPITokens(ctx context.Context) ([]*hookwatch.APIToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	return collect(rows, err, "list tokens", scanToken)
}

// DeleteAPIToken deletes a token.
func (s *Store) DeleteAPIToken(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?`, id)
	if err != nil {
		return writeError("delete token", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return hookwatch.Errorf(hookwatch.ENOTFOUND, "no token %s", id)
	}
	return nil
}
