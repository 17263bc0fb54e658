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

	// Ping checks that the store can be reached and written; /readyz uses it.
	// It returns an error with code EUNAVAILABLE when it cannot.
	Ping(ctx context.Context) error

	// Close releases the store's resources. Pending writes are finished first.
	Close() error
}
