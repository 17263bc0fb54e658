package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hookwatch/hookwatch"
)

// InstallationKey returns the installation key; see hookwatch.Store.
func (s *Store) InstallationKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := s.r.QueryRowContext(ctx, `SELECT key FROM installation_key WHERE id = 1`).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		// Open makes it; only a store opened before the table existed, or
		// whose row was deleted by hand, gets here.
		return s.makeInstallationKey(ctx)
	}
	if err != nil {
		return nil, &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store unreachable", Err: fmt.Errorf("sqlite: installation key: %w", err)}
	}
	return checkKey(key)
}

// makeInstallationKey stores a new installation key unless there is one,
// and returns the one stored. Open calls it, so the key exists before the
// first request is received.
//
// The first time (on a new file, or right after migration 0008 redacted
// the credentials older versions stored), the WAL is truncated: frames
// written before the migration may still hold them.
func (s *Store) makeInstallationKey(ctx context.Context) ([]byte, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO installation_key (id, key, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`,
		hookwatch.NewInstallationKey(), micros(s.now()))
	if err != nil {
		return nil, writeError("installation key", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return nil, writeError("installation key: truncate the WAL", err)
		}
	}
	var key []byte
	if err := s.w.QueryRowContext(ctx, `SELECT key FROM installation_key WHERE id = 1`).Scan(&key); err != nil {
		return nil, writeError("installation key", err)
	}
	return checkKey(key)
}

// checkKey refuses a damaged key: sealing with it would make seals that
// no release can match.
func checkKey(key []byte) ([]byte, error) {
	if len(key) != hookwatch.InstallationKeySize {
		return nil, hookwatch.Errorf(hookwatch.EINTERNAL, "sqlite: the installation key is %d bytes, not %d: the store is damaged", len(key), hookwatch.InstallationKeySize)
	}
	return key, nil
}
