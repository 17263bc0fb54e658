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

// DeliverySelection is a selection of deliveries as GET /api/deliveries
// and POST /api/replay take it, and the CLI's deliveries list and replay
// too: one set of rules for both.
type DeliverySelection struct {
	// Events are event IDs, each possibly a comma-separated list.
	Events                                          []string
	Source, Destination, Type, Status, Since, Until string
}

// Filter checks the selection with the query rules at now: status one of
// pending, succeeded, dead or any ("all" too), since and until a duration
// back from now or an RFC 3339 time. Errors name the parameters with
// prefix: "" for the API ("status"), "--" for the CLI's flags.
func (ds DeliverySelection) Filter(now time.Time, prefix string) (hookwatch.DeliveryFilter, error) {
	var events []string
	for _, e := range ds.Events {
		for _, id := range strings.Split(e, ",") {
			if id = strings.TrimSpace(id); id != "" {
				events = append(events, id)
			}
		}
	}
	f := hookwatch.DeliveryFilter{EventIDs: events, Source: ds.Source, Destination: ds.Destination, Type: ds.Type}
	switch st := hookwatch.DeliveryStatus(ds.Status); st {
	case "", "any", "all":
	case hookwatch.DeliveryPending, hookwatch.DeliverySucceeded, hookwatch.DeliveryDead:
		f.Status = st
	default:
		return f, hookwatch.Errorf(hookwatch.EINVALID, "%sstatus %q: use one of pending, succeeded, dead or any", prefix, ds.Status)
	}
	var err error
	if f.Since, err = ParseTime(prefix+"since", ds.Since, now); err != nil {
		return f, err
	}
	if f.Until, err = ParseTime(prefix+"until", ds.Until, now); err != nil {
		return f, err
	}
	return f, nil
}

// deliveryFilter reads GET /api/deliveries' query string: event
// (repeatable or comma-separated), source, destination, type, status,
// since, until, before and limit.
func deliveryFilter(q url.Values, now time.Time) (hookwatch.DeliveryFilter, error) {
	ds := DeliverySelection{Events: q["event"], Source: q.Get("source"), Destination: q.Get("destination"), Type: q.Get("type"),
		Status: q.Get("status"), Since: q.Get("since"), Until: q.Get("until")}
	f, err := ds.Filter(now, "")
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
