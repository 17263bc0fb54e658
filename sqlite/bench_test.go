package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

// BenchmarkInsertEvents measures one group commit of b.N/64 batches of 64
// 1 KB events with one delivery each: the store's share of the ingest path.
//
// encrypted=true seals every payload (encryption at rest): the difference
// is encryption's cost on the store's side.
func BenchmarkInsertEvents(b *testing.B) {
	for _, c := range []struct {
		size      int
		encrypted bool
	}{{1, false}, {64, false}, {64, true}} {
		size := c.size
		var cipher *encrypt.Cipher
		if c.encrypted {
			cipher = storetest.NewCipher(b, storetest.NewKey(b))
		}
		b.Run(fmt.Sprintf("batch=%d/encrypted=%t", size, c.encrypted), func(b *testing.B) {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.WithCipher(cipher))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Now()
			b.ResetTimer()
			for i := 0; i < b.N; i += size {
				batch := make([]*hookwatch.Event, size)
				for j := range batch {
					e := storetest.NewEvent("stripe", fmt.Sprintf("evt_%d_%d", i, j), now)
					e.Body = make([]byte, 1024)
					e.Destinations = []string{"app"}
					batch[j] = e
				}
				if _, err := s.InsertEvents(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
