package ingest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/batch"
)

// ErrClosed is returned by Committer.Commit after Close.
var ErrClosed = &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "shutting down"}

// Committer is the writer of the receive path: it batches whatever events
// are waiting into one InsertEvents call (group commit), so many
// concurrent requests share one transaction and one fsync. A request is
// answered only after its batch has committed.
type Committer struct {
	store    hookwatch.EventStore
	maxBatch int
	timeout  time.Duration
	observe  func(Batch)

	queue   chan *pending
	mu      sync.RWMutex // guards closed against sends on a closed queue
	writers sync.WaitGroup
	closed  bool

	// last is the outcome of the latest batch, for readiness; seq numbers
	// the batches.
	last atomic.Pointer[outcome]
	seq  atomic.Uint64
}

type outcome struct {
	seq uint64
	err error
}

type pending struct {
	event  *hookwatch.Event
	result hookwatch.InsertResult
	err    error
	done   chan struct{}
}

// Batch is what the committer tells its observer about one group commit.
type Batch struct {
	Size int           // events in the batch, duplicates included
	Took time.Duration // the InsertEvents call
	Err  error         // nil when the batch committed
	// Destinations are the destinations the batch created deliveries for
	// (each once, nil when it failed): the ones to wake (Engine.Wake).
	Destinations []string
}

// NewCommitter starts a committer with one writer, writing to store in
// batches of at most maxBatch events. observe, if not nil, is called after
// every batch, from the writer: it must not block.
func NewCommitter(store hookwatch.EventStore, maxBatch int, observe func(Batch)) *Committer {
	return NewCommitterN(store, maxBatch, 1, observe)
}

// NewCommitterN is NewCommitter with several writers, each committing its
// own batch: while one batch waits for its commit, the next one fills and
// commits alongside it. One is right for SQLite (a single writer connection);
// a server database such as PostgreSQL commits concurrent batches in
// parallel. The store must accept concurrent InsertEvents calls.
func NewCommitterN(store hookwatch.EventStore, maxBatch, writers int, observe func(Batch)) *Committer {
	if maxBatch < 1 {
		maxBatch = 1
	}
	if writers < 1 {
		writers = 1
	}
	c := &Committer{
		store:    store,
		maxBatch: maxBatch,
		timeout:  30 * time.Second,
		observe:  observe,
		queue:    make(chan *pending, maxBatch*4),
	}
	c.writers.Add(writers)
	for range writers {
		go c.run()
	}
	return c
}

var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan struct{}, 1)} }}

// Commit queues e for the next batch and waits until that batch committed
// (or failed). It returns the insert result; on error nothing was stored.
// Cancelling ctx stops the wait, not the commit.
func (c *Committer) Commit(ctx context.Context, e *hookwatch.Event) (hookwatch.InsertResult, error) {
	p := pendingPool.Get().(*pending)
	p.event, p.err = e, nil
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		pendingPool.Put(p)
		return hookwatch.InsertResult{}, ErrClosed
	}
	c.queue <- p
	c.mu.RUnlock()
	select {
	case <-p.done:
		res, err := p.result, p.err
		p.event = nil
		pendingPool.Put(p)
		return res, err
	case <-ctx.Done():
		// The writer still owns p and will signal its buffered done channel;
		// p is then garbage, not reused.
		return hookwatch.InsertResult{}, &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "request cancelled before commit", Err: ctx.Err()}
	}
}

func (c *Committer) run() {
	defer c.writers.Done()
	ps := make([]*pending, 0, c.maxBatch)
	events := make([]*hookwatch.Event, 0, c.maxBatch)
	var dests []string
	for {
		var ok bool
		if ps, ok = batch.Next(c.queue, ps, c.maxBatch); !ok {
			return
		}
		events = events[:0]
		for _, p := range ps {
			events = append(events, p.event)
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		results, err := c.store.InsertEvents(ctx, events)
		cancel()
		if err != nil && hookwatch.ErrorCode(err) == hookwatch.EINTERNAL && errors.Is(err, context.DeadlineExceeded) {
			err = &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store commit timed out", Err: err}
		}
		if c.observe != nil {
			b := Batch{Size: len(ps), Took: time.Since(start), Err: err}
			if err == nil {
				dests = destinations(dests[:0], events, results)
				b.Destinations = dests
			}
			c.observe(b)
		}
		c.record(err)
		for i, p := range ps {
			if err != nil {
				p.err = err
			} else {
				p.result = results[i]
			}
			p.done <- struct{}{}
		}
	}
}

// destinations appends to out, once each, the destinations of the events
// stored (not duplicates).
func destinations(out []string, events []*hookwatch.Event, results []hookwatch.InsertResult) []string {
	for i, e := range events {
		if results[i].Duplicate {
			continue
		}
	dest:
		for _, d := range e.Destinations {
			for _, o := range out {
				if o == d {
					continue dest
				}
			}
			out = append(out, d)
		}
	}
	return out
}

// record keeps err as the latest outcome, unless a later batch (another
// writer's) already recorded its own.
func (c *Committer) record(err error) {
	o := &outcome{seq: c.seq.Add(1), err: err}
	for {
		prev := c.last.Load()
		if prev != nil && prev.seq > o.seq {
			return
		}
		if c.last.CompareAndSwap(prev, o) {
			return
		}
	}
}

// LastCommit returns the outcome of the latest group commit: its number
// (1 for the first batch, 0 when none was tried yet) and its error, nil
// when it committed. It is cheap (one atomic load): readiness reads it.
func (c *Committer) LastCommit() (seq uint64, err error) {
	o := c.last.Load()
	if o == nil {
		return 0, nil
	}
	return o.seq, o.err
}

// Close stops accepting events, commits every event already queued, and
// returns when the last batch is done.
func (c *Committer) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.queue)
	}
	c.mu.Unlock()
	c.writers.Wait()
}
