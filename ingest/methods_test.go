package ingest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/provider"
)

// TestProviderMethods checks that a source accepts the HTTP methods its
// provider declares (HubSpot signs GET requests, Zendesk every method a webhook may use) and answers any other
// method 405 with an Allow header listing the source's methods.
func TestProviderMethods(t *testing.T) {
	const secret = "hubspot-client-secret"
	// HubSpot signs the URL, so the sources are made once the server's
	// address is known; the test server forwards to the receive path.
	var recv http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { recv.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	publicURL := srv.URL + "/in/hubspot"
	back, _ := serveReceiver(t, openStore(t), ingest.Options{Sources: newSources(t,
		sourceSpec{name: "hubspot", prov: "hubspot", secret: secret, url: publicURL}, sourceSpec{name: "stripe", prov: "stripe", secret: stripeSecret},
		sourceSpec{name: "zendesk", prov: "zendesk", secret: "zendesk-signing-secret"})}, nil)
	recv = back.Config.Handler

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
