package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/jackc/pgx/v5"
)

// Wake-ups across instances travel by LISTEN/NOTIFY on one channel per
// schema, the payload being the destination name. Each Store keeps one
// extra connection that LISTENs (opened on the first Subscribe) and hands
// the notifications to its local subscribers; Wake coalesces the names
// asked for and sends them in one NOTIFY round trip from the background.

var (
	_ hookwatch.Waker  = (*Store)(nil)
	_ hookwatch.Leader = (*Store)(nil)
)

// leaderPoll is how often a waiting instance tries the leader lock, and how
// often the leader checks that its lock's connection is alive: the take-over
// time after a leader dies.
const leaderPoll = 2 * time.Second

// background holds the store's goroutines for wake-ups.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	local hookwatch.LocalWaker // this process's subscribers

	mu        sync.Mutex
	listening bool
	pending   map[string]struct{} // destinations to NOTIFY
	notifying bool
}

// channel is the NOTIFY channel of the store's schema (an identifier of at
// most 63 bytes whatever the schema's name).
func (s *Store) channel() string {
	h := fnv.New64a()
	h.Write([]byte(s.schema))
	return fmt.Sprintf("hookwatch_wake_%x", h.Sum64())
}

// Wake announces new work for destination to every instance; see
// hookwatch.Waker. The NOTIFY is sent from the background, coalesced with
// other wake-ups.
func (s *Store) Wake(_ context.Context, destination string) error {
	b := &s.bg
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx.Err() != nil { // checked under mu: Close cancels under mu, then waits
		return hookwatch.Errorf(hookwatch.EUNAVAILABLE, "postgres: wake: store closed")
	}
	if b.pending == nil {
		b.pending = map[string]struct{}{}
	}
	b.pending[destination] = struct{}{}
	if !b.notifying {
		b.notifying = true
		b.wg.Go(s.notifyLoop)
	}
	return nil
}

// notifyLoop sends the pending wake-ups until there are none.
func (s *Store) notifyLoop() {
	b := &s.bg
	for {
		b.mu.Lock()
		if len(b.pending) == 0 || b.ctx.Err() != nil {
			b.notifying = false
			b.mu.Unlock()
			return
		}
		dests := make([]string, 0, len(b.pending))
		for d := range b.pending {
			dests = append(dests, text(d))
		}
		clear(b.pending)
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		_, err := s.pool.Exec(ctx, `SELECT pg_notify($1, d) FROM unnest($2::text[]) AS d`, s.channel(), dests)
		cancel()
		if err != nil {
			// Other instances will find the work at their next poll; this
			// one need not wait for it.
			for _, d := range dests {
				b.local.Wake(context.Background(), d)
			}
		}
	}
}

// Subscribe returns a channel signalled when destination may have new work,
// from any instance; see hookwatch.Waker.
func (s *Store) Subscribe(ctx context.Context, destination string) <-chan struct{} {
	b := &s.bg
	ch := b.local.Subscribe(ctx, destination)
	b.mu.Lock()
	if !b.listening && b.ctx.Err() == nil {
		b.listening = true
		b.wg.Go(s.listen)
	}
	b.mu.Unlock()
	return ch
}

// listen holds a LISTEN connection until the store closes, reconnecting
// after failures; after a reconnection every subscriber is woken, since
// notifications sent meanwhile were lost.
func (s *Store) listen() {
	b := &s.bg
	for first := true; b.ctx.Err() == nil; first = false {
		if !first {
			select {
			case <-time.After(time.Second):
			case <-b.ctx.Done():
				return
			}
		}
		conn, err := pgx.ConnectConfig(b.ctx, s.pool.Config().ConnConfig.Copy())
		if err != nil {
			continue
		}
		if _, err := conn.Exec(b.ctx, "LISTEN "+pgx.Identifier{s.channel()}.Sanitize()); err != nil {
			conn.Close(context.Background())
			continue
		}
		if !first {
			b.local.WakeAll()
		}
		for {
			n, err := conn.WaitForNotification(b.ctx)
			if err != nil {
				break
			}
			b.local.Wake(context.Background(), n.Payload)
		}
		conn.Close(context.Background())
	}
}

// Lead blocks until this instance holds the advisory lock of name on a
// connection of its own; see hookwatch.Leader. The lock's connection is
// checked every couple of seconds: if it fails, the returned context is
// cancelled (the database has freed the lock, or will when it notices).
func (s *Store) Lead(ctx context.Context, name string) (context.Context, func(), error) {
	for {
		conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
		if err == nil {
			for {
				var got bool
				err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+lockKey+`)`, "leader/"+name).Scan(&got)
				if err != nil {
					break
				}
				if got {
					lead, release := keepLead(ctx, conn)
					return lead, release, nil
				}
				select {
				case <-time.After(leaderPoll):
				case <-ctx.Done():
				}
				if ctx.Err() != nil {
					break
				}
			}
			conn.Close(context.Background())
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		select {
		case <-time.After(leaderPoll):
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// keepLead checks the lock's connection until the leadership is released
// or lost, and closes it (which frees the lock) at the end.
func keepLead(ctx context.Context, conn *pgx.Conn) (context.Context, func()) {
	lead, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer conn.Close(context.Background())
		t := time.NewTicker(leaderPoll)
		defer t.Stop()
		for {
			select {
			case <-lead.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(lead, leaderPoll)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil && lead.Err() == nil {
				cancel(fmt.Errorf("%w: %w", errLeadLost, err))
				return
			}
		}
	}()
	var once sync.Once
	return lead, func() {
		once.Do(func() {
			cancel(context.Canceled)
			<-done
		})
	}
}

// errLeadLost is the cause of a leadership context cancelled because the
// lock's connection failed.
var errLeadLost = errors.New("postgres: leader lock connection lost")
