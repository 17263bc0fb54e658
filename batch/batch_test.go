package batch_test

import (
	"testing"

	"github.com/hookwatch/hookwatch/batch"
)

func TestNextTakesWhatIsWaitingUpToMax(t *testing.T) {
	ch := make(chan int, 10)
	for i := range 7 {
		ch <- i
	}
	b, ok := batch.Next(ch, nil, 5)
	if !ok || len(b) != 5 || b[0] != 0 || b[4] != 4 {
		t.Fatalf("first batch = %v, %v; want [0 1 2 3 4]", b, ok)
	}
	b, ok = batch.Next(ch, b, 5)
	if !ok || len(b) != 2 || b[0] != 5 || b[1] != 6 {
		t.Fatalf("second batch = %v, %v; want [5 6] (only what was waiting)", b, ok)
	}
}

func TestNextWaitsForTheFirstItem(t *testing.T) {
	ch := make(chan int)
	got := make(chan []int)
	go func() {
		b, _ := batch.Next(ch, nil, 4)
		got <- b
	}()
	ch <- 42
	if b := <-got; len(b) != 1 || b[0] != 42 {
		t.Fatalf("batch = %v; want [42], not waiting for more", b)
	}
}

func TestNextAfterCloseDrainsThenStops(t *testing.T) {
	ch := make(chan int, 4)
	ch <- 1
	ch <- 2
	close(ch)
	b, ok := batch.Next(ch, nil, 10)
	if !ok || len(b) != 2 {
		t.Fatalf("batch of a closed channel = %v, %v; want [1 2], true", b, ok)
	}
	if b, ok = batch.Next(ch, b, 10); ok || len(b) != 0 {
		t.Fatalf("after the last item: %v, %v; want empty, false", b, ok)
	}
}

func TestMaxOneTakesOneAtATime(t *testing.T) {
	ch := make(chan int, 3)
	ch <- 1
	ch <- 2
	if b, _ := batch.Next(ch, nil, 1); len(b) != 1 {
		t.Fatalf("max 1: batch %v", b)
	}
	if len(ch) != 1 {
		t.Fatalf("max 1 took %d items", 2-len(ch))
	}
}

func TestDrainStopsWhenAddSaysFull(t *testing.T) {
	ch := make(chan int, 10)
	for i := range 10 {
		ch <- 100
		_ = i
	}
	bytes := 0
	open := batch.Drain(ch, func(v int) bool {
		bytes += v
		return bytes < 250
	})
	if !open || bytes != 300 || len(ch) != 7 {
		t.Fatalf("Drain took %d bytes, left %d, open %v; want 300 (stops after the item that filled it), 7, true", bytes, len(ch), open)
	}
	close(ch)
	n := 0
	if open := batch.Drain(ch, func(int) bool { n++; return true }); open || n != 7 {
		t.Fatalf("Drain of a closed channel: took %d, open %v; want 7, false", n, open)
	}
}
