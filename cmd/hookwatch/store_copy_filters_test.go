package main

import (
	"context"
	"net/http"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
	"github.com/hookwatch/hookwatch/postgres"
	"github.com/hookwatch/hookwatch/postgres/pgtest"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

// TestStoreCopyCarriesFiltersAndSent: `store copy` from SQLite to
// PostgreSQL carries why filters left events out (event_filters) and what
// each attempt sent (the transform's hash, the sent body's hash, the
// request as sent: migration 0019), sealed rows as they are, so that the
// copy shows the same event pages; in plaintext and with encryption on.
func TestStoreCopyCarriesFiltersAndSent(t *testing.T) {
	t.Parallel()
	for _, sealed := range []bool{false, true} {
		name := "plaintext"
		if sealed {
			name = "sealed"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var c *encrypt.Cipher
			if sealed {
				c = storetest.NewCipher(t, storetest.NewKey(t))
			}
			url := pgtest.URL(t)
			ctx := context.Background()
			dbPath := filepath.Join(t.TempDir(), "hw.db")
			src, err := sqlite.Open(ctx, dbPath, sqlite.WithCipher(c))
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Millisecond)
			left := storetest.NewEvent("stripe", "evt_left_out", now)
			left.Filtered = []hookwatch.Filtered{
				{Route: 1, Destinations: []string{"finance"}, Err: "no such key: amount_paid"},
				{Route: 4, Destinations: []string{"audit", "ops"}},
			}
			sent := storetest.NewEvent("stripe", "evt_transformed", now.Add(time.Millisecond))
			sent.Destinations = []string{"app"}
			if _, err := src.InsertEvents(ctx, []*hookwatch.Event{left, sent}); err != nil {
				t.Fatal(err)
			}
			ds, err := src.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "w", Now: now.Add(time.Second), Lease: time.Minute, Limit: 1})
			if err != nil || len(ds) != 1 {
				t.Fatalf("claim: %v %v", ds, err)
			}
			a := hookwatch.Attempt{DeliveryID: ds[0].ID, Owner: "w", At: now, Class: hookwatch.ClassServer, StatusCode: 500, Error: "HTTP 500",
				Transform: "sha256:7f1e", SentHash: "sha256:00aa",
				Sent: &hookwatch.SentRequest{URL: "http://127.0.0.1:3000/hooks", Headers: http.Header{"X-Shape": {"v2"}}, Body: []byte(`{"reshaped":true}`), BodySize: 17}}
			if _, err := src.FinishDeliveries(ctx, []hookwatch.Finish{{Owner: "w", Outcome: hookwatch.OutcomeDead, Attempt: a}}); err != nil {
				t.Fatal(err)
			}
			wantFilters, err := src.EventFilters(ctx, left.ID)
			if err != nil || len(wantFilters) != 2 {
				t.Fatalf("source filters: %+v, %v", wantFilters, err)
			}
			_, wantAttempts, err := src.GetDelivery(ctx, ds[0].ID)
			if err != nil || len(wantAttempts) != 1 || wantAttempts[0].Sent == nil || wantAttempts[0].Sent.Unreadable != "" {
				t.Fatalf("source attempts: %+v, %v", wantAttempts, err)
			}
			src.Close()

			if _, stderr, err := run(t, nil, "store", "copy", "--from", "sqlite:"+dbPath, "--to", url); err != nil {
				t.Fatalf("store copy: %v\n%s", err, stderr)
			}
			dst, err := postgres.Open(ctx, url, postgres.WithCipher(c))
			if err != nil {
				t.Fatal(err)
			}
			defer dst.Close()
			if got, err := dst.EventFilters(ctx, left.ID); err != nil || !reflect.DeepEqual(got, wantFilters) {
				t.Errorf("filters after copy: %+v, %v; want %+v", got, err, wantFilters)
			}
			_, got, err := dst.GetDelivery(ctx, ds[0].ID)
			if err != nil || len(got) != 1 {
				t.Fatalf("attempts after copy: %+v, %v", got, err)
			}
			w, g := wantAttempts[0], got[0]
			if g.Transform != w.Transform || g.SentHash != w.SentHash || !reflect.DeepEqual(g.Sent, w.Sent) {
				t.Errorf("attempt after copy: transform %q, sent hash %q, sent %+v; want %q, %q, %+v",
					g.Transform, g.SentHash, g.Sent, w.Transform, w.SentHash, w.Sent)
			}
		})
	}
}
