package hookwatch

import (
	"path"
	"slices"
	"strconv"
	"strings"
)

// Route sends a source's events to destinations, optionally only events of
// some types, optionally only those its filter passes.
type Route struct {
	Source       string
	Destinations []string
	// Types are globs of event types (path.Match: "invoice.*"); empty
	// means every type.
	Types []string
	// Filter, when set, decides after the types whether an event goes
	// through the route (a CEL expression over the event: package expr).
	Filter Filter
}

// Filter decides whether one event goes through a route. The router calls
// NewInput once per event, with the first filter that event meets, and
// hands the result to Match of every filter of every route of that event,
// so what a filter derives from an event (its parsed body) is derived once.
// Every filter given to one Router must accept the others' inputs (all come
// from expr.RouteFilter).
type Filter interface {
	// NewInput is the per-event state Match reads.
	NewInput(ev *Event) any
	// Match reports whether the event passes. An error (a field missing
	// from this event's body, a cost limit) means it does not pass, and
	// says why in words for the event's page.
	Match(in any) (bool, error)
}

// Filtered is a route whose filter left an event out of destinations it
// would otherwise have gone to (and no other route sent it to), as stored
// with the event (EventStore.EventFilters) and shown on its page.
type Filtered struct {
	// Route is the route's number, counted from 1 in the config's routes.
	Route int
	// Destinations are the route's destinations the event got no delivery
	// for because of it.
	Destinations []string
	// Err is why the filter failed, e.g. "no such key: discount"; empty
	// when it evaluated to false.
	Err string
}

// String says it in a sentence, for the event's page and `events show`:
// "filter of route 2 left out finance: no such key: amount_paid", or
// "... left out finance (false)".
func (f Filtered) String() string {
	s := "filter of route " + strconv.Itoa(f.Route) + " left out " + strings.Join(f.Destinations, ", ")
	if f.Err == "" {
		return s + " (false)"
	}
	return s + ": " + f.Err
}

// RouteFunc picks an event's destinations, and says which routes' filters
// left destinations out.
type RouteFunc func(ev *Event) (destinations []string, filtered []Filtered)

// Router returns the function that picks an event's destinations: every
// route of the source whose types match (or that has none) and whose
// filter passes (or that has none), each destination once, in the routes'
// order. It is what the receive path and a quarantine release call for
// each event. Routes are numbered from 1 in the order given (the config's).
func Router(routes []Route) RouteFunc {
	type numbered struct {
		Route
		n int
	}
	bySource := map[string][]numbered{}
	for i, r := range routes {
		bySource[r.Source] = append(bySource[r.Source], numbered{r, i + 1})
	}
	return func(ev *Event) ([]string, []Filtered) {
		var out []string
		var filtered []Filtered
		var in any
		haveInput := false
		for _, r := range bySource[ev.Source] {
			if !typeMatches(r.Types, ev.Type) {
				continue
			}
			if r.Filter != nil {
				if !haveInput {
					in, haveInput = r.Filter.NewInput(ev), true
				}
				ok, err := r.Filter.Match(in)
				if !ok {
					f := Filtered{Route: r.n, Destinations: r.Destinations}
					if err != nil {
						f.Err = err.Error()
					}
					filtered = append(filtered, f)
					continue
				}
			}
			for _, d := range r.Destinations {
				if !slices.Contains(out, d) {
					out = append(out, d)
				}
			}
		}
		if len(filtered) == 0 {
			return out, nil
		}
		// Keep only what no other route delivered: the record says which
		// filter cost the event a destination.
		kept := filtered[:0]
		for _, f := range filtered {
			var left []string
			for _, d := range f.Destinations {
				if !slices.Contains(out, d) && !slices.Contains(left, d) {
					left = append(left, d)
				}
			}
			if len(left) > 0 {
				f.Destinations = left
				kept = append(kept, f)
			}
		}
		if len(kept) == 0 {
			return out, nil
		}
		return out, kept
	}
}

func typeMatches(globs []string, eventType string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, eventType); ok {
			return true
		}
	}
	return false
}
