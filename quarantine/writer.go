// Package quarantine keeps the requests that failed verification, bounded
// in count, bytes and age, and releases them as events once the config is fixed:
// each kept request is verified again with the current secrets as if it
// arrived when it did, and stored like a live event (routing, dedupe).
//
// The Writer is the receive path's side: ingest hands it every rejection
// (Keep), which it queues on a bounded channel and writes in batches from
// one goroutine, so a flood of forged requests neither slows the receive
// path nor grows the store without bound: each source's rejections are
// taken at most at an intake rate, the queue is bounded, nothing is kept
// while the store's volume is under its free-space floor (what is not kept
// is counted, and logged at most once a minute per source), and the store
// is pruned to its count, byte and age bounds after every tenth of either
// bound written and periodically (Prune, a job of the maintenance runner,
// every PruneEvery on the instance that leads).
// The Releaser is the operator's side (CLI and admin API).
package quarantine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/batch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Writer. Zero values take the defaults.
type Options struct {
	Store hookwatch.QuarantineStore
	// MaxCount, MaxBytes (the StoredSize of all kept) and MaxAge bound
	// what is kept; MaxBody caps each body (at most MaxBytes).
	MaxCount int
	MaxBytes int64
	MaxAge   time.Duration
	MaxBody  int
	// Rate is how many rejections per second each source may have kept,
	// with bursts of Burst (defaults 20/s and 100); beyond, they are
	// counted and not kept, so that one flooded source cannot churn the
	// store.
	Rate  float64
	Burst int
	// Room, if set, is asked before every write whether the store's
	// volume has room above its free-space floor (*readiness.Watcher):
	// when it has not, nothing is kept.
	Room Room
	// Skip lists the sources whose rejections are not kept.
	Skip map[string]bool
	// Queue is how many rejections may wait for the writer (default 1024);
	// beyond, they are dropped.
	Queue int
	// Batch caps how many rejections one store write takes (default 128).
	Batch int
	// Pace is the least time between two store writes (default 50ms): the
	// quarantine shares the store's writer with the receive path, so a
	// flood takes at most Batch writes per Pace of it, and the rest is
	// dropped.
	Pace   time.Duration
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer, if set, registers the writer's metrics.
	Registerer prometheus.Registerer
}

// Room is the store volume's free space as the writer needs it;
// *readiness.Watcher implements it.
type Room interface {
	// LowDisk reports whether the volume is under its floor (cheap: the
	// receive path calls it).
	LowDisk() bool
	// Room reports whether n more bytes may be written, counting them.
	Room(n int64) bool
}

// Writer keeps rejected requests in the store from a background goroutine.
type Writer struct {
	opts    Options
	queue   chan ingest.Rejection
	mu      sync.RWMutex // guards closed against sends on a closed queue
	closed  bool
	done    chan struct{}
	metrics metrics

	smu     sync.Mutex // guards sources
	sources map[string]*intake
}

// intake is one source's rate limit (a token bucket) and the sampling of
// its "not kept" log line.
type intake struct {
	tokens  float64
	filled  time.Time
	logged  time.Time
	unkept  map[string]int // since the last log line, by reason
	started bool
}

// maxSources bounds the intake map: rejections come only from configured
// sources (ingest answers 404 to others before verifying), but the bound
// does not depend on it. Beyond it, sources share one bucket.
const maxSources = 4096

// logEvery is the least time between two "not kept" log lines of a source.
const logEvery = time.Minute

type metrics struct {
	kept    *prometheus.CounterVec
	dropped *prometheus.CounterVec
	pruned  prometheus.Counter
}

// Reasons a rejection is dropped, the label of
// hookwatch_quarantine_dropped_total.
const (
	DropRateLimited = "rate_limited" // over its source's intake rate (quarantine.rate)
	DropLowDisk     = "low_disk"     // the store's volume is under storage.min_free
	DropQueueFull   = "queue_full"   // the writer is behind: a flood, or a slow store
	DropStoreError  = "store_error"  // the store write failed
	DropClosed      = "closed"       // shutting down
)

