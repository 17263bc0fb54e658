package server

import (
	"net/http"
	"sort"
	"strings"
)

// Route is one pattern registered on a listener, as listed in docs/api.md.
type Route struct {
	// Listener is "public" or "admin".
	Listener string
	// Method is the pattern's method, or "ANY" for a pattern without one.
	Method string
	// Path is the pattern's path.
	Path string
}

// Routes lists every route the server's two listeners serve, sorted, from
// the very registrations in routes (not a copy kept by hand), so that the
// API page can be checked against it. The dashboard, mounted on "/" of the
// admin listener, is listed once as that catch-all; its pages are in
// docs/dashboard.md.
func (s *Server) Routes() []Route {
	list := append(append([]Route(nil), s.public.list...), s.admin.list...)
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Listener != b.Listener {
			return a.Listener > b.Listener // public first
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Method < b.Method
	})
	return list
}

// routeMux is an http.ServeMux that also records what it registers.
type routeMux struct {
	*http.ServeMux
	listener string
	list     []Route
}

func newRouteMux(listener string) *routeMux {
	return &routeMux{ServeMux: http.NewServeMux(), listener: listener}
}

func (m *routeMux) record(pattern string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "ANY", pattern
	}
	m.list = append(m.list, Route{Listener: m.listener, Method: method, Path: path})
}

// Handle registers h for pattern and records it.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.record(pattern)
	m.ServeMux.Handle(pattern, h)
}

// HandleFunc registers h for pattern and records it.
func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.record(pattern)
	m.ServeMux.HandleFunc(pattern, h)
}
