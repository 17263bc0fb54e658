package hookwatch

import (
	"context"
	"sync"
)

// Waker carries "new work" signals between the instances that share a
// store, so that delivery workers start at once instead of at their next
// poll. Signals are hints: they may be coalesced or, when a connection
// drops, lost (subscribers are then all woken), so workers still poll, just
// rarely. postgres.Store implements it with LISTEN/NOTIFY; LocalWaker is the
// one-process equivalent for SQLite.
//
// Whoever creates due work calls Wake after it has committed: ingest for
// the deliveries of a batch, replay, resuming a destination, a circuit
// closing.
type Waker interface {
	// Wake announces that destination may have due deliveries, to the
	// subscribers of every instance (this one included). It does not block
	// on the network; it returns an error only when the waker is closed.
	Wake(ctx context.Context, destination string) error

	// Subscribe returns a channel that receives a value whenever
	// destination may have new due work. Signals are coalesced (the channel
	// holds at most one), and the channel is closed when ctx is done.
	Subscribe(ctx context.Context, destination string) <-chan struct{}
}

// Leader elects, among the instances sharing a store, the one that runs
// periodic jobs (alert evaluation, retention, sweeps). postgres.Store holds
// a PostgreSQL advisory lock on a dedicated connection: when the leader
// dies its session ends, the lock is freed and another instance takes over
// within a poll interval. LocalLeader is the one-process equivalent.
type Leader interface {
	// Lead blocks until this instance leads name (or ctx is done: it then
	// returns ctx's error). The returned context is cancelled when the
	// leadership is lost (the lock's connection failed) or ctx is done;
	// release gives the leadership up. A lost leader may overlap its
	// successor for up to a poll interval, so jobs must be idempotent.
	Lead(ctx context.Context, name string) (lead context.Context, release func(), err error)
}

// LocalWaker is a Waker for one process: Wake reaches the subscribers of
// this process only. The zero value is ready to use.
type LocalWaker struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

var _ Waker = (*LocalWaker)(nil)

// Wake signals the subscribers of destination.
func (w *LocalWaker) Wake(_ context.Context, destination string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.subs[destination] {
		select {
		case ch <- struct{}{}:
		default: // a signal is already waiting
		}
	}
	return nil
}

// WakeAll signals every subscriber, whatever its destination (after a
// reconnection, when signals may have been missed).
func (w *LocalWaker) WakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, subs := range w.subs {
		for ch := range subs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// Subscribe returns a channel signalled by Wake(destination) until ctx is
// done.
func (w *LocalWaker) Subscribe(ctx context.Context, destination string) <-chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.subs == nil {
		w.subs = map[string]map[chan struct{}]struct{}{}
	}
	if w.subs[destination] == nil {
		w.subs[destination] = map[chan struct{}]struct{}{}
	}
	w.subs[destination][ch] = struct{}{}
	w.mu.Unlock()
	context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.subs[destination], ch)
		if len(w.subs[destination]) == 0 {
			delete(w.subs, destination)
		}
		close(ch)
	})
	return ch
}

// LocalLeader is a Leader for one process: the first caller for a name
// leads until it releases. The zero value is ready to use.
type LocalLeader struct {
	mu    sync.Mutex
	locks map[string]chan struct{}
}

var _ Leader = (*LocalLeader)(nil)

// Lead waits until no other caller of this process leads name.
func (l *LocalLeader) Lead(ctx context.Context, name string) (context.Context, func(), error) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]chan struct{}{}
	}
	lock, ok := l.locks[name]
	if !ok {
		lock = make(chan struct{}, 1)
		l.locks[name] = lock
	}
	l.mu.Unlock()
	select {
	case lock <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	lead, cancel := context.WithCancel(ctx)
	var once sync.Once
	return lead, func() {
		once.Do(func() {
			cancel()
			<-lock
		})
	}, nil
}

// Broadcaster tells the readers of the event stream that events were
// committed: the ingest committer calls Notify after every batch, and each
// stream, woken, reads the store after its own cursor. Like a Waker's
// signals, notifications are hints, coalesced per subscriber, and never
// block the notifier: a subscriber that has not taken the last one yet
// simply finds one waiting. The zero value is ready to use.
type Broadcaster struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

// Notify signals every subscriber without waiting for any: one
// non-blocking send each.
func (b *Broadcaster) Notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already waiting
		}
	}
}

// Subscribe returns a channel signalled by Notify until ctx is done; it is
// then closed.
func (b *Broadcaster) Subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan struct{}]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, ch)
		close(ch)
	})
	return ch
}