// NewWriter starts a writer; Close stops it.
func NewWriter(opts Options) *Writer {
	if opts.MaxCount <= 0 {
		opts.MaxCount = hookwatch.DefaultQuarantineMaxCount
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = hookwatch.DefaultQuarantineMaxAge
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = hookwatch.DefaultQuarantineMaxBytes
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = hookwatch.DefaultQuarantineMaxBody
	}
	if int64(opts.MaxBody) > opts.MaxBytes {
		opts.MaxBody = int(opts.MaxBytes)
	}
	if opts.Rate <= 0 {
		opts.Rate = hookwatch.DefaultQuarantineRate
	}
	if opts.Burst <= 0 {
		opts.Burst = hookwatch.DefaultQuarantineBurst
	}
	if opts.Queue <= 0 {
		opts.Queue = 1024
	}
	if opts.Batch <= 0 {
		opts.Batch = 128
	}
	if opts.Pace <= 0 {
		opts.Pace = 50 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{
		opts:    opts,
		queue:   make(chan ingest.Rejection, opts.Queue),
		done:    make(chan struct{}),
		sources: map[string]*intake{},
		metrics: metrics{
			kept: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "hookwatch_quarantine_kept_total",
				Help: "Rejected requests written to the quarantine, by source.",
			}, []string{"source"}),
			dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "hookwatch_quarantine_dropped_total",
				Help: "Rejected requests not kept, by reason (rate_limited: over quarantine.rate; low_disk: under storage.min_free; queue_full: the writer was behind; store_error; closed).",
			}, []string{"reason"}),
			pruned: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "hookwatch_quarantine_pruned_total",
				Help: "Quarantined requests deleted by the count, byte and age bounds.",
			}),
		},
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(w.metrics.kept, w.metrics.dropped, w.metrics.pruned)
	}
	go w.run()
	return w
}

// Keep queues a rejection for the writer, without blocking: over its
// source's intake rate, while the store's volume is under its floor, or
// when the queue is full, it is dropped and counted instead. It is
// ingest.Options.Reject's shape. The rejection's headers and body are read
// later, from the writer's goroutine (ingest never modifies them).
func (w *Writer) Keep(_ context.Context, r ingest.Rejection) {
	if w.opts.Skip[r.Source] {
		return
	}
	if w.opts.Room != nil && w.opts.Room.LowDisk() {
		w.notKept(r.Source, DropLowDisk, 1)
		return
	}
	if !w.admit(r.Source) {
		w.notKept(r.Source, DropRateLimited, 1)
		return
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.metrics.dropped.WithLabelValues(DropClosed).Inc()
		return
	}
	select {
	case w.queue <- r:
	default:
		w.notKept(r.Source, DropQueueFull, 1)
	}
}

// admit takes one token from source's bucket, refilled at Rate per second
// of the writer's clock up to Burst.
func (w *Writer) admit(source string) bool {
	now := w.opts.Now()
	w.smu.Lock()
	defer w.smu.Unlock()
	in := w.intake(source)
	if !in.started {
		in.tokens, in.filled, in.started = float64(w.opts.Burst), now, true
	} else if d := now.Sub(in.filled); d > 0 {
		in.tokens = min(float64(w.opts.Burst), in.tokens+d.Seconds()*w.opts.Rate)
		in.filled = now
	}
	if in.tokens < 1 {
		return false
	}
	in.tokens--
	return true
}

// intake returns source's state; w.smu is held.
func (w *Writer) intake(source string) *intake {
	in, ok := w.sources[source]
	if !ok {
		if len(w.sources) >= maxSources {
			source = ""
			if in, ok = w.sources[source]; ok {
				return in
			}
		}
		in = &intake{unkept: map[string]int{}}
		w.sources[source] = in
	}
	return in
}

// notKept counts n rejections of source not kept for reason, and logs a
// line for the source at most once per logEvery, with what was not kept
// since the last one: a flood is visible in the logs without filling them.
func (w *Writer) notKept(source, reason string, n int) {
	w.metrics.dropped.WithLabelValues(reason).Add(float64(n))
	now := w.opts.Now()
	w.smu.Lock()
	in := w.intake(source)
	in.unkept[reason] += n
	if !in.logged.IsZero() && now.Sub(in.logged) < logEvery {
		w.smu.Unlock()
		return
	}
	in.logged = now
	attrs := []slog.Attr{slog.String("source", source)}
	for _, r := range []string{DropRateLimited, DropLowDisk, DropQueueFull, DropStoreError} {
		if c := in.unkept[r]; c > 0 {
			attrs = append(attrs, slog.Int(r, c))
		}
	}
	clear(in.unkept)
	w.smu.Unlock()
	w.opts.Logger.LogAttrs(context.Background(), slog.LevelWarn,
		"quarantine: rejected requests not kept (at most one line per source per minute; see hookwatch_quarantine_dropped_total)", attrs...)
}

// Close stops accepting rejections, writes those already queued, and
// returns when the writer is done.
func (w *Writer) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.done
}

