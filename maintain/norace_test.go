//go:build !race

package maintain_test

const steadyEvents = 3000
