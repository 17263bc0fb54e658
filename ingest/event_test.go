package ingest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/provider"
)

// NewEvent keeps no credential header, leaves the request's headers as
// they were, and with dedupe: body keys the event on the body's SHA-256
// while ProviderEventID stays the provider's.
func TestNewEvent(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	body := []byte(`{"ref":"main"}`)
	h := http.Header{"Authorization": {"Bearer abc"}, "X-Gitlab-Token": {"glpat-1"}, "X-Github-Delivery": {"d-1"}, "Content-Encoding": {"gzip"}}
	src := &ingest.Source{Name: "github", Provider: "github", DedupeHorizon: time.Hour}
	e := ingest.NewEvent(src, provider.Result{EventID: "d-1", EventType: "push"}, h, body, at)
	if e.Headers.Get("Authorization") != hookwatch.Redacted || e.Headers.Get("X-Gitlab-Token") != hookwatch.Redacted {
		t.Errorf("credentials in the event: %v", e.Headers)
	}
	if e.Headers.Get("X-Github-Delivery") != "d-1" || e.Headers.Get("Content-Encoding") != "gzip" {
		t.Errorf("other headers lost: %v", e.Headers)
	}
	if h.Get("Authorization") != "Bearer abc" {
		t.Errorf("the request's own headers were modified: %v", h)
	}
	if e.DedupeKey != "" || e.DedupeID() != "d-1" || !e.DedupeUntil.Equal(at.Add(time.Hour)) {
		t.Errorf("dedupe: id: key %q, until %v", e.DedupeID(), e.DedupeUntil)
	}

	src.DedupeBody = true
	e = ingest.NewEvent(src, provider.Result{EventID: "d-1", EventType: "push"}, h, body, at)
	sum := sha256.Sum256(body)
	if want := "sha256:" + hex.EncodeToString(sum[:]); e.DedupeID() != want || e.ProviderEventID != "d-1" {
		t.Errorf("dedupe: body: key %q, provider ID %q; want %q and d-1", e.DedupeID(), e.ProviderEventID, want)
	}
}
