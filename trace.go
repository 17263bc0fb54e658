package hookwatch

import (
	"context"
	"net/http"
)

// Tracer traces Hookwatch's work for the error tracker's performance
// monitoring: the receive path and the delivery engine call it, package
// monitor implements it with Sentry. A nil Tracer means no tracing, and an
// implementation must cost next to nothing for work that is not traced
// (not sampled): the receive path calls it on every request.
type Tracer interface {
	// StartSpan starts a child span (op "verify", "persist"...) of the trace
	// in ctx and returns the context inside it and the function that ends
	// it. When ctx carries no sampled trace it returns ctx and a function
	// that does nothing.
	StartSpan(ctx context.Context, op, description string) (context.Context, func())

	// StartPublish traces the commit of e to the delivery queue (a
	// producer span per destination, around the store's write) and sets
	// e.Trace, the propagation value its deliveries continue (it may be
	// left empty). It returns the context of the commit and the function
	// that ends the spans; untraced: ctx and a function that does nothing.
	StartPublish(ctx context.Context, e *Event) (context.Context, func())

	// StartAttempt starts tracing one delivery attempt, continuing
	// d.Event.Trace. It returns the attempt's context, which the engine
	// passes to its DeliveryObserver for that attempt (AttemptFinished ends
	// the trace), and headers to add to the request (sentry-trace,
	// baggage, traceparent); both may be unchanged or nil.
	StartAttempt(ctx context.Context, d *Delivery) (context.Context, http.Header)
}
