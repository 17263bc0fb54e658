package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/provider"
	"github.com/hookwatch/hookwatch/sqlite"
)

// BenchmarkAsanaVerifyKeptSecret is one Asana event verified with the
// handshake secret read from a real SQLite store (the storeKeeper reads it
// at every request, sealed under the installation key), against the same
// verification with the secret configured. Recorded in
// docs/PERFORMANCE.md.
func BenchmarkAsanaVerifyKeptSecret(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "hw.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	const secret = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
	if _, err := store.KeepHandshakeSecret(ctx, "asana", secret, time.Now()); err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"events":[{"action":"changed","resource":{"gid":"1200","resource_type":"task"}}]}`)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	req := &provider.Request{Method: "POST", Header: http.Header{"X-Hook-Signature": {hex.EncodeToString(m.Sum(nil))}}, Body: body, Now: time.Now()}
	for _, c := range []struct {
		name string
		cfg  provider.Config
	}{
		{"kept", provider.Config{Keeper: storeKeeper{store: store, source: "asana"}}},
		{"configured", provider.Config{Secrets: []string{secret}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := provider.New("asana", c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Verify(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
