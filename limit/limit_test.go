package limit_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/limit"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time                 { return c.t }
func (c *clock) advance(d time.Duration)        { c.t = c.t.Add(d) }
func newClock() *clock                          { return &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)} }
func reserve(l *limit.Limiter, key string) bool { _, ok, _ := l.Reserve(key); return ok }

// Attempts are counted when reserved: concurrent callers cannot all pass
// before any of them is counted.
func TestReserveIsAtomic(t *testing.T) {
	c := newClock()
	l := limit.New(limit.Policy{Max: 5, Window: time.Minute}, c.now)
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if reserve(l, "user:alice") {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if granted != 5 {
		t.Fatalf("%d attempts granted at once, want 5", granted)
	}
}

// A refused attempt says when to retry, the window slides, Cancel gives an
// attempt back and Reset forgets the earlier ones.
func TestWindowCancelReset(t *testing.T) {
	c := newClock()
	l := limit.New(limit.Policy{Max: 3, Window: 10 * time.Minute}, c.now)
	start := c.t
	for i := range 3 {
		if !reserve(l, "k") {
			t.Fatalf("attempt %d refused", i)
		}
		c.advance(time.Minute)
	}
	_, ok, retry := l.Reserve("k")
	if ok || !retry.Equal(start.Add(10*time.Minute)) {
		t.Fatalf("fourth attempt: ok %v retry %v, want refused until %v", ok, retry, start.Add(10*time.Minute))
	}
	c.t = start.Add(10 * time.Minute)
	if !reserve(l, "k") {
		t.Fatal("the first attempt left the window, yet a new one is refused")
	}
	if reserve(l, "k") {
		t.Fatal("granted a fourth attempt within the window")
	}

	// Cancel: a successful check costs nothing.
	c.t = c.t.Add(time.Hour)
	for range 5 {
		r, ok, _ := l.Reserve("ok")
		if !ok {
			t.Fatal("attempts given back still count")
		}
		r.Cancel()
	}
	if l.Len() != 1 {
		t.Errorf("keys tracked = %d: a key whose attempts were all given back is kept", l.Len())
	}

	// Reset forgets earlier attempts, keeps later ones.
	reserve(l, "r")
	mine, _, _ := l.Reserve("r")
	later, _, _ := l.Reserve("r")
	mine.Reset()
	if !reserve(l, "r") || !reserve(l, "r") {
		t.Fatal("Reset did not forget the earlier attempts")
	}
	if reserve(l, "r") {
		t.Fatal("Reset forgot an attempt reserved after it")
	}
	later.Cancel()
	if !reserve(l, "r") {
		t.Fatal("Cancel after Reset did not give the attempt back")
	}
}

// With KeepLocked, churning keys never evicts a locked key before its lock
// expires; when every key is locked, new keys are refused.
func TestKeepLockedSurvivesChurn(t *testing.T) {
	c := newClock()
	l := limit.New(limit.Policy{Max: 2, Window: 15 * time.Minute, Keys: 4, KeepLocked: true}, c.now)
	reserve(l, "victim")
	reserve(l, "victim")
	for i := range 1000 {
		reserve(l, fmt.Sprint("churn", i))
	}
	if reserve(l, "victim") {
		t.Fatal("the victim's lock was reset by churning other keys")
	}
	if l.Len() > 4 {
		t.Fatalf("%d keys tracked, bound is 4", l.Len())
	}
	// Fill the table with locked keys: a new key is refused, not let in by
	// evicting one.
	for i := range 3 {
		k := fmt.Sprint("locked", i)
		reserve(l, k)
		reserve(l, k)
	}
	_, ok, retry := l.Reserve("newcomer")
	if ok {
		t.Fatal("a new key was admitted by evicting a locked one")
	}
	if want := c.t.Add(15 * time.Minute); !retry.Equal(want) {
		t.Errorf("retry at %v, want %v (the first lock's expiry)", retry, want)
	}
	if reserve(l, "victim") {
		t.Fatal("the victim was unlocked")
	}
	c.advance(15 * time.Minute)
	if !reserve(l, "newcomer") {
		t.Fatal("still refused after the locks expired")
	}
}

// Without KeepLocked the least recently used key goes, locked or not, and
// memory stays bounded.
func TestEvictLeastRecentlyUsed(t *testing.T) {
	c := newClock()
	l := limit.New(limit.Policy{Max: 1, Window: time.Hour, Keys: 3}, c.now)
	for _, k := range []string{"a", "b", "c"} {
		reserve(l, k)
		c.advance(time.Second)
	}
	if !reserve(l, "d") {
		t.Fatal("new key refused although eviction is allowed")
	}
	if !reserve(l, "a") {
		t.Error("the least recently used key (a) was not the one evicted")
	}
	if reserve(l, "d") {
		t.Error("d was evicted instead of the least recently used key")
	}
	if l.Len() != 3 {
		t.Errorf("%d keys tracked, want 3", l.Len())
	}
}

func TestAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:5555":             "192.0.2.1",
		"[::ffff:192.0.2.1]:80":      "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[::1]:8081":                 "::/64",
		"not an address":             "not an address",
	} {
		if got := limit.Addr(in); got != want {
			t.Errorf("Addr(%q) = %q, want %q", in, got, want)
		}
	}
}
