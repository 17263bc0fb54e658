//go:build unix

package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// BenchmarkInsertFrames reports the WAL frames (pages written) per event of
// batches of 64 (FRAMES_BATCH) 1 KB events with random provider IDs and one destination,
// into a store already holding 20,000 events: the figure the write path's
// design is judged by (every frame is two pwrite calls and a page of
// checksumming), and the CPU time per event (the process's, so the
// checkpointer is not in it). Checkpoints are off, so the WAL only grows.
func BenchmarkInsertFrames(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "frames.db")
	s, err := open(ctx, path, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if q := os.Getenv("FRAMES_SQL"); q != "" {
		if _, err := s.w.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	// FRAMES_BATCH sets the batch size (the server's group commits hold
	// about 18 events on this machine's two loaded cores).
	bs := 64
	if v := os.Getenv("FRAMES_BATCH"); v != "" {
		if bs, err = strconv.Atoi(v); err != nil || bs < 1 {
			b.Fatalf("FRAMES_BATCH=%q: want a positive number", v)
		}
	}
	batch := func() []*hookwatch.Event {
		now := time.Now()
		out := make([]*hookwatch.Event, bs)
		for i := range out {
			var id [12]byte
			rand.Read(id[:])
			pid := "evt_" + hex.EncodeToString(id[:])
			out[i] = &hookwatch.Event{ID: hookwatch.NewID("evt", now), Source: "stripe", Provider: "stripe",
				ProviderEventID: pid, Type: "invoice.paid",
				Headers: http.Header{"Content-Type": {"application/json"}, "Stripe-Signature": {"t=1,v1=" + pid}},
				Body:    make([]byte, 1024), ReceivedAt: now, Destinations: []string{"app"}}
		}
		return out
	}
	for range 20000 / bs {
		if _, err := s.InsertEvents(ctx, batch()); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.c.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	var pageSize int64
	if err := s.w.QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil {
		b.Fatal(err)
	}
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	before := walSize()
	cpu0 := processCPU()
	b.ResetTimer()
	n := 0
	for n < b.N {
		if _, err := s.InsertEvents(ctx, batch()); err != nil {
			b.Fatal(err)
		}
		n += bs
	}
	// The delivery rows still owed (fanout.go) are part of the cost.
	if err := s.settle(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	frames := float64(walSize()-before) / float64(pageSize+24)
	b.ReportMetric(frames/float64(n), "frames/event")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/event")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/event")
}

// processCPU is this process's CPU time (user + system) so far: steadier
// than the elapsed time on a machine whose cores other processes share.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
