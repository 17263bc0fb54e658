package hookwatch

import "context"

// DeliveryObservers calls every observer in turn: the issue recorder,
// metrics and the error tracker all hook into the one engine. Nil entries
// (a hook that is turned off) are skipped.
type DeliveryObservers []DeliveryObserver

var _ DeliveryObserver = DeliveryObservers(nil)

// AttemptFinished calls every observer.
func (os DeliveryObservers) AttemptFinished(ctx context.Context, d *Delivery, a *Attempt, o Outcome) {
	for _, x := range os {
		if x != nil {
			x.AttemptFinished(ctx, d, a, o)
		}
	}
}

// DeadLettered calls every observer.
func (os DeliveryObservers) DeadLettered(ctx context.Context, d *Delivery, a *Attempt) {
	for _, x := range os {
		if x != nil {
			x.DeadLettered(ctx, d, a)
		}
	}
}

// CircuitChanged calls every observer.
func (os DeliveryObservers) CircuitChanged(ctx context.Context, destination string, from, to CircuitState) {
	for _, x := range os {
		if x != nil {
			x.CircuitChanged(ctx, destination, from, to)
		}
	}
}

// DestinationDisabled calls every observer.
func (os DeliveryObservers) DestinationDisabled(ctx context.Context, destination string, a *Attempt) {
	for _, x := range os {
		if x != nil {
			x.DestinationDisabled(ctx, destination, a)
		}
	}
}
