package postgres

import (
	"context"
	"errors"

	"github.com/hookwatch/hookwatch"
	"github.com/jackc/pgx/v5"
)

// InstallationKey returns the installation key; see hookwatch.Store. The
// first caller on a new database makes it; instances starting together
// agree on one (the insert does nothing when a row exists).
func (s *Store) InstallationKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := s.pool.QueryRow(ctx, `SELECT key FROM installation_key WHERE id = 1`).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := s.pool.Exec(ctx, `INSERT INTO installation_key (id, key, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING`,
			hookwatch.NewInstallationKey(), s.now()); err != nil {
			return nil, storeError("installation key", err)
		}
		err = s.pool.QueryRow(ctx, `SELECT key FROM installation_key WHERE id = 1`).Scan(&key)
	}
	if err != nil {
		return nil, unavailable("installation key", err)
	}
	if len(key) != hookwatch.InstallationKeySize {
		return nil, hookwatch.Errorf(hookwatch.EINTERNAL, "postgres: the installation key is %d bytes, not %d: the store is damaged", len(key), hookwatch.InstallationKeySize)
	}
	return key, nil
}

// ImportInstallationKey makes key the installation key (the import side of
// `hookwatch store copy`, so that the quarantine's seals copied from the
// other store stay comparable) and reports whether it replaced a different
// one. Requests this database quarantined itself under the replaced key can
// then only be released unverified.
func (s *Store) ImportInstallationKey(ctx context.Context, key []byte) (replaced bool, err error) {
	if len(key) != hookwatch.InstallationKeySize {
		return false, hookwatch.Errorf(hookwatch.EINVALID, "postgres: an installation key is %d bytes, not %d", hookwatch.InstallationKeySize, len(key))
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var old []byte
		switch err := tx.QueryRow(ctx, `SELECT key FROM installation_key WHERE id = 1 FOR UPDATE`).Scan(&old); {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		default:
			replaced = string(old) != string(key)
		}
		_, err := tx.Exec(ctx, `INSERT INTO installation_key (id, key, created_at) VALUES (1, $1, $2)
			ON CONFLICT (id) DO UPDATE SET key = excluded.key, created_at = excluded.created_at`, key, s.now())
		return err
	})
	s.subjectKey.Store(nil)
	if err != nil {
		return false, storeError("import installation key", err)
	}
	return replaced, nil
}
