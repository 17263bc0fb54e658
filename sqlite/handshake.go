package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
)

var _ hookwatch.HandshakeStore = (*Store)(nil)

// HandshakeSecret returns the secret kept for source; see
// hookwatch.HandshakeStore.
func (s *Store) HandshakeSecret(ctx context.Context, source string) (hookwatch.HandshakeSecret, error) {
	var (
		keyID  string
		sealed []byte
		at     int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT key_id, secret, created_at FROM handshake_secrets WHERE source = ?`, source).Scan(&keyID, &sealed, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return hookwatch.HandshakeSecret{}, hookwatch.Errorf(hookwatch.ENOTFOUND, "no handshake secret is kept for source %s", source)
	}
	if err != nil {
		return hookwatch.HandshakeSecret{}, readError("handshake secret", err)
	}
	aad := encrypt.AAD(hookwatch.HandshakeSecretTable, source)
	secret, err := s.cipher.OpenSecret(func() ([]byte, error) { return s.InstallationKey(ctx) }, keyID, aad, sealed)
	if err != nil {
		return hookwatch.HandshakeSecret{}, readError("handshake secret of "+source, err)
	}
	// Sealed under another key than the sealing one: sealed again, so that
	// the old key can be removed (best effort, tried again next read).
	if kid, resealed, ok := s.cipher.ResealSecret(keyID, aad, secret); ok {
		s.w.ExecContext(ctx, `UPDATE handshake_secrets SET key_id = ?, secret = ? WHERE source = ? AND key_id = ?`, kid, resealed, source, keyID)
	}
	return hookwatch.HandshakeSecret{Source: source, Secret: string(secret), CreatedAt: fromMicros(at)}, nil
}

// KeepHandshakeSecret keeps secret unless one is kept; see
// hookwatch.HandshakeStore.
func (s *Store) KeepHandshakeSecret(ctx context.Context, source, secret string, at time.Time) (bool, error) {
	keyID, sealed, err := s.cipher.SealSecret(func() ([]byte, error) { return s.InstallationKey(ctx) }, encrypt.AAD(hookwatch.HandshakeSecretTable, source), []byte(secret))
	if err != nil {
		return false, err
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO handshake_secrets (source, key_id, secret, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (source) DO NOTHING`,
		source, keyID, sealed, micros(at))
	if err != nil {
		return false, writeError("keep handshake secret", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ResetHandshakeSecret removes the secret kept for source; see
// hookwatch.HandshakeStore.
func (s *Store) ResetHandshakeSecret(ctx context.Context, source string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM handshake_secrets WHERE source = ?`, source)
	if err != nil {
		return writeError("reset handshake secret", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return hookwatch.Errorf(hookwatch.ENOTFOUND, "no handshake secret is kept for source %s", source)
	}
	return nil
}
