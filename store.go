package hookwatch

import "context"

// Store is everything Hookwatch keeps. sqlite.Store and postgres.Store
// implement it, and both pass the storetest suite.
type Store interface {
	EventStore
	DeliveryStore
	IssueStore
	AlertStore
	HealthStore
	QuarantineStore
	UserStore

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
