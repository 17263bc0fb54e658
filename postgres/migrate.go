package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/hookwatch/hookwatch/sqlq"
	"github.com/jackc/pgx/v5"
)

// migrations are the schema changes, numbered as in the SQLite store.
//
//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies the embedded migrations not yet recorded, in the order of
// their number, each in its own transaction, and returns the names of those
// it applied. Concurrent callers (instances starting together) wait for one
// another on an advisory lock, so each migration is applied once.
func (s *Store) Migrate(ctx context.Context) (applied []string, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, unavailable("migrate", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+lockKey+`)`, "migrate"); err != nil {
		conn.Conn().Close(context.Background()) // the pool drops it
		return nil, unavailable("migrate: lock", err)
	}
	defer func() {
		if _, uerr := conn.Exec(context.Background(), `SELECT pg_advisory_unlock(`+lockKey+`)`, "migrate"); uerr != nil {
			// Never hand back to the pool a connection that may hold the lock.
			conn.Conn().Close(context.Background())
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)`); err != nil {
		return nil, storeError("migrate", err)
	}
	ms, err := sqlq.Migrations(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return sqlq.Migrate(ctx, ms, func(ctx context.Context, version int) (bool, error) {
		var done bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version).Scan(&done); err != nil {
			return false, storeError("migrate", err)
		}
		return done, nil
	}, func(ctx context.Context, m sqlq.Migration) error {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// The simple protocol runs a file of several statements.
			if _, err := tx.Exec(ctx, m.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, m.Version, m.Name, s.now())
			return err
		})
		if err != nil {
			return storeError("migration "+m.Name, err)
		}
		return nil
	})
}

// SchemaVersion returns the number of the last migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, storeError("schema version", err)
	}
	return v, nil
}
