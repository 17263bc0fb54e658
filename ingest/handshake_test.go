package ingest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/provider"
)

// flakyKeeper is a provider.SecretKeeper whose store can be made to fail.
type flakyKeeper struct {
	mu     sync.Mutex
	secret string
	down   bool
}

func (k *flakyKeeper) Load() (string, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.down {
		return "", false, errors.New("store down")
	}
	return k.secret, k.secret != "", nil
}

func (k *flakyKeeper) Keep(s string) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.down {
		return false, errors.New("store down")
	}
	if k.secret != "" {
		return false, nil
	}
	k.secret = s
	return true, nil
}

// TestHandshakeSecretAnswers: a handshake that would replace a kept secret
// is answered 409 and not quarantined; a keeper that cannot reach its store
// makes the answer 503 with Retry-After (the provider retries), not 401.
func TestHandshakeSecretAnswers(t *testing.T) {
	k := &flakyKeeper{secret: "kept"}
	scheme, err := provider.New("asana", provider.Config{Keeper: k})
	if err != nil {
		t.Fatal(err)
	}
	var rejected []ingest.Rejection
	var mu sync.Mutex
	srv, _ := serveReceiver(t, openStore(t), ingest.Options{
		Sources: []ingest.Source{{Name: "asana", Provider: "asana", Scheme: scheme, MaxBody: 4096, DedupeHorizon: hookwatch.DefaultDedupeHorizon}},
		Reject:  func(_ context.Context, r ingest.Rejection) { mu.Lock(); rejected = append(rejected, r); mu.Unlock() }}, nil)
	post := func(name, value string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/in/asana", strings.NewReader(`{"events":[]}`))
		req.Header.Set(name, value)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := post("X-Hook-Secret", "other"); resp.StatusCode != 409 || !strings.Contains(body, "handshake_refused") {
		t.Fatalf("handshake over a kept secret: %d %s", resp.StatusCode, body)
	}
	if resp, _ := post("X-Hook-Signature", "00"); resp.StatusCode != 401 {
		t.Fatalf("bad signature: %d", resp.StatusCode)
	}
	mu.Lock()
	if len(rejected) != 1 || rejected[0].Reason != provider.ReasonBadSignature {
		t.Errorf("rejections handed on: %+v; want only the bad signature (a refused handshake is not quarantined)", rejected)
	}
	mu.Unlock()
	k.mu.Lock()
	k.down = true
	k.mu.Unlock()
	for _, hdr := range []string{"X-Hook-Secret", "X-Hook-Signature"} {
		if resp, body := post(hdr, "00"); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s with the keeper's store down: %d %s; want 503 with Retry-After", hdr, resp.StatusCode, body)
		}
	}
}
