package alert

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/batch"
	"github.com/hookwatch/hookwatch/ingest"
)

// Recorder groups failures into issues: it is a hookwatch.DeliveryObserver
// for the delivery engine, and its Reject method is an ingest Reject hook.
// Failures are queued and written in batches by one goroutine, so the
// engine and the receive path never wait on the store; when the queue is
// full (the store is down for long) failures are dropped and counted.
type Recorder struct {
	hookwatch.NopDeliveryObserver
	store   hookwatch.IssueStore
	logger  *slog.Logger
	ch      chan hookwatch.Failure
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	dropped int
	// queued and written count failures accepted by Record and written
	// (or given up on) by the writer; flushed signals a write, for Flush.
	queued, written int
	flushed         *sync.Cond
	// OnChange, if set, hears every issue change (new, regressed).
	OnChange func(hookwatch.IssueChange)
}

// NewRecorder starts a recorder writing to store.
func NewRecorder(store hookwatch.IssueStore, logger *slog.Logger) *Recorder {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{store: store, logger: logger, ch: make(chan hookwatch.Failure, 4096), done: make(chan struct{})}
	r.flushed = sync.NewCond(&r.mu)
	go r.run()
	return r
}

func (r *Recorder) run() {
	defer close(r.done)
	var fs []hookwatch.Failure
	for {
		var ok bool
		if fs, ok = batch.Next(r.ch, fs, 256); !ok {
			return
		}
		r.write(fs)
		r.mu.Lock()
		r.written += len(fs)
		r.mu.Unlock()
		r.flushed.Broadcast()
	}
}

func (r *Recorder) write(batch []hookwatch.Failure) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	changes, err := r.store.RecordFailures(ctx, batch)
	if err != nil {
		r.logger.Error("alert: recording failures into issues failed", "failures", len(batch), "error", err)
		return
	}
	for _, c := range changes {
		if c.New || c.Regressed {
			r.logger.Warn("alert: issue "+map[bool]string{true: "regressed", false: "opened"}[c.Regressed],
				"issue", c.Issue.ID, "source", c.Issue.Source, "destination", c.Issue.Destination, "class", c.Issue.Class, "test", c.Issue.Test)
		}
		if r.OnChange != nil {
			r.OnChange(c)
		}
	}
}

// Record queues a failure; it never blocks.
func (r *Recorder) Record(f hookwatch.Failure) {
	select {
	case r.ch <- f:
		r.mu.Lock()
		r.queued++
		r.mu.Unlock()
	default:
		r.mu.Lock()
		r.dropped++
		r.mu.Unlock()
	}
}

// Flush waits until every failure recorded before the call has been
// written to the store (or its write has failed and been logged), or ctx
// ends. The alert evaluator calls it before measuring, so an alert that
// fires on failures links the issue they opened.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	target := r.queued
	r.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.flushed.Broadcast()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.written < target {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.flushed.Wait()
	}
	return nil
}

// Dropped is the number of failures dropped because the queue was full.
func (r *Recorder) Dropped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Close writes what is queued and stops.
func (r *Recorder) Close() {
	r.once.Do(func() { close(r.ch) })
	<-r.done
}

func failureOf(kind hookwatch.FailureKind, d *hookwatch.Delivery, a *hookwatch.Attempt) hookwatch.Failure {
	f := hookwatch.Failure{Kind: kind, Destination: d.Destination, Class: string(a.Class), EventID: d.EventID,
		DeliveryID: d.ID, At: a.At, Message: a.Error}
	if d.Event != nil {
		f.Source, f.Test = d.Event.Source, d.Event.Test
	}
	if f.Message == "" && a.StatusCode != 0 {
		f.Message = "HTTP " + itoa(a.StatusCode)
	}
	return f
}

// AttemptFinished records a failed attempt that will be retried (the last
// one of a dead letter is recorded by DeadLettered).
func (r *Recorder) AttemptFinished(_ context.Context, d *hookwatch.Delivery, a *hookwatch.Attempt, o hookwatch.Outcome) {
	if a.Class == hookwatch.ClassNone || o != hookwatch.OutcomeRetry {
		return
	}
	r.Record(failureOf(hookwatch.FailureAttempt, d, a))
}

// DeadLettered records a dead letter.
func (r *Recorder) DeadLettered(_ context.Context, d *hookwatch.Delivery, a *hookwatch.Attempt) {
	r.Record(failureOf(hookwatch.FailureDeadLetter, d, a))
}

// Reject records a request that failed verification on a source.
func (r *Recorder) Reject(_ context.Context, rej ingest.Rejection) {
	msg := string(rej.Reason)
	if rej.Err != nil {
		msg = rej.Err.Error()
	}
	r.Record(hookwatch.Failure{Kind: hookwatch.FailureSignature, Source: rej.Source, Class: string(rej.Reason),
		At: rej.ReceivedAt, Message: msg})
}
