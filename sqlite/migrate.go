package sqlite

import (
	"context"
	"embed"
	"fmt"

	"github.com/hookwatch/hookwatch/sqlq"
)

// migrations are the schema changes, numbered as in the PostgreSQL store.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies the embedded migrations not yet recorded, each in its own
// transaction, in the order of their number (sqlq.Migrate). The single
// writer connection serialises it with any other process's.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	ms, err := sqlq.Migrations(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	_, err = sqlq.Migrate(ctx, ms, func(ctx context.Context, version int) (bool, error) {
		var done int
		if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&done); err != nil {
			return false, fmt.Errorf("sqlite: migrate: %w", err)
		}
		return done > 0, nil
	}, func(ctx context.Context, m sqlq.Migration) error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, micros(s.now())); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		return nil
	})
	return err
}