// PruneEvery is the interval of the periodic Prune (the maintenance
// runner's job PruneSlug).
const PruneEvery = time.Minute

// PruneSlug is the periodic prune's cron monitor slug.
const PruneSlug = "hookwatch-quarantine-retention"

// Prune applies the bounds at now and returns how many it deleted. The
// maintenance runner calls it every PruneEvery; it is safe beside the
// writer's own prunes.
func (w *Writer) Prune(ctx context.Context, now time.Time) (int, error) {
	n, err := w.opts.Store.PruneQuarantine(ctx, hookwatch.QuarantineBounds{
		Before: now.Add(-w.opts.MaxAge), MaxCount: w.opts.MaxCount, MaxBytes: w.opts.MaxBytes})
	w.metrics.pruned.Add(float64(n))
	if err != nil {
		return n, fmt.Errorf("quarantine: prune: %w", err)
	}
	if n > 0 {
		w.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "quarantine: pruned to its bounds", slog.Int("deleted", n),
			slog.Int("max_count", w.opts.MaxCount), slog.Int64("max_bytes", w.opts.MaxBytes), slog.Duration("max_age", w.opts.MaxAge))
	}
	return n, nil
}

func (w *Writer) run() {
	defer close(w.done)
	qs := make([]*hookwatch.Quarantined, 0, w.opts.Batch)
	written, pruneAfter := 0, max(w.opts.MaxCount/10, 1)
	var wrote, pruneBytes int64 = 0, max(w.opts.MaxBytes/10, 1)
	for {
		select {
		case r, ok := <-w.queue:
			if !ok {
				return
			}
			q := w.record(r)
			qs = append(qs[:0], q)
			size := q.StoredSize()
			// A batch holds at most a tenth of the byte budget (plus one
			// request), so the prune below keeps the overshoot to that.
			if len(qs) < w.opts.Batch && wrote+size < pruneBytes {
				batch.Drain(w.queue, func(r ingest.Rejection) bool {
					q := w.record(r)
					qs, size = append(qs, q), size+q.StoredSize()
					return len(qs) < w.opts.Batch && wrote+size < pruneBytes
				})
			}
			start := time.Now()
			n := w.write(qs, size)
			written += n
			if n > 0 {
				wrote += size
			}
			if written >= pruneAfter || wrote >= pruneBytes {
				w.prune()
				written, wrote = 0, 0
			}
			time.Sleep(w.opts.Pace - time.Since(start))
		}
	}
}

// record turns a rejection into what is stored: credentials redacted, the
// body cut to MaxBody.
func (w *Writer) record(r ingest.Rejection) *hookwatch.Quarantined {
	q := &hookwatch.Quarantined{
		ID:         hookwatch.NewID("qrn", r.ReceivedAt),
		Source:     r.Source,
		Provider:   r.Provider,
		Reason:     string(r.Reason),
		Method:     r.Method,
		URL:        r.URL,
		Headers:    hookwatch.RedactHeaders(r.Headers, false),
		Body:       r.Body,
		ReceivedAt: r.ReceivedAt,
		Subject:    r.SubjectPath.Extract(r.Body),
	}
	if r.Err != nil {
		// The detail starts with the reason word; keep only the explanation.
		q.Detail = strings.TrimPrefix(r.Err.Error(), q.Reason+": ")
	}
	if len(q.Body) > w.opts.MaxBody {
		q.Body, q.Truncated = q.Body[:w.opts.MaxBody], true
	}
	return q
}

// write stores a batch of size bytes and returns how many were written.
func (w *Writer) write(batch []*hookwatch.Quarantined, size int64) int {
	if w.opts.Room != nil && !w.opts.Room.Room(size) {
		for _, q := range batch {
			w.notKept(q.Source, DropLowDisk, 1)
		}
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.opts.Store.AddQuarantined(ctx, batch); err != nil {
		w.metrics.dropped.WithLabelValues(DropStoreError).Add(float64(len(batch)))
		w.opts.Logger.LogAttrs(ctx, slog.LevelError, "quarantine: rejected requests not kept",
			slog.Int("count", len(batch)), slog.Any("error", err))
		return 0
	}
	for _, q := range batch {
		w.metrics.kept.WithLabelValues(q.Source).Inc()
	}
	return len(batch)
}

// prune applies the bounds after a tenth of one was written.
func (w *Writer) prune() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := w.Prune(ctx, w.opts.Now()); err != nil {
		w.opts.Logger.LogAttrs(ctx, slog.LevelError, "quarantine: prune failed", slog.Any("error", err))
	}
}
