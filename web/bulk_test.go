package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/hookwatch/hookwatch"
)

// TestBulkActions: replay all matching and release all matching show their
// dry run first and change nothing until confirmed; retry of one delivery
// to one destination re-queues only that one.
func TestBulkActions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	replays := func(t *testing.T) []*hookwatch.Replay {
		t.Helper()
		rs, err := f.store.ListReplays(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	replayCount := func(n int) func(t *testing.T) {
		return func(t *testing.T) {
			if rs := replays(t); len(rs) != n {
				t.Errorf("%d replays recorded, want %d: %+v", len(rs), n, rs)
			}
		}
	}
	held := func(want bool) func(t *testing.T) {
		return func(t *testing.T) {
			q, err := f.store.GetQuarantined(ctx, f.qrnID)
			if err != nil {
				t.Fatal(err)
			}
			if q.Released() == want {
				t.Errorf("quarantined request released = %v, want %v", q.Released(), !want)
			}
		}
	}
	dead := url.Values{"status": {"dead"}, "destination": {"flaky"}}
	withRate := func(rate string) url.Values {
		v := url.Values{"rate": {rate}}
		for k, x := range dead {
			v[k] = x
		}
		return v
	}
	sc := []scenario{
		{name: "events list offers the bulk replay", method: "GET", path: "/events?status=dead&destination=flaky", status: 200,
			want: []string{`id="replay-matching"`, "/replay?destination=flaky&amp;status=dead"}},
		{name: "no bulk replay without a status", method: "GET", path: "/events?destination=flaky", status: 200, wantNot: []string{`id="replay-matching"`}},
		{name: "dry run", method: "GET", path: "/replay?status=dead&destination=flaky", status: 200,
			want: []string{"dead deliveries to flaky", `<b id="replay-count">2</b>`, "Nothing has been changed yet", `name="rate"`}, check: replayCount(0)},
		{name: "dry run of nothing", method: "GET", path: "/replay?status=dead&destination=app", status: 200,
			want: []string{`<b id="replay-count">0</b>`}, wantNot: []string{`id="confirm-replay"`}},
		{name: "replay without a status", method: "GET", path: "/replay?destination=flaky", status: 400, want: []string{"choose which deliveries"}},
		{name: "replay of pending", method: "GET", path: "/replay?status=pending", status: 400, want: []string{"dead or succeeded"}},
		{name: "replay with a bad since", method: "GET", path: "/replay?status=dead&since=forever", status: 400},
		{name: "anonymous dry run", method: "GET", path: "/replay?status=dead", status: http.StatusSeeOther, location: "/signin?next="},
		{name: "confirm without CSRF", signedIn: true, method: "POST", path: "/replay", form: withRate("5"), status: http.StatusForbidden, check: replayCount(0)},
		{name: "confirm with a bad rate", signedIn: true, csrf: true, method: "POST", path: "/replay", form: withRate("fast"), status: 400,
			want: []string{"deliveries per second"}, check: replayCount(0)},
		{name: "confirm with a negative rate", signedIn: true, csrf: true, method: "POST", path: "/replay", form: withRate("-1"), status: 400, check: replayCount(0)},
		{name: "confirm", signedIn: true, csrf: true, method: "POST", path: "/replay", form: withRate("5"), status: http.StatusSeeOther,
			location: "/audit?n=2&ok=replayed", check: func(t *testing.T) {
				rs := replays(t)
				if len(rs) != 1 || rs[0].Count != 2 || rs[0].Rate != 5 || rs[0].Actor != "dashboard:alice" || rs[0].Filter.Destination != "flaky" ||
					rs[0].Filter.Status != hookwatch.DeliveryDead {
					t.Errorf("replays = %+v, want one of 2 dead deliveries to flaky at 5/s by dashboard:alice", rs)
				}
			}},
		{name: "retry one destination", signedIn: true, csrf: true, method: "POST", path: "/events/" + f.ev2 + "/replay", form: url.Values{"destination": {"app"}},
			status: http.StatusSeeOther, location: "/events/" + f.ev2 + "?n=1&ok=replayed", check: func(t *testing.T) {
				rs := replays(t)
				if len(rs) != 2 || rs[0].Count != 1 || rs[0].Filter.Destination != "app" {
					t.Errorf("latest replay = %+v, want 1 delivery to app", rs[0])
				}
			}},
		{name: "retry to a destination the event has none for", signedIn: true, csrf: true, method: "POST", path: "/events/" + f.ev2 + "/replay",
			form: url.Values{"destination": {"nope"}}, status: 404, want: []string{"no delivery to"}},
		{name: "event page offers a retry per destination", method: "GET", path: "/events/" + f.ev1, status: 200, want: []string{"Retry to app"}},

		{name: "quarantine list offers the bulk release", method: "GET", path: "/quarantine?source=stripe", status: 200, want: []string{`id="release-matching"`}},
		{name: "release needs a filter", method: "GET", path: "/quarantine/release", status: 400, want: []string{"by source or reason"}, check: held(true)},
		{name: "release dry run", method: "GET", path: "/quarantine/release?source=stripe", status: 200,
			want: []string{`<b id="release-released">1</b>`, `<b id="release-failed">0</b>`, "nothing has been stored yet", `id="confirm-release"`}, check: held(true)},
		{name: "release without CSRF", signedIn: true, method: "POST", path: "/quarantine/release", form: url.Values{"source": {"stripe"}}, status: http.StatusForbidden, check: held(true)},
		{name: "release", signedIn: true, csrf: true, method: "POST", path: "/quarantine/release", form: url.Values{"source": {"stripe"}},
			status: http.StatusSeeOther, location: "/quarantine?n=1&ok=released", check: held(false)},
	}
	for i := range sc {
		if sc[i].location != "/signin?next=" {
			sc[i].signedIn = true
		}
	}
	f.run(t, sc)
}
