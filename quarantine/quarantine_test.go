package quarantine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/provider"
	"github.com/hookwatch/hookwatch/quarantine"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	rightSecret = "whsec_right_c2VjcmV0LXJpZ2h0"
	wrongSecret = "whsec_wrong_c2VjcmV0LXdyb25n"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func source(t *testing.T, name, prov string, cfg provider.Config) ingest.Source {
	t.Helper()
	scheme, err := provider.New(prov, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ingest.Source{Name: name, Provider: prov, Scheme: scheme, MaxBody: 1 << 20, PublicURL: cfg.PublicURL, DedupeHorizon: hookwatch.DefaultDedupeHorizon,
		Secrets: cfg.Secrets}
}

// gateway is the real receive path on httptest with a quarantine writer,
// over a real SQLite file.
type gateway struct {
	store  *sqlite.Store
	writer *quarantine.Writer
	srv    *httptest.Server
	now    time.Time // the receive clock
}

func newGateway(t *testing.T, sources []ingest.Source, now time.Time) *gateway {
	t.Helper()
	g := &gateway{store: openStore(t), now: now}
	committer := ingest.NewCommitter(g.store, 64, nil)
	g.writer = quarantine.NewWriter(quarantine.Options{Store: g.store, Pace: time.Millisecond, Now: func() time.Time { return g.now }})
	key, err := g.store.InstallationKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := ingest.NewHandler(ingest.Options{Sources: sources, Committer: committer, Router: route,
		Now: func() time.Time { return g.now }, Reject: g.writer.Keep, Key: key})
	mux := http.NewServeMux()
	mux.Handle("POST /in/{source}", h)
	g.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		g.srv.Close()
		committer.Close()
		g.writer.Close()
	})
	return g
}

func route(*hookwatch.Event) ([]string, []hookwatch.Filtered) { return []string{"app"}, nil }

