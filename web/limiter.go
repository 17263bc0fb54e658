package web

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch/limit"
)

// Sign-in limits: attempts allowed per window, per user name and per
// client address. An attempt is reserved before the password is checked
// and given back only when the sign-in succeeds, so a burst of concurrent
// guesses gets no more bcrypt checks than a slow series would. Beyond the
// limits sign-in is refused (429) without checking the password.
const (
	limitWindow  = 15 * time.Minute
	limitPerUser = 5
	limitPerIP   = 20
	// limitKeys bounds the names and the addresses remembered (each): a
	// flood cannot grow memory without end.
	limitKeys = limit.DefaultKeys
)

// signinLimiter keeps accounts and addresses apart: a locked account is
// never evicted before its lock expires (a flood of other names or
// addresses cannot unlock a victim), while addresses are evicted least
// recently used. It is in memory: each instance limits on its own.
type signinLimiter struct {
	accounts, addrs *limit.Limiter
}

func newSigninLimiter(now func() time.Time, keys int) *signinLimiter {
	return &signinLimiter{
		accounts: limit.New(limit.Policy{Max: limitPerUser, Window: limitWindow, Keys: keys, KeepLocked: true}, now),
		addrs:    limit.New(limit.Policy{Max: limitPerIP, Window: limitWindow, Keys: keys}, now),
	}
}

// signinAttempt is a reserved attempt: it counts as a failure unless
// succeeded or cancel is called.
type signinAttempt struct {
	account, addr limit.Reservation
}

// reserve takes an attempt for user from addr (a limit.Addr key). When
// refused it returns when to try again.
func (s *signinLimiter) reserve(user, addr string) (signinAttempt, bool, time.Time) {
	acc, ok, retry := s.accounts.Reserve(accountKey(user))
	if !ok {
		return signinAttempt{}, false, retry
	}
	ad, ok, retry := s.addrs.Reserve(addr)
	if !ok {
		acc.Cancel()
		return signinAttempt{}, false, retry
	}
	return signinAttempt{account: acc, addr: ad}, true, time.Time{}
}

// succeeded gives the attempt back, and forgets the account's earlier
// failures (not the address's: it may be guessing other names).
func (a signinAttempt) succeeded() {
	a.account.Reset()
	a.addr.Cancel()
}

// cancel gives the attempt back when no password was checked (the store
// failed).
func (a signinAttempt) cancel() {
	a.account.Cancel()
	a.addr.Cancel()
}

// accountKey is the limiter's key for a user name: case-insensitive (so
// "Alice" shares alice's limit), and hashed when long, so that 10,000 keys
// stay small whatever names are posted.
func accountKey(name string) string {
	k := strings.ToLower(name)
	if len(k) > 64 {
		sum := sha256.Sum256([]byte(k))
		k = "sha256:" + hex.EncodeToString(sum[:])
	}
	return k
}
