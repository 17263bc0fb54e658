package hookwatch

import (
	"context"
	"time"
)

// Store is everything Hookwatch keeps. sqlite.Store and postgres.Store
// implement it, and both pass the storetest suite.
type Store interface {
	EventStore
	DeliveryStore
	IssueStore
	AlertStore
	HealthStore
	SeriesStore
	QuarantineStore
	UserStore
	RetentionStore
	PurgeStore
	HandshakeStore

	// InstallationKey returns the installation's secret key: 32 random bytes
	// made with crypto/rand when the store is first opened, kept in the
	// store (one row), and carried by `hookwatch store copy`. Token headers
	// a kept request must be verified with later (GitLab's X-Gitlab-Token in
	// the quarantine) are stored sealed under it (SealHeaders), never as
	// they came. Errors: EUNAVAILABLE when the store cannot be read or
	// written now; EINTERNAL when the stored key is damaged (not 32 bytes).
	InstallationKey(ctx context.Context) ([]byte, error)

	// Ping checks that the store can be reached.
	// It returns an error with code EUNAVAILABLE when it cannot.
	Ping(ctx context.Context) error

	// ProbeWrite proves the store can still commit: it writes a few bytes
	// durably (a one-row table; on SQLite also a small file beside the
	// database, which a full or read-only volume refuses). The readiness
	// check calls it periodically, never per request. Errors have code
	// EUNAVAILABLE.
	ProbeWrite(ctx context.Context) error

	// Close releases the store's resources. Pending writes are finished first.
	Close() error
}

// HandshakeStore keeps the secrets providers hand over in a handshake
// (HandshakeSecret), one per source. A secret is sealed at rest: under the
// encryption key (encryption.keys) when one is configured, else under the
// installation key, never in plaintext.
type HandshakeStore interface {
	// HandshakeSecret returns the secret kept for source. Errors: ENOTFOUND
	// when none is kept; EUNAVAILABLE when the store cannot be read now;
	// EINVALID when it is sealed under a key the store was not given.
	HandshakeSecret(ctx context.Context, source string) (HandshakeSecret, error)

	// KeepHandshakeSecret keeps secret for source, received at at, unless
	// one is kept already, and reports whether it did: concurrent callers
	// agree on one secret. Errors: EUNAVAILABLE when the store cannot be
	// written now.
	KeepHandshakeSecret(ctx context.Context, source, secret string, at time.Time) (kept bool, err error)

	// ResetHandshakeSecret removes the secret kept for source, so that the
	// next handshake's is kept. Errors: ENOTFOUND when none is kept;
	// EUNAVAILABLE when the store cannot be written now.
	ResetHandshakeSecret(ctx context.Context, source string) error
}