// post sends body to /in/source with headers set by sign, and returns the
// status.
func (g *gateway) post(t *testing.T, src string, body string, sign func(h http.Header)) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.srv.URL+"/in/"+src, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	sign(req.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func stripeSign(t *testing.T, secret string, body string, at time.Time) func(http.Header) {
	return func(h http.Header) {
		s, err := provider.New("stripe", provider.Config{Secrets: []string{secret}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.(provider.Signer).Sign(h, "", []byte(body), at); err != nil {
			t.Fatal(err)
		}
	}
}

func stripeBody(id string) string {
	return fmt.Sprintf(`{"id":%q,"object":"event","type":"invoice.paid","livemode":true}`, id)
}

// waitKept waits until n requests are quarantined.
func waitKept(t *testing.T, s hookwatch.QuarantineStore, n int) []*hookwatch.Quarantined {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		qs, err := s.ListQuarantined(context.Background(), hookwatch.QuarantineFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) >= n || time.Now().After(deadline) {
			if len(qs) != n {
				t.Fatalf("%d requests quarantined, want %d", len(qs), n)
			}
			return qs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countEvents(t *testing.T, s hookwatch.EventStore) []*hookwatch.Event {
	t.Helper()
	es, err := s.ListEvents(context.Background(), hookwatch.EventFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// The round trip: a wrong secret configured, webhooks rejected
// (401) and kept; the secret fixed, released; events stored once with
// their original received time, routed; a second release stores nothing.
// The requests arrived two days before the release: they pass because they
// are verified as of when they arrived (a stale timestamp otherwise).
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	received := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Microsecond)
	g := newGateway(t, []ingest.Source{source(t, "stripe", "stripe", provider.Config{Secrets: []string{wrongSecret}})}, received)

	for i := range 3 {
		body := stripeBody(fmt.Sprintf("evt_rt_%d", i))
		if code := g.post(t, "stripe", body, stripeSign(t, rightSecret, body, received)); code != http.StatusUnauthorized {
			t.Fatalf("webhook %d with the wrong secret configured: %d, want 401", i, code)
		}
	}
	kept := waitKept(t, g.store, 3)
	for _, q := range kept {
		if q.Reason != string(provider.ReasonBadSignature) || !q.ReceivedAt.Equal(received) || q.Method != "POST" ||
			!strings.HasSuffix(q.URL, "/in/stripe") || q.Headers.Get("Stripe-Signature") == "" || q.Released() {
			t.Errorf("kept %+v", q)
		}
	}
	if n := len(countEvents(t, g.store)); n != 0 {
		t.Fatalf("%d events stored from rejected requests", n)
	}

	// The config is fixed: the releaser has the right secret. Releasing is
	// two days later than receiving.
	rl := &quarantine.Releaser{Store: g.store, Router: route,
		Sources: []ingest.Source{source(t, "stripe", "stripe", provider.Config{Secrets: []string{rightSecret}})}}
	dry, err := rl.Release(ctx, quarantine.Request{Filter: hookwatch.QuarantineFilter{Source: "stripe"}, By: "cli:test", DryRun: true})
	if err != nil || dry.Counts[quarantine.Released] != 3 {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	if n := len(countEvents(t, g.store)); n != 0 {
		t.Fatalf("dry run stored %d events", n)
	}

	rep, err := rl.Release(ctx, quarantine.Request{Filter: hookwatch.QuarantineFilter{Source: "stripe"}, By: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[quarantine.Released] != 3 || len(rep.Results) != 3 {
		t.Fatalf("release: %+v", rep)
	}
	events := countEvents(t, g.store)
	if len(events) != 3 {
		t.Fatalf("%d events stored, want 3", len(events))
	}
	for _, e := range events {
		if !e.ReceivedAt.Equal(received) || e.Type != "invoice.paid" || !strings.HasPrefix(e.ProviderEventID, "evt_rt_") {
			t.Errorf("released event %+v: want received at %v, type and provider ID", e, received)
		}
		ds, err := g.store.ListDeliveries(ctx, hookwatch.DeliveryFilter{EventIDs: []string{e.ID}})
		if err != nil || len(ds) != 1 || ds[0].Destination != "app" {
			t.Errorf("deliveries of %s: %v, %v; want one to app", e.ID, ds, err)
		}
	}
	for _, r := range rep.Results {
		q, err := g.store.GetQuarantined(ctx, r.ID)
		if err != nil || !q.Released() || q.EventID != r.EventID || q.ReleasedBy != "cli:test" || q.Unverified {
			t.Errorf("record after release: %+v, %v", q, err)
		}
	}

	// Again: by filter nothing is held; by ID each is skipped.
	again, err := rl.Release(ctx, quarantine.Request{Filter: hookwatch.QuarantineFilter{Source: "stripe"}, By: "cli:test"})
	if err != nil || len(again.Results) != 0 {
		t.Errorf("second release by filter: %+v, %v", again, err)
	}
	ids := []string{kept[0].ID, kept[1].ID}
	again, err = rl.Release(ctx, quarantine.Request{Filter: hookwatch.QuarantineFilter{IDs: ids}, By: "cli:test"})
	if err != nil || again.Counts[quarantine.Skipped] != 2 {
		t.Errorf("second release by ID: %+v, %v", again, err)
	}
	if n := len(countEvents(t, g.store)); n != 3 {
		t.Errorf("%d events after releasing again, want still 3", n)
	}

	// Verified as of now instead, they would have been stale: the original
	// time is what makes them pass.
	s, _ := provider.New("stripe", provider.Config{Secrets: []string{rightSecret}})
	_, err = s.Verify(&provider.Request{Method: "POST", Header: kept[0].Headers, Body: kept[0].Body, Now: time.Now()})
	if provider.ReasonOf(err) != provider.ReasonStaleTimestamp {
		t.Errorf("verified now: %v, want stale_timestamp (the test would prove nothing)", err)
	}
}

// A request rejected as stale when it arrived (signed long before) is
// still stale at release: the original time does not excuse it.
func TestStaleStaysStale(t *testing.T) {
	ctx := context.Background()
	received := time.Now().UTC().Truncate(time.Microsecond)
	src := source(t, "stripe", "stripe", provider.Config{Secrets: []string{rightSecret}})
	g := newGateway(t, []ingest.Source{src}, received)
	body := stripeBody("evt_stale")
	if code := g.post(t, "stripe", body, stripeSign(t, rightSecret, body, received.Add(-time.Hour))); code != http.StatusUnauthorized {
		t.Fatalf("stale request: %d, want 401", code)
	}
	kept := waitKept(t, g.store, 1)
	if kept[0].Reason != string(provider.ReasonStaleTimestamp) {
		t.Fatalf("reason %q", kept[0].Reason)
	}
	rl := &quarantine.Releaser{Store: g.store, Sources: []ingest.Source{src}}
	rep, err := rl.Release(ctx, quarantine.Request{Filter: hookwatch.QuarantineFilter{IDs: []string{kept[0].ID}}})
	if err != nil || rep.Counts[quarantine.Failed] != 1 || !strings.Contains(rep.Results[0].Reason, "stale_timestamp") {
		t.Fatalf("release of a stale request: %+v, %v", rep, err)
	}
	if q, _ := g.store.GetQuarantined(ctx, kept[0].ID); q.Released() {
		t.Errorf("failed request marked released")
	}
}

// A provider retry accepted after the fix is not stored twice: the
// release finds its provider event ID and records the request as released
// as that event.
func TestReleaseDedupesAgainstRetry(t *testing.T) {
	ctx := context.Background()
	received := time.Now().UTC().Truncate(time.Microsecond)
	g := newGateway(t, []ingest.Source{source(t, "stripe", "stripe", provider.Config{Secrets: []string{wrongSecret}})}, received)
	body := stripeBody("evt_retry")
	g.post(t, "stripe", body, stripeSign(t, rightSecret, body, received))
	waitKept(t, g.store, 1)

	// The provider's retry, accepted once the secret is fixed.
	fixed := source(t, "stripe", "stripe", provider.Config{Secrets: []string{rightSecret}})
	committer := ingest.NewCommitter(g.store, 1, nil)
	defer committer.Close()
	first := ingest.NewEvent(&fixed, provider.Result{EventID: "evt_retry", EventType: "invoice.paid"}, http.Header{}, []byte(body), received.Add(time.Minute))
	if _, err := committer.Commit(ctx, first); err != nil {
		t.Fatal(err)
	}

	rl := &quarantine.Releaser{Store: g.store, Sources: []ingest.Source{fixed}}
	rep, err := rl.Release(ctx, quarantine.Request{Filter: hookwatch.QuarantineFilter{Source: "stripe"}})
	if err != nil || rep.Counts[quarantine.Duplicate] != 1 || rep.Results[0].EventID != first.ID {
		t.Fatalf("release: %+v, %v; want a duplicate of %s", rep, err, first.ID)
	}
	if n := len(countEvents(t, g.store)); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
	if q, _ := g.store.GetQuarantined(ctx, rep.Results[0].ID); !q.Released() || q.EventID != first.ID {
		t.Errorf("record: %+v", q)
	}
}

// GitLab sends its secret token itself: it is kept sealed under the
// installation key, never as it came. A release with the wrong token still
// configured fails; with the right one among the current secrets (a
// rotation), it verifies and stores the event.
func TestGitLabTokenKeptSealedAndVerifiedOnRelease(t *testing.T) {
	ctx := context.Background()
	received := time.Now().UTC().Truncate(time.Microsecond)
	const sent = "glpat-the-real-token"
	g := newGateway(t, []ingest.Source{source(t, "gitlab", "gitlab", provider.Config{Secrets: []string{"glpat-mistyped"}})}, received)
	code := g.post(t, "gitlab", `{"object_kind":"push"}`, func(h http.Header) {
		h.Set("X-Gitlab-Token", sent)
		h.Set("X-Gitlab-Event", "Push Hook")
		h.Set("Idempotency-Key", "idem-1")
	})
	if code != http.StatusUnauthorized {
		t.Fatalf("gitlab with a mistyped token configured: %d", code)
	}
	kept := waitKept(t, g.store, 1)
	key, err := g.store.InstallationKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := kept[0].Headers.Get("X-Gitlab-Token"); got == sent || !hookwatch.SealMatches(key, got, sent) {
		t.Fatalf("X-Gitlab-Token kept as %q: want the seal of the token, not the token", got)
	}

	wrong := &quarantine.Releaser{Store: g.store, Router: route,
		Sources: []ingest.Source{source(t, "gitlab", "gitlab", provider.Config{Secrets: []string{"glpat-mistyped"}})}}
	rep, err := wrong.Release(ctx, quarantine.Request{Filter: hookwatch.QuarantineFilter{Source: "gitlab"}})
	if err != nil || rep.Counts[quarantine.Failed] != 1 || strings.Contains(rep.Results[0].Reason, "--unverified") {
		t.Fatalf("release with the mistyped token: %+v, %v; want failed, without the redacted-token hint", rep, err)
	}

	secrets := []string{"glpat-mistyped", sent}
	fixed := source(t, "gitlab", "gitlab", provider.Config{Secrets: secrets})
	rl := &quarantine.Releaser{Store: g.store, Sources: []ingest.Source{fixed}, Router: route}
	rep, err = rl.Release(ctx, quarantine.Request{Filter: hookwatch.QuarantineFilter{Source: "gitlab"}, By: "cli:alice"})
	if err != nil || rep.Counts[quarantine.Released] != 1 || rep.Results[0].Unverified {
		t.Fatalf("release with the token among the secrets: %+v, %v", rep, err)
	}
	e, err := g.store.GetEvent(ctx, rep.Results[0].EventID)
	if err != nil || e.ProviderEventID != "idem-1" || e.Type != "Push Hook" || !e.ReceivedAt.Equal(received) {
		t.Fatalf("released event: %+v, %v", e, err)
	}
	if got := e.Headers.Get("X-Gitlab-Token"); got != hookwatch.Redacted {
		t.Errorf("the event's X-Gitlab-Token = %q, want %s", got, hookwatch.Redacted)
	}
}

// --unverified stores what still fails and records who did it. A GitLab
// request kept with its token redacted (by a version before the
// installation key) can only be released that way, and the failure says so.
func TestUnverifiedRelease(t *testing.T) {
	ctx := context.Background()
	received := time.Now().UTC().Truncate(time.Microsecond)
	store := openStore(t)
	old := &hookwatch.Quarantined{ID: hookwatch.NewID("qrn", received), Source: "gitlab", Provider: "gitlab", Reason: "bad_signature",
		Method: "POST", Headers: http.Header{"X-Gitlab-Token": {hookwatch.Redacted}, "X-Gitlab-Event": {"Push Hook"}},
		Body: []byte(`{"object_kind":"push"}`), ReceivedAt: received}
	if err := store.AddQuarantined(ctx, []*hookwatch.Quarantined{old}); err != nil {
		t.Fatal(err)
	}
	gl := source(t, "gitlab", "gitlab", provider.Config{Secrets: []string{"glpat-right"}})
	rl := &quarantine.Releaser{Store: store, Sources: []ingest.Source{gl}, Router: route}
	rep, err := rl.Release(ctx, quarantine.Request{Filter: hookwatch.QuarantineFilter{Source: "gitlab"}, By: "cli:alice"})
	if err != nil || rep.Counts[quarantine.Failed] != 1 || !strings.Contains(rep.Results[0].Reason, "--unverified") {
		t.Fatalf("verified release of a redacted gitlab request: %+v, %v", rep, err)
	}
	rep, err = rl.Release(ctx, quarantine.Request{Filter: hookwatch.QuarantineFilter{Source: "gitlab"}, By: "cli:alice", Unverified: true})
	if err != nil || rep.Counts[quarantine.Released] != 1 || !rep.Results[0].Unverified {
		t.Fatalf("unverified release: %+v, %v", rep, err)
	}
	q, err := store.GetQuarantined(ctx, old.ID)
	if err != nil || !q.Released() || !q.Unverified || q.ReleasedBy != "cli:alice" || q.ReleasedAt.IsZero() {
		t.Fatalf("record: %+v, %v", q, err)
	}
	e, err := store.GetEvent(ctx, q.EventID)
	if err != nil || !e.ReceivedAt.Equal(received) || string(e.Body) != `{"object_kind":"push"}` {
		t.Fatalf("event: %+v, %v", e, err)
	}
}

// A release that stored its events but was interrupted before recording
// them completes without storing them twice.
func TestReleaseResumesAfterInterruption(t *testing.T) {
	ctx := context.Background()
	received := time.Now().UTC().Truncate(time.Microsecond)
	store := openStore(t)
	body := stripeBody("evt_int")
	h := http.Header{}
	stripeSign(t, rightSecret, body, received)(h)
	q := &hookwatch.Quarantined{ID: hookwatch.NewID("qrn", received), Source: "stripe", Provider: "stripe", Reason: "bad_signature",
		Method: "POST", Headers: h, Body: []byte(body), ReceivedAt: received}
	if err := store.AddQuarantined(ctx, []*hookwatch.Quarantined{q}); err != nil {
		t.Fatal(err)
	}
	src := source(t, "stripe", "stripe", provider.Config{Secrets: []string{rightSecret}})
	rl := &quarantine.Releaser{Store: &failMark{Store: store}, Sources: []ingest.Source{src}}
	if _, err := rl.Release(ctx, quarantine.Request{Filter: hookwatch.QuarantineFilter{IDs: []string{q.ID}}}); err == nil {
		t.Fatal("release with a failing MarkReleased succeeded")
	}
	rl.Store = store
	rep, err := rl.Release(ctx, quarantine.Request{Filter: hookwatch.QuarantineFilter{IDs: []string{q.ID}}})
	if err != nil || rep.Counts[quarantine.Released] != 1 {
		t.Fatalf("resumed release: %+v, %v", rep, err)
	}
	if n := len(countEvents(t, store)); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

type failMark struct{ *sqlite.Store }

func (f *failMark) MarkReleased(context.Context, hookwatch.QuarantineRelease) error {
	return errors.New("disk on fire")
}

// An empty filter is refused.
func TestReleaseNeedsFilter(t *testing.T) {
	rl := &quarantine.Releaser{Store: openStore(t)}
	if _, err := rl.Release(context.Background(), quarantine.Request{}); hookwatch.ErrorCode(err) != hookwatch.EINVALID {
		t.Errorf("empty filter: %v, want %s", err, hookwatch.EINVALID)
	}
}

// blockingStore holds every AddQuarantined until released.
type blockingStore struct {
	hookwatch.QuarantineStore
	gate  chan struct{}
	mu    sync.Mutex
	added int
}

func (b *blockingStore) AddQuarantined(ctx context.Context, qs []*hookwatch.Quarantined) error {
	<-b.gate
	b.mu.Lock()
	b.added += len(qs)
	b.mu.Unlock()
	return nil
}

func (b *blockingStore) PruneQuarantine(context.Context, hookwatch.QuarantineBounds) (int, error) {
	return 0, nil
}

// When the store is slow (or a flood outpaces it), Keep drops and counts
// instead of blocking the receive path.
func TestWriterDropsWhenFull(t *testing.T) {
	bs := &blockingStore{gate: make(chan struct{})}
	reg := prometheus.NewRegistry()
	w := quarantine.NewWriter(quarantine.Options{Store: bs, Queue: 4, Batch: 2, Pace: time.Microsecond, Registerer: reg})
	r := ingest.Rejection{Source: "stripe", Provider: "stripe", Reason: provider.ReasonBadSignature, Headers: http.Header{}, Body: []byte("{}"), ReceivedAt: time.Now()}
	const sent = 100
	done := make(chan struct{})
	go func() {
		for range sent {
			w.Keep(context.Background(), r)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Keep blocked while the store was stuck")
	}
	dropped := metric(t, reg, "hookwatch_quarantine_dropped_total", quarantine.DropQueueFull)
	// At most the queue and one batch in the writer's hands are waiting.
	if dropped < sent-4-2 || dropped > sent-4 {
		t.Errorf("dropped %v of %d with a queue of 4 and batches of 2", dropped, sent)
	}
	close(bs.gate)
	w.Close()
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if float64(bs.added)+dropped != sent {
		t.Errorf("kept %d + dropped %v != sent %d", bs.added, dropped, sent)
	}
	if got := metric(t, reg, "hookwatch_quarantine_kept_total", "stripe"); got != float64(bs.added) {
		t.Errorf("kept counter %v, store got %d", got, bs.added)
	}
}

// metric returns the value of the counter name with the label value label.
func metric(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// A kept request carries the subject at its source's path, extracted by the
// writer (the receive path hands over the path, not the value), so an
// erasure finds it by subject.
func TestWriterExtractsSubject(t *testing.T) {
	store := openStore(t)
	w := quarantine.NewWriter(quarantine.Options{Store: store, Pace: time.Microsecond})
	path, err := hookwatch.ParseSubjectPath("data.customer")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	w.Keep(context.Background(), ingest.Rejection{Source: "stripe", Provider: "stripe", Reason: provider.ReasonBadSignature,
		Headers: http.Header{}, Body: []byte(`{"id":"evt_1","data":{"customer":"cus_Q1"}}`), ReceivedAt: at, SubjectPath: path})
	w.Keep(context.Background(), ingest.Rejection{Source: "stripe", Provider: "stripe", Reason: provider.ReasonBadSignature,
		Headers: http.Header{}, Body: []byte(`{"data":{"customer":"cus_Q2"}}`), ReceivedAt: at.Add(time.Millisecond)})
	w.Close()
	qs, err := store.ListQuarantined(context.Background(), hookwatch.QuarantineFilter{})
	if err != nil || len(qs) != 2 {
		t.Fatalf("kept %d, %v; want 2", len(qs), err)
	}
	got := map[string]bool{}
	for _, q := range qs {
		got[q.Subject] = true
	}
	if !got["cus_Q1"] || !got[""] {
		t.Errorf("subjects kept %v; want cus_Q1 (its source has a path) and none (no path)", got)
	}
}

// What is kept: credentials redacted, the body cut to MaxBody and marked;
// sources switched off keep nothing.
func TestWriterRecord(t *testing.T) {
	store := openStore(t)
	w := quarantine.NewWriter(quarantine.Options{Store: store, MaxBody: 8, Skip: map[string]bool{"quiet": true}, Pace: time.Microsecond})
	at := time.Now().UTC().Truncate(time.Microsecond)
	h := http.Header{"Authorization": {"Bearer s3cret"}, "X-Hub-Signature-256": {"sha256=ab"}}
	w.Keep(context.Background(), ingest.Rejection{Source: "github", Provider: "github", Reason: provider.ReasonBadSignature,
		Err: provider.Reject(provider.ReasonBadSignature, "no signature matched"), Method: "POST", URL: "https://x/in/github?a=1",
		Headers: h, Body: []byte("0123456789"), ReceivedAt: at})
	w.Keep(context.Background(), ingest.Rejection{Source: "quiet", Headers: http.Header{}, ReceivedAt: at})
	w.Close()
	qs, err := store.ListQuarantined(context.Background(), hookwatch.QuarantineFilter{})
	if err != nil || len(qs) != 1 {
		t.Fatalf("kept %d, %v; want 1 (quiet is switched off)", len(qs), err)
	}
	q := qs[0]
	if q.Headers.Get("Authorization") != "[redacted]" || q.Headers.Get("X-Hub-Signature-256") != "sha256=ab" {
		t.Errorf("headers %v: credentials redacted, signatures kept", q.Headers)
	}
	if string(q.Body) != "01234567" || !q.Truncated {
		t.Errorf("body %q truncated=%v, want cut to 8 bytes", q.Body, q.Truncated)
	}
	if q.Detail != "no signature matched" || q.URL != "https://x/in/github?a=1" || !q.ReceivedAt.Equal(at) {
		t.Errorf("kept %+v", q)
	}
	if h.Get("Authorization") != "Bearer s3cret" {
		t.Errorf("the request's own headers were modified")
	}
	rl := &quarantine.Releaser{Store: store, Sources: []ingest.Source{source(t, "github", "github", provider.Config{Secrets: []string{"x"}})}}
	rep, err := rl.Release(context.Background(), quarantine.Request{Filter: hookwatch.QuarantineFilter{IDs: []string{q.ID}}, Unverified: true})
	if err != nil || rep.Counts[quarantine.Skipped] != 1 {
		t.Errorf("release of a truncated body: %+v, %v; want skipped even unverified", rep, err)
	}
}

// The writer prunes to its bounds.
func TestWriterPrunes(t *testing.T) {
	store := openStore(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	var qs []*hookwatch.Quarantined
	for i := range 5 {
		qs = append(qs, &hookwatch.Quarantined{ID: hookwatch.NewID("qrn", now.Add(-time.Duration(i)*24*time.Hour)), Source: "s", Provider: "stripe",
			Reason: "bad_signature", Headers: http.Header{}, ReceivedAt: now.Add(-time.Duration(i) * 24 * time.Hour)})
	}
	if err := store.AddQuarantined(context.Background(), qs); err != nil {
		t.Fatal(err)
	}
	w := quarantine.NewWriter(quarantine.Options{Store: store, MaxAge: 36 * time.Hour, MaxCount: 100, Now: func() time.Time { return now }})
	defer w.Close()
	n, err := w.Prune(context.Background(), now)
	if err != nil || n != 3 {
		t.Fatalf("prune: %d, %v", n, err)
	}
	left, _ := store.ListQuarantined(context.Background(), hookwatch.QuarantineFilter{})
	if len(left) != 2 {
		t.Errorf("%d left, want the 2 younger than 36h", len(left))
	}
}
