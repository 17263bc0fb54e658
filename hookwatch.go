// Package hookwatch holds Hookwatch's domain types and the interfaces between
// its packages: what an event, a delivery and an attempt are, and what a store
// must do. Adapters live in packages named after what they wrap (sqlite,
// postgres, provider, ...); the binary in cmd/hookwatch wires them together.
package hookwatch

import "time"

// Version is the build version, set with -ldflags "-X github.com/hookwatch/hookwatch.Version=..."
var Version = "dev"

// Clock tells the time. Retry policies, tolerances and windows take a Clock
// so tests can move time instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }
