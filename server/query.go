package server

import (
	"net/url"
	"strconv"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
)

// Query rules shared by every admin API listing, so that one parameter
// means the same thing on every endpoint: limit is 1..MaxLimit (absent:
// the store's default), since and until take a duration back from now
// ("30m", "24h", "7d") or an RFC 3339 time, and status words are checked
// against the endpoint's list. A bad value is a 400 naming the parameter
// and what to send, never silently ignored.

// MaxLimit is the largest limit a listing accepts.
const MaxLimit = 1000

// QueryLimit reads the "limit" parameter: 0 when absent.
func QueryLimit(q url.Values) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, hookwatch.Errorf(hookwatch.EINVALID, "limit %q: use a number from 1 to %d", s, MaxLimit)
	}
	return n, nil
}

// ParseTime reads a point in time given as a duration back from now
// ("30m", "24h", "7d") or an RFC 3339 time; "" is the zero time. name is
// the parameter or flag named in the error.
func ParseTime(name, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, hookwatch.Errorf(hookwatch.EINVALID, "%s %q: use a duration back from now (30m, 24h, 7d) or an RFC 3339 time", name, s)
	}
	return now.Add(-d), nil
}

// QueryTime reads the parameter name with ParseTime.
func QueryTime(q url.Values, name string, now time.Time) (time.Time, error) {
	return ParseTime(name, q.Get(name), now)
}

// QueryStatus reads the "status" parameter and checks it is one of
// allowed ("" is always accepted: no filter).
func QueryStatus[S ~string](q url.Values, allowed ...S) (S, error) {
	s := q.Get("status")
	if s == "" {
		return "", nil
	}
	for _, a := range allowed {
		if string(a) == s {
			return a, nil
		}
	}
	words := make([]string, len(allowed))
	for i, a := range allowed {
		words[i] = string(a)
	}
	return "", hookwatch.Errorf(hookwatch.EINVALID, "status %q: use one of %s", s, joinWords(words))
}

func joinWords(ws []string) string {
	out := ""
	for i, w := range ws {
		switch {
		case i == 0:
		case i == len(ws)-1:
			out += " or "
		default:
			out += ", "
		}
		out += w
	}
	return out
}
