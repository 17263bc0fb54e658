package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var _ hookwatch.UserStore = (*Store)(nil)

// isUnique reports a unique or primary key violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// isForeignKey reports a foreign key violation: the user does not exist.
func isForeignKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// CreateUser stores a new user; see hookwatch.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *hookwatch.User) error {
	if u.Name == "" || len(u.PasswordHash) == 0 {
		return hookwatch.Errorf(hookwatch.EINVALID, "a user needs a name and a password")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO users (name, password_hash, created_at) VALUES ($1, $2, $3)`,
		u.Name, u.PasswordHash, u.CreatedAt)
	if isUnique(err) {
		return hookwatch.Errorf(hookwatch.ECONFLICT, "user %q already exists", u.Name)
	} else if err != nil {
		return storeError("create user", err)
	}
	return nil
}

// GetUser returns one user.
func (s *Store) GetUser(ctx context.Context, name string) (*hookwatch.User, error) {
	var u hookwatch.User
	err := s.pool.QueryRow(ctx, `SELECT name, password_hash, created_at FROM users WHERE name = $1`, name).
		Scan(&u.Name, &u.PasswordHash, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "no user %q", name)
	} else if err != nil {
		return nil, storeError("get user", err)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

// ListUsers returns every user by name.
func (s *Store) ListUsers(ctx context.Context) ([]*hookwatch.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, password_hash, created_at FROM users ORDER BY name`)
	if err != nil {
		return nil, storeError("list users", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookwatch.User, error) {
		var u hookwatch.User
		err := row.Scan(&u.Name, &u.PasswordHash, &u.CreatedAt)
		u.CreatedAt = u.CreatedAt.UTC()
		return &u, err
	})
	if err != nil {
		return nil, storeError("list users", err)
	}
	return out, nil
}

// DeleteUser deletes a user; its sessions and tokens go with it (ON DELETE
// CASCADE), in the same statement.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM users WHERE name = $1`, name)
	if err != nil {
		return storeError("delete user", err)
	}
	if tag.RowsAffected() == 0 {
		return hookwatch.Errorf(hookwatch.ENOTFOUND, "no user %q", name)
	}
	return nil
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, se *hookwatch.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (id, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		se.ID, se.User, se.CSRF, se.CreatedAt, se.ExpiresAt)
	switch {
	case isForeignKey(err):
		return hookwatch.Errorf(hookwatch.ENOTFOUND, "no user %q", se.User)
	case isUnique(err):
		return hookwatch.Errorf(hookwatch.ECONFLICT, "session exists")
	case err != nil:
		return storeError("create session", err)
	}
	return nil
}

// GetSession returns a live session.
func (s *Store) GetSession(ctx context.Context, id string, now time.Time) (*hookwatch.Session, error) {
	var se hookwatch.Session
	err := s.pool.QueryRow(ctx, `SELECT id, user_name, csrf, created_at, expires_at FROM sessions WHERE id = $1 AND expires_at > $2`,
		id, now).Scan(&se.ID, &se.User, &se.CSRF, &se.CreatedAt, &se.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "no such session")
	} else if err != nil {
		return nil, storeError("get session", err)
	}
	se.CreatedAt, se.ExpiresAt = se.CreatedAt.UTC(), se.ExpiresAt.UTC()
	return &se, nil
}

// DeleteSession deletes a session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id); err != nil {
		return storeError("delete session", err)
	}
	return nil
}

// DeleteExpiredSessions deletes expired sessions.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, storeError("delete expired sessions", err)
	}
	return int(tag.RowsAffected()), nil
}

// CreateAPIToken stores a token.
func (s *Store) CreateAPIToken(ctx context.Context, t *hookwatch.APIToken) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO api_tokens (id, user_name, name, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		t.ID, t.User, t.Name, t.Hash, t.CreatedAt, nullTime(t.ExpiresAt))
	switch {
	case isForeignKey(err):
		return hookwatch.Errorf(hookwatch.ENOTFOUND, "no user %q", t.User)
	case isUnique(err):
		return hookwatch.Errorf(hookwatch.ECONFLICT, "token %s exists", t.ID)
	case err != nil:
		return storeError("create token", err)
	}
	return nil
}

const tokenColumns = `id, user_name, name, hash, created_at, expires_at`

func scanToken(row pgx.Row) (*hookwatch.APIToken, error) {
	var (
		t       hookwatch.APIToken
		expires *time.Time
	)
	if err := row.Scan(&t.ID, &t.User, &t.Name, &t.Hash, &t.CreatedAt, &expires); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), fromNull(expires)
	return &t, nil
}

// GetAPIToken returns the live token with the given hash.
func (s *Store) GetAPIToken(ctx context.Context, hash string, now time.Time) (*hookwatch.APIToken, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1 AND (expires_at IS NULL OR expires_at > $2)`,
		hash, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hookwatch.Errorf(hookwatch.ENOTFOUND, "no such token")
	} else if err != nil {
		return nil, storeError("get token", err)
	}
	return t, nil
}

// ListAPITokens returns every token, oldest first.
func (s *Store) ListAPITokens(ctx context.Context) ([]*hookwatch.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, storeError("list tokens", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookwatch.APIToken, error) { return scanToken(row) })
	if err != nil {
		return nil, storeError("list tokens", err)
	}
	return out, nil
}

// DeleteAPIToken deletes a token.
func (s *Store) DeleteAPIToken(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
	if err != nil {
		return storeError("delete token", err)
	}
	if tag.RowsAffected() == 0 {
		return hookwatch.Errorf(hookwatch.ENOTFOUND, "no token %s", id)
	}
	return nil
}
