package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/provider"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The secrets of the safety tests' config: each must never reach the store.
const (
	safetyGitHubSecret = "gh-secret-9d4e1a7c"
	safetyAppKey       = "Bearer app-credential-5b8f02"
)

// writeSafetyConfig writes a config with stripe, gitlab (token gitlabToken),
// github (dedupe: body) and github-id (the default dedupe) sources, all
// routed to one destination at sinkURL that is sent an Authorization
// header of its own.
func writeSafetyConfig(t *testing.T, dir, gitlabToken, sinkURL string) string {
	t.Helper()
	path := writeYAML(t, dir, anyPortsYAML+fmt.Sprintf(`admin_token: %q
store: %q
log: {level: error}
sources:
  - {name: stripe, provider: stripe, secrets: [%q]}
  - {name: gitlab, provider: gitlab, secrets: [%q]}
  - {name: github, provider: github, secrets: [%q], dedupe: body}
  - {name: github-id, provider: github, secrets: [%q]}
destinations:
  - name: app
    url: %q
    secret: %q
    headers: {Authorization: %q}
routes:
  - {source: stripe, destinations: [app]}
  - {source: gitlab, destinations: [app]}
  - {source: github, destinations: [app]}
  - {source: github-id, destinations: [app]}
`, adminToken, "sqlite:"+filepath.Join(dir, "hw.db"), crashSecret, gitlabToken, safetyGitHubSecret, safetyGitHubSecret, sinkURL, destSecret, safetyAppKey))
	return path
}

// received is what the app was sent.
type received struct {
	header http.Header
	body   []byte
}

// recordingApp is the user's app: it answers 200 and keeps every request.
type recordingApp struct {
	mu   sync.Mutex
	reqs []received
}

func (a *recordingApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.reqs = append(a.reqs, received{r.Header.Clone(), body})
	a.mu.Unlock()
}

// wait returns the requests once there are n (or fails after 10s).
func (a *recordingApp) wait(t *testing.T, n int) []received {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		a.mu.Lock()
		got := append([]received(nil), a.reqs...)
		a.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("the app received %d requests, want %d", len(got), n)
			}
			return got
		}
	}
}

// postTo sends body to /in/source with h and returns the status and answer.
func postTo(t *testing.T, m *Main, source string, body []byte, h http.Header) (int, struct {
	ID        string
	Duplicate bool
}) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+m.PublicAddr()+"/in/"+source, bytes.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		ID        string
		Duplicate bool
	}
	json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a
}

// signed returns h with the headers provider prov would send for body,
// signed with secret.
func signed(t *testing.T, prov, secret string, body []byte, h http.Header) http.Header {
	t.Helper()
	s, err := provider.New(prov, provider.Config{Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.(provider.Signer).Sign(h, "", body, time.Now()); err != nil {
		t.Fatal(err)
	}
	return h
}

// waitQuarantined waits until the store holds n quarantined requests.
func waitQuarantined(t *testing.T, s hookwatch.Store, n int) []*hookwatch.Quarantined {
	t.Helper()
	// The quarantine writes in the background; with the package's tests
	// in parallel on two cores that can take seconds.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		qs, err := s.ListQuarantined(context.Background(), hookwatch.QuarantineFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) >= n || time.Now().After(deadline) {
			if len(qs) != n {
				t.Fatalf("%d requests quarantined, want %d", len(qs), n)
			}
			return qs
		}
	}
}

// storeFilesHolding returns which of the SQLite files (the database, its
// WAL and its shared-memory index) contain secret.
func storeFilesHolding(t *testing.T, db, secret string) []string {
	t.Helper()
	var in []string
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			in = append(in, filepath.Base(f))
		}
	}
	return in
}

