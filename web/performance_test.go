package web_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestPerformancePages: the performance view, and the source and
// destination pages, signed in and not, with hostile parameters.
func TestPerformancePages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sc := []scenario{
		{name: "performance, default 24h", method: "GET", path: "/performance", status: 200,
			want: []string{"<h1>Performance</h1>", `aria-current="page">24h</a>`, "Requests received per hour", "accepted", "rejected",
				"Processing time (received to delivered)", "Attempt latency p95", `href="/sources/stripe"`, `href="/destinations/app"`,
				`href="/destinations/flaky"`, "Slowest destinations", "Most failing event types", "invoice.paid", "stripe → flaky"}},
		{name: "performance, last hour", method: "GET", path: "/performance?range=1h", status: 200,
			want: []string{`aria-current="page">1h</a>`, "per 2 minutes", "one bucket per 2 minutes"}},
		{name: "performance, 7 days", method: "GET", path: "/performance?range=7d", status: 200, want: []string{"per 6 hours"}},
		{name: "performance, custom range", method: "GET", path: "/performance?from=2026-01-01T00:00&to=2026-01-03T00:00", status: 200,
			want: []string{"one bucket per hour", "2026-01-01 00:00:00 to 2026-01-03 00:00:00", "Nothing delivered in this range", "No failed attempt in this range"}},
		{name: "performance, unknown range", method: "GET", path: "/performance?range=forever", status: 400, want: []string{"not one of 1h, 24h, 7d"}},
		{name: "performance, reversed range", method: "GET", path: "/performance?from=2026-01-03T00:00&to=2026-01-01T00:00", status: 400, want: []string{"before it starts"}},
		{name: "performance, range too long", method: "GET", path: "/performance?from=2020-01-01T00:00&to=2026-01-01T00:00", status: 400, want: []string{"at most 60 days"}},
		{name: "performance, not a time", method: "GET", path: "/performance?from=%3Cscript%3E", status: 400, want: []string{"is not a time"},
			wantNot: []string{"<script>"}},
		{name: "source page", method: "GET", path: "/sources/stripe", status: 200,
			want: []string{"<h1>Source stripe</h1>", "provider", "1 configured (values not shown)", "Sent to", `href="/destinations/flaky"`, "Open issues", "server_error"}},
		{name: "unknown source", method: "GET", path: "/sources/nope", status: 404, want: []string{"no source named"}},
		{name: "hostile source name", method: "GET", path: "/sources/%3Cscript%3E", status: 404, wantNot: []string{"<script>"}},
		{name: "destination page", method: "GET", path: "/destinations/flaky", status: 200,
			want: []string{"<h1>Destination flaky</h1>", "Pause", "Recent failures", "badge dead", "server_error", "Open issues", "Backlog"}},
		{name: "destination page with settings", method: "GET", path: "/destinations/app?range=1h", status: 200,
			want: []string{"<h1>Destination app</h1>", "timeout", "10s", "No failing or dead delivery"}},
		{name: "unknown destination", method: "GET", path: "/destinations/nope", status: 404, want: []string{"no destination named"}},
		{name: "destination page, bad range", method: "GET", path: "/destinations/app?range=2y", status: 400},
	}
	for i := range sc {
		sc[i].signedIn = true
	}
	for _, p := range []string{"/performance", "/sources/stripe", "/destinations/app"} {
		sc = append(sc, scenario{name: "anonymous GET " + p, method: "GET", path: p, status: http.StatusSeeOther, location: "/signin?next=",
			wantNot: []string{"flaky", "invoice.paid"}})
	}
	f.run(t, sc)
}

// TestContentSearch: the events list's search by content, a CEL
// expression over a bounded range, with the number of events read shown.
func TestContentSearch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	q := func(expr string) string { return "/events?match=" + url.QueryEscape(expr) }
	sc := []scenario{
		{name: "by type", method: "GET", path: q(`type == "customer.created"`), status: 200, want: []string{f.ev2, "read 2 events received in the last 24h"}, wantNot: []string{f.ev1}},
		{name: "by body field", method: "GET", path: q(`body.id == "evt_stripe_first" && headers["content-type"].startsWith("application/json")`), status: 200,
			want: []string{f.ev1}, wantNot: []string{f.ev2}},
		{name: "with another filter", method: "GET", path: q(`source == "stripe"`) + "&type=invoice.paid&since=1h", status: 200,
			want: []string{f.ev1, "read 1 events received in the last 1h"}, wantNot: []string{f.ev2}},
		{name: "a missing field matches nothing", method: "GET", path: q(`body.data.object.amount_paid > 10000`), status: 200, want: []string{"No events match", "read 2 events"}},
		{name: "not an expression", method: "GET", path: q(`body.`), status: 400, want: []string{"search:", "column"}},
		{name: "not a condition", method: "GET", path: q(`body.id`), status: 400, want: []string{"search:"}},
		{name: "hostile expression", method: "GET", path: q(`<script>alert(1)</script>`), status: 400, wantNot: []string{"<script>alert(1)"}},
	}
	for i := range sc {
		sc[i].signedIn = true
	}
	sc = append(sc, scenario{name: "anonymous search", method: "GET", path: q(`true`), status: http.StatusSeeOther, location: "/signin?next="})
	f.run(t, sc)
}
