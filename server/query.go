package server

import (
	"net/url"
	"strconv"
	"strings"
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

// deliveryQuery is a delivery selection as the API takes it: from the
// query string of GET /api/deliveries or the body of POST /api/replay.
type deliveryQuery struct {
	events                                         []string
	source, destination, typ, status, since, until string
}

// filter checks the selection with the query rules; errors name the API's
// parameters (status, since, until).
func (dq deliveryQuery) filter(now time.Time) (hookwatch.DeliveryFilter, error) {
	var events []string
	for _, e := range dq.events {
		for _, id := range strings.Split(e, ",") {
			if id = strings.TrimSpace(id); id != "" {
				events = append(events, id)
			}
		}
	}
	f := hookwatch.DeliveryFilter{EventIDs: events, Source: dq.source, Destination: dq.destination, Type: dq.typ}
	var err error
	if dq.status != "any" && dq.status != "all" {
		q := url.Values{"status": {dq.status}}
		if f.Status, err = QueryStatus(q, hookwatch.DeliveryPending, hookwatch.DeliverySucceeded, hookwatch.DeliveryDead, "any"); err != nil {
			return f, err
		}
	}
	if f.Since, err = ParseTime("since", dq.since, now); err != nil {
		return f, err
	}
	if f.Until, err = ParseTime("until", dq.until, now); err != nil {
		return f, err
	}
	return f, nil
}

// deliveryFilter reads GET /api/deliveries' query string: event
// (repeatable or comma-separated), source, destination, type, status,
// since, until, before and limit.
func deliveryFilter(q url.Values, now time.Time) (hookwatch.DeliveryFilter, error) {
	dq := deliveryQuery{events: q["event"], source: q.Get("source"), destination: q.Get("destination"), typ: q.Get("type"),
		status: q.Get("status"), since: q.Get("since"), until: q.Get("until")}
	f, err := dq.filter(now)
	if err != nil {
		return f, err
	}
	f.Before = q.Get("before")
	f.Limit, err = QueryLimit(q)
	return f, err
}

// quarantineFilter reads GET /api/quarantine's query string: source,
// reason, status, since, until, before and limit.
func quarantineFilter(q url.Values, now time.Time) (hookwatch.QuarantineFilter, error) {
	f := hookwatch.QuarantineFilter{Source: q.Get("source"), Reason: q.Get("reason"), Before: q.Get("before")}
	var err error
	if f.Status, err = hookwatch.ParseQuarantineStatus(q.Get("status")); err != nil {
		return f, err
	}
	if f.Since, err = QueryTime(q, "since", now); err != nil {
		return f, err
	}
	if f.Until, err = QueryTime(q, "until", now); err != nil {
		return f, err
	}
	f.Limit, err = QueryLimit(q)
	return f, err
}