// Requests with credential headers, accepted and rejected, through the real
// receive path, quarantine and delivery: no configured secret and no
// credential header value is anywhere in the SQLite file, its WAL or its
// shared-memory index, while the server runs or after it stopped.
func TestNoCredentialAtRest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const gitlabToken = "glpat-configured-token-a61f"
	app := &recordingApp{}
	srv := httptest.NewServer(app)
	defer srv.Close()
	m := loadMain(t, writeSafetyConfig(t, dir, gitlabToken, srv.URL))
	closed := false
	defer func() {
		if !closed {
			m.Close()
		}
	}()

	// Each request carries credentials of its own.
	creds := []string{gitlabToken}
	withCreds := func(tag string, h http.Header) http.Header {
		bearer, cookie, apiKey := "Bearer "+tag+"-bearer-0f3c", "sid="+tag+"-cookie-c2d9", tag+"-api-key-77aa"
		h.Set("Content-Type", "application/json")
		h.Set("Authorization", bearer)
		h.Set("Proxy-Authorization", "Basic "+tag+"-proxy-51e0")
		h.Set("Cookie", cookie)
		h.Set("X-Api-Key", apiKey)
		creds = append(creds, bearer, cookie, apiKey, tag+"-proxy-51e0")
		return h
	}
	stripeBody := []byte(`{"id":"evt_rest","object":"event","type":"invoice.paid","livemode":true}`)
	gitlabBody := []byte(`{"object_kind":"push"}`)
	githubBody := []byte(`{"ref":"refs/heads/main"}`)
	accepted := []struct {
		source string
		body   []byte
		h      http.Header
	}{
		{"stripe", stripeBody, signed(t, "stripe", crashSecret, stripeBody, withCreds("stripe-ok", http.Header{}))},
		{"gitlab", gitlabBody, withCreds("gitlab-ok", http.Header{"X-Gitlab-Token": {gitlabToken}, "X-Gitlab-Event": {"Push Hook"}})},
		{"github", githubBody, signed(t, "github", safetyGitHubSecret, githubBody, withCreds("github-ok", http.Header{"X-Github-Event": {"push"}}))},
	}
	for _, r := range accepted {
		if code, _ := postTo(t, m, r.source, r.body, r.h); code != http.StatusOK {
			t.Fatalf("%s: %d, want 200", r.source, code)
		}
	}
	const wrongToken = "glpat-wrong-token-3b7a"
	creds = append(creds, wrongToken)
	rejected := []struct {
		source string
		body   []byte
		h      http.Header
	}{
		{"stripe", stripeBody, signed(t, "stripe", "whsec_not_the_secret", stripeBody, withCreds("stripe-bad", http.Header{}))},
		{"gitlab", gitlabBody, withCreds("gitlab-bad", http.Header{"X-Gitlab-Token": {wrongToken}})},
	}
	for _, r := range rejected {
		if code, _ := postTo(t, m, r.source, r.body, r.h); code != http.StatusUnauthorized {
			t.Fatalf("%s with a wrong signature: %d, want 401", r.source, code)
		}
	}
	waitQuarantined(t, m.Store, 2)
	delivered := app.wait(t, 3)
	// The destination's own credential is sent, from the config.
	if got := delivered[0].header.Get("Authorization"); got != safetyAppKey {
		t.Errorf("the app got Authorization %q, want its configured header", got)
	}

	secrets := append([]string{crashSecret, safetyGitHubSecret, destSecret, adminToken, safetyAppKey}, creds...)
	db := filepath.Join(dir, "hw.db")
	check := func(when string) {
		for _, s := range secrets {
			if in := storeFilesHolding(t, db, s); len(in) > 0 {
				t.Errorf("%s: %q is stored in %v", when, s, in)
			}
		}
	}
	check("while serving")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	check("after stopping")
}

