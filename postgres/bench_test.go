package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/storetest"
)

// BenchmarkInsertEvents measures one group-commit batch of 1 KB events
// (each with a provider event ID, so through the dedupe upsert) as the
// ingest committer writes it: go test -bench InsertEvents ./postgres/
func BenchmarkInsertEvents(b *testing.B) {
	for _, size := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s, err := postgresOpen(b)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			body := []byte(`{"pad":"` + strings.Repeat("a", 1000) + `"}`)
			b.ResetTimer()
			n := 0
			for b.Loop() {
				batch := make([]*hookwatch.Event, size)
				for i := range batch {
					n++
					e := storetest.NewEvent("stripe", fmt.Sprintf("evt_bench_%d", n), time.Now())
					e.Body = body
					batch[i] = e
				}
				if _, err := s.InsertEvents(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
