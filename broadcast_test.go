package hookwatch_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hookwatch/hookwatch"
)

// Notify never waits for a subscriber: one that is not reading finds one
// signal waiting, however many were sent; a subscription ends with its
// context.
func TestBroadcasterNeverBlocks(t *testing.T) {
	var b hookwatch.Broadcaster
	b.Notify() // no subscriber
	ctx, cancel := context.WithCancel(context.Background())
	ch := b.Subscribe(ctx)
	other := b.Subscribe(context.Background())
	for range 1000 {
		b.Notify()
	}
	<-ch
	<-other
	select {
	case <-ch:
		t.Fatal("a second signal was queued: signals are coalesced")
	default:
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("subscription still open after its context ended")
	}
	b.Notify() // the cancelled subscriber is gone; the other still hears
	<-other
}

// BenchmarkBroadcasterNotify is what a committed batch costs the ingest
// writer per open event stream.
func BenchmarkBroadcasterNotify(b *testing.B) {
	for _, n := range []int{0, 1, 10, 100} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			var br hookwatch.Broadcaster
			for range n {
				br.Subscribe(b.Context())
			}
			for b.Loop() {
				br.Notify()
			}
		})
	}
}
