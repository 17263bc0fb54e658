package hookwatch

import "path"

// Route sends a source's events to destinations, optionally only events of
// some types.
type Route struct {
	Source       string
	Destinations []string
	// Types are globs of event types (path.Match: "invoice.*"); empty
	// means every type.
	Types []string
}

// Router returns the function that picks an event's destinations: every
// route of the source whose types match (or that has none), each
// destination once, in the routes' order. It is what the receive path and
// a quarantine release call for each event.
func Router(routes []Route) func(source, eventType string) []string {
	bySource := map[string][]Route{}
	for _, r := range routes {
		bySource[r.Source] = append(bySource[r.Source], r)
	}
	return func(source, eventType string) []string {
		var out []string
		for _, r := range bySource[source] {
			if !typeMatches(r.Types, eventType) {
				continue
			}
		next:
			for _, d := range r.Destinations {
				for _, have := range out {
					if have == d {
						continue next
					}
				}
				out = append(out, d)
			}
		}
		return out
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
