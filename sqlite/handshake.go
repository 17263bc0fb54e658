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
	var ik []byte
	if keyID == hookwatch.InstallationKeyID {
		if ik, err = s.InstallationKey(ctx); err != nil {
			return hookwatch.HandshakeSecret{}, err
		}
	}
	secret, err := s.cipher.OpenSecret(ik, keyID, encrypt.AAD(hookwatch.HandshakeSecretTable, source), sealed)
	if err != nil {
		return hookwatch.HandshakeSecret{}, readError("handshake secret of "+source, err)
	}
	// A secret sealed under another key than the sealing one (before a
	// rotation, or before encryption.keys) is sealed again under it, so
	// that the old key can be removed: best effort, read again next time.
	if kid := s.cipher.KeyID(); kid != "" && kid != keyID {
		if _, resealed, err := s.cipher.SealSecret(nil, encrypt.AAD(hookwatch.HandshakeSecretTable, source), secret); err == nil {
			s.w.ExecContext(ctx, `UPDATE handshake_secrets SET key_id = ?, secret = ? WHERE source = ? AND key_id = ?`, kid, resealed, source, keyID)
		}
	}
	return hookwatch.HandshakeSecret{Source: source, Secret: string(secret), CreatedAt: fromMicros(at)}, nil
}

// KeepHandshakeSecret keeps secret unless one is kept; see
// hookwatch.HandshakeStore.
func (s *Store) KeepHandshakeSecret(ctx context.Context, source, secret string, at time.Time) (bool, error) {
	var ik []byte
	if s.cipher.KeyID() == "" {
		var err error
		if ik, err = s.InstallationKey(ctx); err != nil {
			return false, err
		}
	}
	keyID, sealed, err := s.cipher.SealSecret(ik, encrypt.AAD(hookwatch.HandshakeSecretTable, source), []byte(secret))
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
