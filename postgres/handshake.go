package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
	"github.com/jackc/pgx/v5"
)

var _ hookwatch.HandshakeStore = (*Store)(nil)

// HandshakeSecret returns the secret kept for source; see
// hookwatch.HandshakeStore.
func (s *Store) HandshakeSecret(ctx context.Context, source string) (hookwatch.HandshakeSecret, error) {
	var (
		keyID  string
		sealed []byte
		at     time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT key_id, secret, created_at FROM handshake_secrets WHERE source = $1`, source).Scan(&keyID, &sealed, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return hookwatch.HandshakeSecret{}, hookwatch.Errorf(hookwatch.ENOTFOUND, "no handshake secret is kept for source %s", source)
	}
	if err != nil {
		return hookwatch.HandshakeSecret{}, unavailable("handshake secret", err)
	}
	aad := encrypt.AAD(hookwatch.HandshakeSecretTable, source)
	secret, err := s.cipher.OpenSecret(func() ([]byte, error) { return s.InstallationKey(ctx) }, keyID, aad, sealed)
	if err != nil {
		return hookwatch.HandshakeSecret{}, storeError("handshake secret of "+source, err)
	}
	// Sealed under another key than the sealing one: sealed again, so that
	// the old key can be removed (best effort, tried again next read).
	if kid, resealed, ok := s.cipher.ResealSecret(keyID, aad, secret); ok {
		s.pool.Exec(ctx, `UPDATE handshake_secrets SET key_id = $1, secret = $2 WHERE source = $3 AND key_id = $4`, kid, resealed, source, keyID)
	}
	return hookwatch.HandshakeSecret{Source: source, Secret: string(secret), CreatedAt: at.UTC()}, nil
}

// KeepHandshakeSecret keeps secret unless one is kept; see
// hookwatch.HandshakeStore.
func (s *Store) KeepHandshakeSecret(ctx context.Context, source, secret string, at time.Time) (bool, error) {
	keyID, sealed, err := s.cipher.SealSecret(func() ([]byte, error) { return s.InstallationKey(ctx) }, encrypt.AAD(hookwatch.HandshakeSecretTable, source), []byte(secret))
	if err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO handshake_secrets (source, key_id, secret, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (source) DO NOTHING`,
		source, keyID, sealed, at.UTC())
	if err != nil {
		return false, storeError("keep handshake secret", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ResetHandshakeSecret removes the secret kept for source; see
// hookwatch.HandshakeStore.
func (s *Store) ResetHandshakeSecret(ctx context.Context, source string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM handshake_secrets WHERE source = $1`, source)
	if err != nil {
		return storeError("reset handshake secret", err)
	}
	if tag.RowsAffected() == 0 {
		return hookwatch.Errorf(hookwatch.ENOTFOUND, "no handshake secret is kept for source %s", source)
	}
	return nil
}
