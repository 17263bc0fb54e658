// Package quarantine keeps the requests that failed verification, bounded
// in count and age, and releases them as events once the config is fixed:
// each kept request is verified again with the current secrets as if it
// arrived when it did, and stored like a live event (routing, dedupe).
//
// The Writer is the receive path's side: ingest hands it every rejection
// (Keep), which it queues on a bounded channel and writes in batches from
// one goroutine, so a flood of forged requests neither slows the receive
// path nor grows the store without bound: when the queue is full the
// rejection is dropped and counted, and the store is pruned periodically.
// The Releaser is the operator's side (CLI and admin API).
package quarantine

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/monitor"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Writer. Zero values take the defaults.
type Options struct {
	Store hookwatch.QuarantineStore
	// MaxCount and MaxAge bound what is kept; MaxBody caps each body.
	MaxCount int
	MaxAge   time.Duration
	MaxBody  int
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
	Pace time.Duration
	// PruneEvery is how often the bounds are applied (default 1m). The
	// writer also prunes after every MaxCount/10 requests written, so a
	// flood cannot grow the store far beyond MaxCount between two ticks.
	PruneEvery time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
	// Context carries values to the periodic prune, such as the monitor
	// whose cron check-ins report it (monitor.NewContext); it does not
	// cancel anything. Background if nil.
	Context context.Context
	// Registerer, if set, registers the writer's metrics.
	Registerer prometheus.Registerer
}

// Writer keeps rejected requests in the store from a background goroutine.
type Writer struct {
	opts    Options
	queue   chan ingest.Rejection
	mu      sync.RWMutex // guards closed against sends on a closed queue
	closed  bool
	done    chan struct{}
	metrics metrics
}

type metrics struct {
	kept    *prometheus.CounterVec
	dropped *prometheus.CounterVec
	pruned  prometheus.Counter
}

// Reasons a rejection is dropped, the label of
// hookwatch_quarantine_dropped_total.
const (
	DropQueueFull  = "queue_full"  // the writer is behind: a flood, or a slow store
	DropStoreError = "store_error" // the store write failed
	DropClosed     = "closed"      // shutting down
)

// NewWriter starts a writer; Close stops it.
func NewWriter(opts Options) *Writer {
	if opts.MaxCount <= 0 {
		opts.MaxCount = hookwatch.DefaultQuarantineMaxCount
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = hookwatch.DefaultQuarantineMaxAge
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = hookwatch.DefaultQuarantineMaxBody
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
	if opts.PruneEvery <= 0 {
		opts.PruneEvery = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{
		opts:  opts,
		queue: make(chan ingest.Rejection, opts.Queue),
		done:  make(chan struct{}),
		metrics: metrics{
			kept: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "hookwatch_quarantine_kept_total",
				Help: "Rejected requests written to the quarantine, by source.",
			}, []string{"source"}),
			dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "hookwatch_quarantine_dropped_total",
				Help: "Rejected requests not kept, by reason (queue_full: the writer was behind; store_error; closed).",
			}, []string{"reason"}),
			pruned: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "hookwatch_quarantine_pruned_total",
				Help: "Quarantined requests deleted by the count and age bounds.",
			}),
		},
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(w.metrics.kept, w.metrics.dropped, w.metrics.pruned)
	}
	go w.run()
	return w
}

// Keep queues a rejection for the writer, without blocking: when the queue
// is full it is dropped and counted. It is ingest.Options.Reject's shape.
// The rejection's headers and body are read later, from the writer's
// goroutine (ingest never modifies them).
func (w *Writer) Keep(_ context.Context, r ingest.Rejection) {
	if w.opts.Skip[r.Source] {
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
		w.metrics.dropped.WithLabelValues(DropQueueFull).Inc()
	}
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

// Prune applies the bounds now and returns how many it deleted.
func (w *Writer) Prune(ctx context.Context) (int, error) {
	n, err := w.opts.Store.PruneQuarantine(ctx, w.opts.Now().Add(-w.opts.MaxAge), w.opts.MaxCount)
	w.metrics.pruned.Add(float64(n))
	return n, err
}

func (w *Writer) run() {
	defer close(w.done)
	tick := time.NewTicker(w.opts.PruneEvery)
	defer tick.Stop()
	w.prune()
	batch := make([]*hookwatch.Quarantined, 0, w.opts.Batch)
	written, pruneAfter := 0, max(w.opts.MaxCount/10, 1)
	for {
		select {
		case r, ok := <-w.queue:
			if !ok {
				return
			}
			batch = append(batch[:0], w.record(r))
		fill:
			for len(batch) < w.opts.Batch {
				select {
				case r, ok := <-w.queue:
					if !ok {
						break fill
					}
					batch = append(batch, w.record(r))
				default:
					break fill
				}
			}
			start := time.Now()
			written += w.write(batch)
			if written >= pruneAfter {
				w.prune()
				written = 0
			}
			time.Sleep(w.opts.Pace - time.Since(start))
		case <-tick.C:
			w.prune()
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

// write stores a batch and returns how many were written.
func (w *Writer) write(batch []*hookwatch.Quarantined) int {
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

func (w *Writer) prune() {
	base := w.opts.Context
	if base == nil {
		base = context.Background()
	}
	_ = monitor.CheckIn(base, "hookwatch-quarantine-retention", monitor.Every(w.opts.PruneEvery), func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		n, err := w.Prune(ctx)
		if err != nil {
			w.opts.Logger.LogAttrs(ctx, slog.LevelError, "quarantine: prune failed", slog.Any("error", err))
			return err
		}
		if n > 0 {
			w.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "quarantine: pruned to its bounds", slog.Int("deleted", n),
				slog.Int("max_count", w.opts.MaxCount), slog.Duration("max_age", w.opts.MaxAge))
		}
		return nil
	})
}
