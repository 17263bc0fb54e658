//go:build race

package maintain_test

// steadyEvents is smaller under the race detector, which slows SQLite
// (compiled Go) about twentyfold.
const steadyEvents = 400
