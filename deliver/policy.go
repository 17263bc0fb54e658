package deliver

import (
	"math"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Policy decides what happens after a failed attempt: retry when, or give up
// (dead letter). The zero value of any field takes its default.
type Policy struct {
	// MaxAttempts caps the attempts of a delivery; 0 means no cap (MaxAge
	// alone bounds it).
	MaxAttempts int
	// MaxAge is how long after being queued (or replayed) a delivery is
	// retried: the last attempt is made at QueuedAt + MaxAge at the latest.
	MaxAge time.Duration
	// Initial is the backoff ceiling of the first retry; it doubles with each
	// attempt up to MaxBackoff. The wait is uniform in [0, ceiling) ("full
	// jitter"), so a destination coming back is not hit by a synchronised herd.
	Initial    time.Duration
	MaxBackoff time.Duration
	// Classes overrides the behaviour of error classes; classes absent here
	// take DefaultClasses.
	Classes map[hookwatch.ErrorClass]ClassPolicy
}

// ClassPolicy is how failures of one error class are retried (the
// domain's, so that the configuration shows the defaults without importing
// the engine).
type ClassPolicy = hookwatch.ClassPolicy

// Defaults of Policy.
const (
	DefaultMaxAge     = hookwatch.DefaultRetryMaxAge
	DefaultInitial    = hookwatch.DefaultRetryInitial
	DefaultMaxBackoff = hookwatch.DefaultRetryMaxBackoff
	// MaxRetryAfter bounds how long a Retry-After header can postpone.
	MaxRetryAfter = 24 * time.Hour
)

// DefaultClasses is the default behaviour by class
// (hookwatch.DefaultClassPolicies says why).
var DefaultClasses = hookwatch.DefaultClassPolicies()

// WithDefaults returns p with zero fields set to their defaults.
func (p Policy) WithDefaults() Policy {
	if p.MaxAge <= 0 {
		p.MaxAge = DefaultMaxAge
	}
	if p.Initial <= 0 {
		p.Initial = DefaultInitial
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	if p.MaxBackoff < p.Initial {
		p.MaxBackoff = p.Initial
	}
	classes := make(map[hookwatch.ErrorClass]ClassPolicy, len(DefaultClasses))
	for c, cp := range DefaultClasses {
		classes[c] = cp
	}
	for c, cp := range p.Classes {
		classes[c] = cp
	}
	p.Classes = classes
	return p
}

// Backoff returns the ceiling of the wait after the given number of
// attempts (1 after the first): Initial doubled attempts-1 times, capped.
func (p Policy) Backoff(attempts int) time.Duration {
	if attempts < 1 {
		attempts = 1
	}
	ceil := float64(p.Initial) * math.Pow(2, float64(attempts-1))
	if ceil > float64(p.MaxBackoff) || math.IsInf(ceil, 0) {
		return p.MaxBackoff
	}
	return time.Duration(ceil)
}

// Decide returns the outcome of a failed attempt of class on a delivery
// that has now had attempts attempts since queuedAt, at now. retryAfter is
// the destination's Retry-After (0 if none): honoured as given for
// rate_limited and server_error (503), up to MaxRetryAfter. rnd returns a
// uniform number in [0, 1) for the jitter. p must have its defaults.
func (p Policy) Decide(class hookwatch.ErrorClass, attempts int, queuedAt, now time.Time, retryAfter time.Duration, rnd func() float64) (hookwatch.Outcome, time.Time) {
	cp, ok := p.Classes[class]
	if !ok {
		cp = ClassPolicy{Retry: true}
	}
	if !cp.Retry {
		return hookwatch.OutcomeDead, time.Time{}
	}
	if cp.MaxAttempts > 0 && attempts >= cp.MaxAttempts {
		return hookwatch.OutcomeDead, time.Time{}
	}
	if p.MaxAttempts > 0 && attempts >= p.MaxAttempts {
		return hookwatch.OutcomeDead, time.Time{}
	}
	deadline := queuedAt.Add(p.MaxAge)
	if !now.Before(deadline) {
		return hookwatch.OutcomeDead, time.Time{}
	}
	wait := time.Duration(rnd() * float64(p.Backoff(attempts)))
	if retryAfter > 0 && (class == hookwatch.ClassRateLimit || class == hookwatch.ClassServer) {
		wait = min(retryAfter, MaxRetryAfter)
	}
	next := now.Add(wait)
	if next.After(deadline) {
		// One last attempt at the deadline rather than silently stopping early.
		next = deadline
	}
	return hookwatch.OutcomeRetry, next
}
