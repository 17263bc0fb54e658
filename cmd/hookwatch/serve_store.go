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

// sharedLeader returns the store's leader election (a PostgreSQL advisory
// lock, so one instance among those sharing the database runs a periodic
// job), or a one-process leader for a store that one process owns (SQLite).
func sharedLeader(store hookwatch.Store) hookwatch.Leader {
	if l, ok := store.(hookwatch.Leader); ok {
		return l
	}
	return &hookwatch.LocalLeader{}
}