// A GitLab request rejected because the configured token was wrong is kept
// with its token sealed; once the config is fixed, `quarantine release`
// verifies it (no --unverified) and stores it.
func TestGitLabReleaseVerifiesAfterTheTokenIsFixed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const actual = "glpat-the-token-gitlab-sends-8c21"
	app := &recordingApp{}
	srv := httptest.NewServer(app)
	defer srv.Close()
	path := writeSafetyConfig(t, dir, "glpat-mistyped-token", srv.URL)
	m := loadMain(t, path)
	defer m.Close()
	body := []byte(`{"object_kind":"push","ref":"refs/heads/main"}`)
	h := http.Header{"Content-Type": {"application/json"}, "X-Gitlab-Token": {actual}, "X-Gitlab-Event": {"Push Hook"}, "Idempotency-Key": {"idem-8c21"}}
	if code, _ := postTo(t, m, "gitlab", body, h); code != http.StatusUnauthorized {
		t.Fatalf("with the mistyped token configured: %d, want 401", code)
	}
	kept := waitQuarantined(t, m.Store, 1)
	if tok := kept[0].Headers.Get("X-Gitlab-Token"); !hookwatch.IsSeal(tok) || strings.Contains(tok, actual) {
		t.Fatalf("X-Gitlab-Token kept as %q, want its seal", tok)
	}
	out, _, err := run(t, nil, "quarantine", "show", "--config", path, kept[0].ID)
	if err != nil || strings.Contains(out, actual) {
		t.Errorf("quarantine show: %v\n%s", err, out)
	}

	// Still the wrong token: the release fails.
	_, errOut, err := run(t, nil, "quarantine", "release", "--config", path, "--source", "gitlab")
	if err != nil || !strings.Contains(errOut, "1 failed") {
		t.Fatalf("release with the mistyped token: %v\n%s", err, errOut)
	}
	// Fixed: it verifies and is stored, as received then.
	path = writeSafetyConfig(t, dir, actual, srv.URL)
	out, errOut, err = run(t, map[string]string{"USER": "alice"}, "quarantine", "release", "--config", path, "--source", "gitlab", "--json")
	if err != nil {
		t.Fatalf("release: %v\n%s", err, errOut)
	}
	var res struct {
		Outcome    string `json:"outcome"`
		EventID    string `json:"event_id"`
		Unverified bool   `json:"unverified"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &res); err != nil || res.Outcome != "released" || res.Unverified || res.EventID == "" {
		t.Fatalf("release after fixing the token: %+v, %v\n%s%s", res, err, out, errOut)
	}
	e, err := m.Store.GetEvent(context.Background(), res.EventID)
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Body) != string(body) || e.ProviderEventID != "idem-8c21" || e.Type != "Push Hook" || !e.ReceivedAt.Equal(kept[0].ReceivedAt) {
		t.Errorf("released event: %+v", e)
	}
	if got := e.Headers.Get("X-Gitlab-Token"); got != hookwatch.Redacted {
		t.Errorf("released event's X-Gitlab-Token = %q, want %s", got, hookwatch.Redacted)
	}
	q, err := m.Store.GetQuarantined(context.Background(), kept[0].ID)
	if err != nil || q.Unverified || q.EventID != res.EventID || q.ReleasedBy != "cli:alice" {
		t.Errorf("record after release: %+v, %v", q, err)
	}
}

// A gzip body is verified as received, stored as received with its
// Content-Encoding, and sent to the app as the same bytes with the same
// header (and a webhook-signature over those bytes): the app can gunzip it.
func TestGzipBodyDeliveredAsReceived(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app := &recordingApp{}
	srv := httptest.NewServer(app)
	defer srv.Close()
	m := loadMain(t, writeSafetyConfig(t, dir, "glpat-x", srv.URL))
	defer m.Close()

	original := []byte(`{"ref":"refs/heads/main","commits":[{"id":"1f2e"}]}`)
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(original)
	zw.Close()
	compressed := zb.Bytes()
	h := signed(t, "github", safetyGitHubSecret, compressed, http.Header{
		"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}, "X-Github-Event": {"push"}})
	code, a := postTo(t, m, "github-id", compressed, h)
	if code != http.StatusOK {
		t.Fatalf("gzip body: %d, want 200", code)
	}
	e, err := m.Store.GetEvent(context.Background(), a.ID)
	if err != nil || !bytes.Equal(e.Body, compressed) || e.Headers.Get("Content-Encoding") != "gzip" {
		t.Fatalf("stored: %+v, %v; want the compressed bytes with Content-Encoding gzip", e, err)
	}
	got := app.wait(t, 1)[0]
	if !bytes.Equal(got.body, compressed) || got.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("the app got %q with Content-Encoding %q; want the bytes received and gzip", got.body, got.header.Get("Content-Encoding"))
	}
	wh, err := standardwebhooks.NewWebhook(destSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(got.body, got.header); err != nil {
		t.Errorf("webhook-signature over the compressed bytes: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(got.body))
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, original) {
		t.Errorf("gunzipped: %q, %v; want %q", plain, err, original)
	}
}

// GitHub signs neither the delivery ID nor a time: a captured request sent
// again with a new X-GitHub-Delivery is absorbed on a source with
// dedupe: body, and is a new event with the default dedupe on the ID.
func TestDedupeBodyAbsorbsAResentGitHubRequest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app := &recordingApp{}
	srv := httptest.NewServer(app)
	defer srv.Close()
	m := loadMain(t, writeSafetyConfig(t, dir, "glpat-x", srv.URL))
	defer m.Close()

	body := []byte(`{"action":"opened","number":7}`)
	for _, tc := range []struct {
		source  string
		absorbs bool
	}{{"github", true}, {"github-id", false}} {
		first := signed(t, "github", safetyGitHubSecret, body, http.Header{"Content-Type": {"application/json"},
			"X-Github-Event": {"pull_request"}, "X-Github-Delivery": {"delivery-1-" + tc.source}})
		code, a := postTo(t, m, tc.source, body, first)
		if code != http.StatusOK || a.Duplicate {
			t.Fatalf("%s: first: %d %+v", tc.source, code, a)
		}
		// The captured request, its signature as is, with a new delivery ID.
		resent := first.Clone()
		resent.Set("X-Github-Delivery", "delivery-2-"+tc.source)
		code, b := postTo(t, m, tc.source, body, resent)
		if code != http.StatusOK {
			t.Fatalf("%s: resent: %d", tc.source, code)
		}
		if tc.absorbs && (!b.Duplicate || b.ID != a.ID) {
			t.Errorf("%s (dedupe: body): resent = %+v, want a duplicate of %s", tc.source, b, a.ID)
		}
		if !tc.absorbs && (b.Duplicate || b.ID == a.ID) {
			t.Errorf("%s (dedupe: id): resent = %+v, want a new event", tc.source, b)
		}
		e, err := m.Store.GetEvent(context.Background(), a.ID)
		if err != nil || e.ProviderEventID != "delivery-1-"+tc.source {
			t.Errorf("%s: stored %+v, %v; want the provider's delivery ID kept", tc.source, e, err)
		}
		// A real retry keeps its delivery ID: absorbed either way.
		if code, c := postTo(t, m, tc.source, body, first); code != http.StatusOK || !c.Duplicate {
			t.Errorf("%s: retry with the same delivery ID: %d %+v, want a duplicate", tc.source, code, c)
		}
	}
}
