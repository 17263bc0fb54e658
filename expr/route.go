package expr

import (
	"fmt"

	hookwatch "github.com/hookwatch/hookwatch"
)

// RouteFilter makes a filter program a route's filter (hookwatch.Filter):
// the router builds one Input per event and every route's filter reads it,
// so the body is parsed at most once per event whatever the routes.
func RouteFilter(p *Program) hookwatch.Filter { return routeFilter{p} }

type routeFilter struct{ p *Program }

func (f routeFilter) NewInput(ev *hookwatch.Event) any { return NewInput(ev) }

func (f routeFilter) Match(in any) (bool, error) {
	i, ok := in.(*Input)
	if !ok {
		return false, fmt.Errorf("expr: filter input is %T, not *expr.Input", in)
	}
	return f.p.Match(i)
}
