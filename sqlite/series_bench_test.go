package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
)

// BenchmarkSeries measures what one performance page asks of the store
// (Series, BacklogSeries and FailingTypes) over a store of
// HOOKWATCH_BENCH_EVENTS events (default 1,000,000) spread over 7 days, each
// with one delivery and one attempt (1% dead, 1% pending, 5% of attempts
// failed). The store is seeded with SQL once and kept in the temporary
// directory between runs.
//
//	go test ./sqlite -run '^$' -bench Series -benchtime 5x
func BenchmarkSeries(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("HOOKWATCH_BENCH_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	end := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	path := filepath.Join(os.TempDir(), fmt.Sprintf("hookwatch-series-bench-%d.db", n))
	s := seedSeries(b, path, n, end)
	defer s.Close()
	for _, r := range []struct {
		name         string
		span, bucket time.Duration
	}{{"24h", 24 * time.Hour, time.Hour}, {"7d", 7 * 24 * time.Hour, 6 * time.Hour}, {"1h", time.Hour, 2 * time.Minute}} {
		q := hookwatch.SeriesQuery{Since: end.Add(-r.span), Until: end, Bucket: r.bucket}
		b.Run("range="+r.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Series(ctx, q); err != nil {
					b.Fatal(err)
				}
				if _, err := s.BacklogSeries(ctx, q); err != nil {
					b.Fatal(err)
				}
				if _, err := s.FailingTypes(ctx, q, 10); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// seedSeries opens the store at path, filling it with n events first when
// it is new.
func seedSeries(b *testing.B, path string, n int, end time.Time) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	_, statErr := os.Stat(path)
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	if statErr == nil {
		return s
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start := end.Add(-7 * 24 * time.Hour).UnixMicro()
	step := (7 * 24 * time.Hour).Microseconds() / int64(n)
	b.Logf("seeding %d events into %s", n, path)
	for _, q := range []string{
		`WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM k WHERE i < ?1 - 1)
		INSERT INTO events (id, source, provider, type, headers, body, received_at)
		SELECT printf('evt_%012d', i), CASE i % 3 WHEN 0 THEN 'stripe' WHEN 1 THEN 'github' ELSE 'shopify' END, 'stripe',
			CASE i % 4 WHEN 0 THEN 'invoice.paid' WHEN 1 THEN 'push' WHEN 2 THEN 'orders/create' ELSE 'invoice.created' END,
			'{}', x'7b7d', ?2 + i * ?3 FROM k`,
		`INSERT INTO deliveries (id, event_id, destination, status, attempts, next_attempt_at, created_at, updated_at, completed_at, last_class)
		SELECT 'dlv_' || substr(id, 5), id, CASE rowid % 2 WHEN 0 THEN 'app' ELSE 'crm' END,
			CASE WHEN rowid % 100 = 0 THEN 'dead' WHEN rowid % 100 = 1 THEN 'pending' ELSE 'succeeded' END, 1, received_at, received_at, received_at,
			CASE WHEN rowid % 100 = 1 THEN 0 ELSE received_at + 100000 + (rowid % 50) * 20000 END,
			CASE WHEN rowid % 20 = 0 THEN 'server_error' ELSE '' END FROM events`,
		`INSERT INTO attempts (delivery_id, n, at, latency_us, class, http_status)
		SELECT id, 1, created_at + 50000, 40000 + (rowid % 30) * 1000, last_class, CASE last_class WHEN '' THEN 200 ELSE 500 END FROM deliveries`,
		`ANALYZE`,
	} {
		if _, err := db.ExecContext(ctx, q, n, start, step); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	return s
}
