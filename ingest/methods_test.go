package ingest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/provider"
	"github.com/hookwatch/hookwatch/server"
	"github.com/hookwatch/hookwatch/sqlite"
)

// TestProviderMethods checks that a source accepts the HTTP methods its
// provider declares (HubSpot signs GET requests, Zendesk every method a webhook may use) and answers any other
// method 405 with an Allow header listing the source's methods.
func TestProviderMethods(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	commit := ingest.NewCommitter(store, 64, nil)
	const secret = "hubspot-client-secret"
	var h *ingest.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	publicURL := srv.URL + "/in/hubspot"
	var sources []ingest.Source
	for _, s := range []struct{ name, prov, secret, url string }{
		{"hubspot", "hubspot", secret, publicURL}, {"stripe", "stripe", stripeSecret, ""},
		{"zendesk", "zendesk", "zendesk-signing-secret", ""},
	} {
		scheme, err := provider.New(s.prov, provider.Config{Secrets: []string{s.secret}, PublicURL: s.url})
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, ingest.Source{Name: s.name, Provider: s.prov, Scheme: scheme, PublicURL: s.url, MaxBody: 4096, DedupeHorizon: hookwatch.DefaultDedupeHorizon})
	}
	h = ingest.NewHandler(ingest.Options{Sources: sources, Committer: commit})
	srv.Config.Handler = server.Public(server.Options{Ingest: h, Store: store})
	t.Cleanup(func() {
		srv.Close()
		commit.Close()
		store.Close()
	})

	// A HubSpot v3 signed GET: method + URI + (empty) body + timestamp.
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	uri := publicURL + "?portalId=62515&objectId=101"
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("GET" + uri + ts))
	req, _ := http.NewRequest(http.MethodGet, uri, nil)
	req.Header.Set("X-HubSpot-Request-Timestamp", ts)
	req.Header.Set("X-HubSpot-Signature-v3", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	if r := do(t, req); r.status != http.StatusOK {
		t.Fatalf("signed HubSpot GET: got %d %s, want 200", r.status, r.raw)
	}
	// The same signature does not pass as another method.
	req, _ = http.NewRequest(http.MethodPost, uri, nil)
	req.Header.Set("X-HubSpot-Request-Timestamp", ts)
	req.Header.Set("X-HubSpot-Signature-v3", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	if r := do(t, req); r.status != http.StatusUnauthorized || r.body["error"] != "bad_signature" {
		t.Fatalf("GET signature replayed as POST: got %d %s, want 401 bad_signature", r.status, r.raw)
	}

	// Zendesk signs every method a webhook may use; a bodyless DELETE is
	// signed over its timestamp alone.
	zd, err := provider.New("zendesk", provider.Config{Secrets: []string{"zendesk-signing-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodDelete, srv.URL+"/in/zendesk", nil)
	req.Header.Set("X-Zendesk-Webhook-Invocation-Id", "inv-delete-1")
	if err := zd.(provider.Signer).Sign(req.Header, "", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := do(t, req); r.status != http.StatusOK {
		t.Fatalf("signed Zendesk DELETE: got %d %s, want 200", r.status, r.raw)
	}

	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodPut, "/in/hubspot", "POST, GET"},
		{http.MethodGet, "/in/stripe", "POST"},
		{http.MethodDelete, "/in/stripe", "POST"},
		{"OPTIONS", "/in/zendesk", "POST, GET, PUT, PATCH, DELETE"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		r := do(t, req)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != tc.allow || r.body["error"] != "method_not_allowed" {
			t.Errorf("%s %s: got %d Allow=%q %s, want 405 Allow=%q", tc.method, tc.path, r.status, r.header.Get("Allow"), r.raw, tc.allow)
		}
	}
}
