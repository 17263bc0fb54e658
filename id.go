package hookwatch

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// crockford is the base32 alphabet of ULIDs: no I, L, O, U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns prefix + "_" + a 26-character ULID: 48 bits of milliseconds
// then 80 random bits. IDs sort by creation time, so listings ordered by ID
// are ordered by time, and they are safe to show (no secrets, no counters).
func NewID(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand never fails on supported platforms
	var out [26]byte
	// Encode 128 bits as 26 base32 digits (the first carries 3 bits).
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return prefix + "_" + string(out[:])
}

// IDFloor returns the smallest ID NewID(prefix, t) can return: t's
// millisecond followed by zero randomness. Every ID made before t's
// millisecond sorts below it, so a store can bound a time range by its
// primary key.
func IDFloor(prefix string, t time.Time) string {
	var out [26]byte
	ms := uint64(t.UnixMilli())
	for i := 9; i >= 0; i-- {
		out[i] = crockford[ms&31]
		ms >>= 5
	}
	for i := 10; i < 26; i++ {
		out[i] = '0'
	}
	return prefix + "_" + string(out[:])
}
