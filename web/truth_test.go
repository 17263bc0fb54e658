package web_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/web"
	"golang.org/x/crypto/bcrypt"
)

// post sends a Stripe event to the receive path, signed with the source's
// secret (or a wrong one), marked as a test event or not, and returns the
// status.
func (e *env) postEvent(providerID string, goodSignature, test bool) int {
	e.t.Helper()
	body := []byte(fmt.Sprintf(`{"id":%q,"object":"event","type":"invoice.paid","livemode":true}`, providerID))
	req, _ := http.NewRequest(http.MethodPost, e.ingest.URL+"/in/stripe", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if err := e.signer.Sign(req.Header, req.URL.String(), body, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	if !goodSignature {
		req.Header.Set("Stripe-Signature", "t="+strconv.FormatInt(time.Now().Unix(), 10)+",v1=00")
	}
	if test {
		req.Header.Set(ingest.TestHeader, "1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestOverviewReceivedIsAcceptedPlusRejected: the overview counts received
// the way `hookwatch health` does (accepted + rejected, both shown), and
// shows test traffic apart from the rest.
func TestOverviewReceivedIsAcceptedPlusRejected(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i, tc := range []struct {
		good, test bool
		status     int
	}{{true, false, 200}, {true, false, 200}, {false, false, 401}, {true, true, 200}} {
		if got := e.postEvent(fmt.Sprintf("evt_truth_%d", i), tc.good, tc.test); got != tc.status {
			t.Fatalf("request %d answered %d, want %d", i, got, tc.status)
		}
	}
	// The recorder writes the rejection in the background.
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		fc, err := e.store.CountFailures(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Minute), false)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range fc {
			if c.Kind == hookwatch.FailureSignature {
				n += c.Count
			}
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rejection was not recorded: %+v", fc)
		}
	}
	c := e.client()
	e.signIn(c)
	_, body := e.get(c, "/")
	row := regexp.MustCompile(`<a href="/sources/stripe">stripe</a></td><td class="num received">(\d+)<br><span class="muted">(\d+) accepted, (\d+) rejected</span></td>` +
		`<td class="num">\d+<br><span class="muted">\d+ accepted, \d+ rejected</span></td><td class="test">([^<]*)</td>`).FindStringSubmatch(body)
	if row == nil {
		t.Fatalf("no stripe row with received, accepted and rejected on the overview:\n%s", body)
	}
	received, _ := strconv.Atoi(row[1])
	accepted, _ := strconv.Atoi(row[2])
	rejected, _ := strconv.Atoi(row[3])
	if accepted != 2 || rejected != 1 || received != accepted+rejected {
		t.Errorf("received %d, accepted %d, rejected %d; want 2 accepted (the test event apart), 1 rejected, received = 3", received, accepted, rejected)
	}
	if !strings.HasPrefix(row[4], "1 received") {
		t.Errorf("test traffic of stripe = %q, want the test event counted apart", row[4])
	}
	if !strings.Contains(body, `<svg class="chart"`) || !strings.Contains(body, "accepted") {
		t.Errorf("the throughput chart does not say accepted")
	}
}

// TestProbeButtonClosesTheCircuit: a destination whose circuit is open
// says so (and until when) on the destinations and event pages; its Probe
// button sends one delivery now and, the app being back, the backlog is
// delivered without waiting for the ten-minute probe.
func TestProbeButtonClosesTheCircuit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hookwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err := s.CreateUser(ctx, &hookwatch.User{Name: user, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	down.Store(true)
	var calls atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	dests := []deliver.Destination{{Name: "app", URL: app.URL, MaxInFlight: 1, CircuitFailures: 1, CircuitCooldown: 10 * time.Minute,
		Retry: deliver.Policy{Initial: 10 * time.Millisecond, MaxBackoff: 10 * time.Millisecond}}}
	eng, err := deliver.New(deliver.Options{Store: s, Destinations: dests, Owner: "test", Poll: 20 * time.Millisecond, DrainTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Options{Store: s, Sources: []string{"stripe"}, Destinations: []web.Destination{{Name: "app", URL: app.URL}},
		Control: eng, Logger: slog.New(slog.NewTextHandler(tlog{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: s, engine: eng, dash: httptest.NewServer(h)}
	t.Cleanup(func() {
		e.dash.Close()
		eng.Close(ctx)
		app.Close()
		s.Close()
	})
	var ids []string
	insert := func(n int) {
		var evs []*hookwatch.Event
		for i := 0; i < n; i++ {
			now := time.Now().UTC()
			ev := &hookwatch.Event{ID: hookwatch.NewID("evt", now), Source: "stripe", Provider: "stripe", Type: "invoice.paid",
				Headers: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{}`), ReceivedAt: now, Destinations: []string{"app"}}
			evs = append(evs, ev)
			ids = append(ids, ev.ID)
		}
		if _, err := s.InsertEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		eng.Wake()
	}
	insert(1)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st, _ := s.DestinationStates(ctx)
		if st["app"].Circuit == hookwatch.CircuitOpen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the circuit never opened")
		}
	}
	insert(3)

	c := e.client()
	token := e.signIn(c)
	_, body := e.get(c, "/destinations")
	if missing := contains(body, "circuit open until", `action="/destinations/app/probe"`, "Probe now", "destinations probe app"); len(missing) > 0 {
		t.Errorf("destinations page lacks %q:\n%s", missing, body)
	}
	_, body = e.get(c, "/events/"+ids[2])
	if missing := contains(body, `<td class="waiting">circuit open until`); len(missing) > 0 {
		t.Errorf("event page: the pending delivery's next attempt lacks its reason:\n%s", body)
	}

	down.Store(false)
	resp, _ := e.post(c, "/destinations/app/probe", url.Values{"csrf": {token}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/events/evt_") || !strings.Contains(loc, "ok=probe-up") {
		t.Fatalf("probe: %d to %q; want a redirect to the probed event with probe-up", resp.StatusCode, loc)
	}
	// The backlog goes at once: the circuit's own probe is ten minutes away.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n, err := s.CountDeliveries(ctx, hookwatch.DeliveryFilter{Destination: "app"})
		if err != nil {
			t.Fatal(err)
		}
		if n["app"][hookwatch.DeliverySucceeded] == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the probe the backlog was not delivered: %v", n)
		}
	}
	_, body = e.get(c, loc)
	if missing := contains(body, "Probe delivered (HTTP 200)"); len(missing) > 0 {
		t.Errorf("the probed event's page lacks %q", missing)
	}
	_, body = e.get(c, "/destinations")
	if missing := contains(body, `<td class="waiting">idle`); len(missing) > 0 {
		t.Errorf("destinations page after the probe lacks %q:\n%s", missing, body)
	}
}
