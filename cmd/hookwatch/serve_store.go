package main

import "github.com/hookwatch/hookwatch"

// sharedWaker returns the store's cross-instance Waker (PostgreSQL's
// LISTEN/NOTIFY), or nil for a store that one process owns (SQLite), where
// the engine's own Wake is enough.
func sharedWaker(store hookwatch.Store) hookwatch.Waker {
	if w, ok := store.(hookwatch.Waker); ok {
		return w
	}
	return nil
}
