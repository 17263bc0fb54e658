// Package limit counts attempts per key (a user name, a client address) in
// a sliding window, in bounded memory, for the dashboard's sign-in and the
// admin API's token checks.
//
// An attempt is reserved before the expensive or secret check it guards
// (bcrypt, a token lookup) and given back only if the check succeeds, so
// concurrent requests cannot all pass a "below the limit?" test before any
// of them is counted.
package limit

import (
	"container/list"
	"net"
	"sync"
	"time"
)

// DefaultKeys is how many keys a Limiter tracks when Policy.Keys is zero.
const DefaultKeys = 10000

// Policy says how many attempts a key may make and how much is remembered.
type Policy struct {
	// Max is the number of attempts a key may make per Window, counting
	// the ones still being checked. At least 1.
	Max int
	// Window is the sliding window attempts are counted over.
	Window time.Duration
	// Keys bounds the keys tracked; DefaultKeys if zero. A flood of new
	// keys evicts the least recently used ones.
	Keys int
	// KeepLocked protects keys at their limit from eviction until their
	// lock expires; when every tracked key is locked, attempts by new keys
	// are refused instead. Use it for keys an attacker wants to unlock (a
	// victim's account) by churning other keys. Without it the least
	// recently used key is evicted even when locked: right for client
	// addresses, since an attacker able to churn addresses gets fresh ones
	// anyway, and refusing would let that churn lock everyone out.
	KeepLocked bool
}

// Limiter counts attempts per key. It is in memory: each process limits on
// its own. Safe for concurrent use.
type Limiter struct {
	p   Policy
	now func() time.Time

	mu   sync.Mutex
	seq  uint64
	keys map[string]*list.Element // of *entry
	lru  *list.List               // front: most recently reserved
}

type entry struct {
	key  string
	hits []hit // oldest first
}

type hit struct {
	at  time.Time
	seq uint64
}

// New returns a Limiter with policy p and clock now (time.Now if nil).
func New(p Policy, now func() time.Time) *Limiter {
	if p.Max < 1 {
		p.Max = 1
	}
	if p.Keys <= 0 {
		p.Keys = DefaultKeys
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{p: p, now: now, keys: map[string]*list.Element{}, lru: list.New()}
}

// Reservation is one attempt taken by Reserve. Its zero value does nothing.
type Reservation struct {
	l   *Limiter
	key string
	seq uint64
}

// Reserve takes an attempt for key. When the key has made Max attempts in
// the window (or, with KeepLocked, the table is full of locked keys), it
// returns ok false and the time a new attempt may succeed; nothing is
// recorded then.
func (l *Limiter) Reserve(key string) (r Reservation, ok bool, retry time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	el := l.keys[key]
	var e *entry
	if el != nil {
		e = el.Value.(*entry)
		l.prune(e, now)
		if len(e.hits) >= l.p.Max {
			return Reservation{}, false, l.unlocks(e)
		}
	} else {
		if l.lru.Len() >= l.p.Keys {
			if retry, ok := l.evict(now); !ok {
				return Reservation{}, false, retry
			}
		}
		e = &entry{key: key}
		el = l.lru.PushFront(e)
		l.keys[key] = el
	}
	l.seq++
	e.hits = append(e.hits, hit{at: now, seq: l.seq})
	l.lru.MoveToFront(el)
	return Reservation{l: l, key: key, seq: l.seq}, true, time.Time{}
}

// Cancel gives the attempt back: the check it was for succeeded, or was
// never made.
func (r Reservation) Cancel() {
	r.release(false)
}

// Reset gives the attempt back and forgets every earlier attempt of the
// key (a successful sign-in clears the account's earlier typos). Attempts
// reserved after this one, still being checked, are kept.
func (r Reservation) Reset() {
	r.release(true)
}

func (r Reservation) release(earlier bool) {
	if r.l == nil {
		return
	}
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	el := l.keys[r.key]
	if el == nil {
		return
	}
	e := el.Value.(*entry)
	kept := e.hits[:0]
	for _, h := range e.hits {
		if h.seq == r.seq || (earlier && h.seq < r.seq) {
			continue
		}
		kept = append(kept, h)
	}
	e.hits = kept
	if len(e.hits) == 0 {
		l.remove(el)
	}
}

// Len is the number of keys tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// prune drops e's attempts older than the window.
func (l *Limiter) prune(e *entry, now time.Time) {
	i := 0
	for i < len(e.hits) && now.Sub(e.hits[i].at) >= l.p.Window {
		i++
	}
	if i > 0 {
		e.hits = append(e.hits[:0], e.hits[i:]...)
	}
}

// unlocks is when a locked entry may make an attempt again: when the
// oldest of its last Max attempts leaves the window.
func (l *Limiter) unlocks(e *entry) time.Time {
	return e.hits[len(e.hits)-l.p.Max].at.Add(l.p.Window)
}

// evict makes room for one key. It walks from the least recently used end:
// entries whose attempts all left the window sit there, and are unlocked.
// With KeepLocked, locked entries are skipped; if all are locked it fails
// and says when the first lock expires.
func (l *Limiter) evict(now time.Time) (time.Time, bool) {
	var first time.Time
	for el := l.lru.Back(); el != nil; el = el.Prev() {
		e := el.Value.(*entry)
		l.prune(e, now)
		if !l.p.KeepLocked || len(e.hits) < l.p.Max {
			l.remove(el)
			return time.Time{}, true
		}
		if u := l.unlocks(e); first.IsZero() || u.Before(first) {
			first = u
		}
	}
	return first, false
}

func (l *Limiter) remove(el *list.Element) {
	delete(l.keys, el.Value.(*entry).key)
	l.lru.Remove(el)
}

// Addr is the key of a client address, from a request's RemoteAddr: the
// IP without its port, and for IPv6 its /64 network, since one host
// usually holds a whole /64 and could otherwise try from each address.
func Addr(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
