// Package readiness tells whether this instance can take webhooks, and why
// not: the outcome of the receive path's latest group commit, a periodic
// write probe of the store, and the free space of the store's volume
// against a floor (storage.min_free).
//
// One Watcher per process: serve starts it, /readyz, the dashboard and the
// metrics read its cached Status, and the quarantine asks it for Room
// before writing, so that rejected requests never take the space that
// verified events need. Checks run on a ticker off the request path: a
// request never causes a probe or a statfs (an outsider could otherwise
// multiply the store's work by calling /readyz).
package readiness

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Reasons the instance is not ready, in Problem.Reason and on /readyz.
const (
	// CommitFailed: the latest group commit failed, and no probe succeeded
	// since.
	CommitFailed = "commit_failed"
	// ProbeFailed: the latest write probe failed, and no commit succeeded
	// since.
	ProbeFailed = "probe_failed"
	// LowDisk: the store's volume has less free space than the floor. The
	// instance still accepts verified events; the quarantine keeps nothing.
	LowDisk = "low_disk"
)

// Reasons lists every reason, for metrics.
var Reasons = []string{CommitFailed, ProbeFailed, LowDisk}

// Space is what statfs says of a volume.
type Space struct {
	// Free is what an unprivileged process may still write; Total is the
	// volume's size.
	Free, Total int64
}

// Commits reports the receive path's latest group commit;
// *ingest.Committer implements it.
type Commits interface {
	// LastCommit returns the latest batch's number (0: none yet) and its
	// error (nil: committed).
	LastCommit() (seq uint64, err error)
}

// Options configure a Watcher. Only Every, Timeout, Now and Logger have
// defaults; a nil check is not made.
type Options struct {
	// Probe writes a little to the store (hookwatch.Store.ProbeWrite).
	Probe func(ctx context.Context) error
	// Commits is the receive path's committer.
	Commits Commits
	// Space measures the store's volume (VolumeSpace); nil when it cannot
	// be seen, as a PostgreSQL server's disk cannot.
	Space func() (Space, error)
	// Unknown says why Space is nil, for the operator ("PostgreSQL: ...").
	Unknown string
	// Pending, if set, returns bytes already on the volume that may be
	// written to it again: SQLite's WAL, whose frames a checkpoint copies
	// into the database file (SQLiteWAL). Room counts them as spent, so a
	// sample taken between a burst of writes and its checkpoint does not
	// promise room the checkpoint will take.
	Pending func() int64
	// Floor returns the free-space floor of a volume of total bytes
	// (config.MinFree.Of).
	Floor func(total int64) int64
	// Size, if set, measures the store (hookwatch.RetentionStore.StoreSize)
	// and Oldest finds its oldest finished event (OldestFinished): what
	// retention has left, shown beside the free space. They are sampled at
	// most every SizeEvery (default 30s), with the checks.
	Size      func(ctx context.Context) (hookwatch.StoreSize, error)
	Oldest    func(ctx context.Context) (*hookwatch.FinishedEvent, error)
	SizeEvery time.Duration
	// Every is how often the checks run (default 5s).
	Every time.Duration
	// Timeout bounds one probe (default 5s): a probe that hangs (an fsync
	// on a dying disk) is a failed probe.
	Timeout time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Status is the instance's readiness as last checked.
type Status struct {
	// Ready is false when Problems is not empty.
	Ready bool `json:"ready"`
	// Problems are the reasons it is not ready, most serious first.
	Problems []Problem `json:"problems,omitempty"`
	Storage  Storage   `json:"storage"`
	// CheckedAt is when the probe and free space were last checked.
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

// Problem is one reason the instance is not ready.
type Problem struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Has reports whether the status has a problem of reason.
func (s Status) Has(reason string) bool {
	for _, p := range s.Problems {
		if p.Reason == reason {
			return true
		}
	}
	return false
}

// Storage is the store volume's free space, when it can be seen. The byte
// counts are nil when unknown: nothing is made up.
type Storage struct {
	FreeBytes    *int64 `json:"free_bytes"`
	TotalBytes   *int64 `json:"total_bytes"`
	MinFreeBytes *int64 `json:"min_free_bytes"`
	// Low is set when the free space is under the floor: the quarantine
	// keeps nothing.
	Low bool `json:"low"`
	// Unknown says why the free space is not known.
	Unknown string `json:"unknown,omitempty"`
	// Store is the store's size and its oldest finished event, when
	// measured.
	Store *StoreSpace `json:"store,omitempty"`
}

// StoreSpace is what the store takes and how far back it reaches.
type StoreSpace struct {
	hookwatch.StoreSize
	// Oldest is the oldest finished event (nil: none), and OldestAge its
	// age when measured.
	Oldest    *hookwatch.FinishedEvent `json:"oldest_finished,omitempty"`
	OldestAge time.Duration            `json:"-"`
	// OldestAgeSeconds is OldestAge in seconds, for JSON.
	OldestAgeSeconds float64 `json:"oldest_finished_age_seconds,omitempty"`
	// MeasuredAt is when it was measured.
	MeasuredAt time.Time `json:"measured_at"`
}

// Summary is one line for people: "120 MiB on disk (96 MiB used); oldest
// finished event 29d 23h old (evt_..., 1.2 KiB)".
func (s *StoreSpace) Summary() string {
	line := fmt.Sprintf("%s on disk (%s used)", FormatBytes(s.Bytes), FormatBytes(s.Used))
	if s.Oldest == nil {
		return line + "; no finished event kept"
	}
	return line + fmt.Sprintf("; oldest finished event %s old (%s, %s)", FormatAge(s.OldestAge), s.Oldest.ID, FormatBytes(s.Oldest.Size))
}

// FormatAge prints an age in days and hours, hours and minutes, or
// seconds.
func FormatAge(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd %dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh %dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	return d.Truncate(time.Second).String()
}

// Known reports whether the free space was measured.
func (s Storage) Known() bool { return s.FreeBytes != nil }

// Summary is one line for people: "12 GiB free of 50 GiB (floor 1.0 GiB)",
// "free space unknown: ...".
func (s Storage) Summary() string {
	if !s.Known() {
		return "free space unknown: " + s.Unknown
	}
	line := fmt.Sprintf("%s free of %s (floor %s)", FormatBytes(*s.FreeBytes), FormatBytes(*s.TotalBytes), FormatBytes(*s.MinFreeBytes))
	if s.Low {
		line += ": under the floor, the quarantine keeps nothing; verified events are still accepted"
	}
	return line
}

// SQLiteWAL returns an Options.Pending for the SQLite database at path:
// the size of its WAL file (0 when there is none). The WAL file keeps its
// size after a checkpoint, so this may count frames already copied: it
// errs on the side of the floor.
func SQLiteWAL(path string) func() int64 {
	return func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			return 0
		}
		return fi.Size()
	}
}

// writeFactor is how many times a write the quarantine makes may reach the
// disk before the next sample sees it: SQLite writes a page to the WAL,
// then to the database file.
const writeFactor = 2

// Watcher keeps the instance's readiness; see the package comment.
type Watcher struct {
	o     Options
	last  atomic.Pointer[check]
	spent atomic.Int64 // bytes granted by Room since the last free-space sample

	store atomic.Pointer[StoreSpace] // the latest size sample

	mu      sync.Mutex // one Check at a time
	probing chan struct{}
	stop    chan struct{}
	done    chan struct{}
	started bool
	failed  atomic.Uint64 // probes failed, for the metric
}

// check is the result of one round of checks.
type check struct {
	at time.Time
	// probeSeq is the latest commit's number when the probe started: a
	// commit after it is newer than the probe's outcome.
	probeSeq uint64
	probed   bool
	probeErr error
	// Free space, when known.
	known   bool
	space   Space
	floor   int64
	unknown string
}

// New returns a Watcher; Start runs its checks.
func New(o Options) *Watcher {
	if o.Every <= 0 {
		o.Every = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Floor == nil {
		o.Floor = func(int64) int64 { return 0 }
	}
	if o.SizeEvery <= 0 {
		o.SizeEvery = 30 * time.Second
	}
	if o.Space == nil && o.Unknown == "" {
		o.Unknown = "the store's volume cannot be seen from this process"
	}
	return &Watcher{o: o, stop: make(chan struct{}), done: make(chan struct{})}
}

// Start runs a first check now (so the first /readyz already tells the
// truth), then one every Options.Every until Close.
func (w *Watcher) Start() {
	w.Check(context.Background())
	w.started = true
	go func() {
		defer close(w.done)
		t := time.NewTicker(w.o.Every)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.Check(context.Background())
			}
		}
	}()
}

// Close stops the checks.
func (w *Watcher) Close() {
	if !w.started {
		return
	}
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// Check measures the free space and runs the probe now, and caches the
// result for Status. Start calls it on its ticker; tests and `hookwatch
// health` call it directly.
func (w *Watcher) Check(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := &check{at: w.o.Now(), unknown: w.o.Unknown}
	if w.o.Space != nil {
		// Room's grants before the measurement are in it.
		spent := w.spent.Load()
		sp, err := w.o.Space()
		if err != nil {
			c.unknown = "cannot measure the store's volume: " + err.Error()
		} else {
			c.known, c.space, c.floor = true, sp, w.o.Floor(sp.Total)
			w.spent.Add(-spent)
		}
	}
	if w.o.Commits != nil {
		c.probeSeq, _ = w.o.Commits.LastCommit()
	}
	if w.o.Probe != nil {
		c.probed, c.probeErr = true, w.probe(ctx)
		if c.probeErr != nil {
			w.failed.Add(1)
		}
	}
	prev := w.last.Swap(c)
	w.logChange(prev, c)
	w.measureStore(ctx)
}

// measureStore samples the store's size and oldest finished event, if
// SizeEvery has passed since the last sample. A failure keeps the last
// sample: the probe reports the store's trouble.
func (w *Watcher) measureStore(ctx context.Context) {
	if w.o.Size == nil {
		return
	}
	now := w.o.Now()
	if last := w.store.Load(); last != nil && now.Sub(last.MeasuredAt) < w.o.SizeEvery {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	size, err := w.o.Size(ctx)
	if err != nil {
		w.o.Logger.LogAttrs(ctx, slog.LevelWarn, "cannot measure the store's size", slog.Any("error", err))
		return
	}
	sp := &StoreSpace{StoreSize: size, MeasuredAt: now}
	if w.o.Oldest != nil {
		if sp.Oldest, err = w.o.Oldest(ctx); err != nil {
			w.o.Logger.LogAttrs(ctx, slog.LevelWarn, "cannot find the store's oldest finished event", slog.Any("error", err))
			return
		}
		if sp.Oldest != nil {
			sp.OldestAge = max(now.Sub(sp.Oldest.ReceivedAt), 0)
			sp.OldestAgeSeconds = sp.OldestAge.Seconds()
		}
	}
	w.store.Store(sp)
}

// probe runs the probe with the timeout. A probe still running from an
// earlier check (stuck in an fsync) is not doubled: it is a failure again.
func (w *Watcher) probe(ctx context.Context) error {
	if w.probing != nil {
		select {
		case <-w.probing:
		default:
			return &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store cannot write: the previous write probe has not returned"}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	done, result := make(chan struct{}), make(chan error, 1)
	w.probing = done
	go func() {
		err := w.o.Probe(ctx)
		// Closed before the result is sent: a check that follows a
		// returned probe must never find it "still running".
		close(done)
		result <- err
	}()
	select {
	case err := <-result:
		return err
	case <-time.After(w.o.Timeout):
		return &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store cannot write: the write probe timed out after " + w.o.Timeout.String()}
	}
}

// logChange logs when readiness changes, not at every check.
func (w *Watcher) logChange(prev, c *check) {
	was := w.status(prev)
	now := w.status(c)
	ctx := context.Background()
	switch {
	case was.Ready && !now.Ready || prev == nil && !now.Ready:
		for _, p := range now.Problems {
			w.o.Logger.LogAttrs(ctx, slog.LevelError, "not ready: "+p.Message, slog.String("reason", p.Reason))
		}
	case !was.Ready && now.Ready && prev != nil:
		w.o.Logger.LogAttrs(ctx, slog.LevelInfo, "ready again")
	}
}

// Status returns the readiness: the cached probe and free space, and the
// committer's latest outcome read now (an atomic load). It does no I/O.
func (w *Watcher) Status() Status {
	return w.status(w.last.Load())
}

func (w *Watcher) status(c *check) Status {
	s := Status{Ready: true}
	if c == nil {
		c = &check{unknown: w.o.Unknown}
	} else {
		s.CheckedAt = c.at
	}
	var seq uint64
	var cerr error
	if w.o.Commits != nil {
		seq, cerr = w.o.Commits.LastCommit()
	}
	// Whichever of the latest commit and the latest probe is newer says
	// whether the store can write: a probe that succeeds after a failed
	// commit clears it (the load balancer sends nothing to an unready
	// instance, so no commit would), and so does a commit after a failed
	// probe.
	if cerr != nil && (!c.probed || seq > c.probeSeq || c.probeErr != nil) {
		s.Problems = append(s.Problems, Problem{CommitFailed, "the last commit failed: " + hookwatch.ErrorMessage(cerr)})
	}
	if c.probed && c.probeErr != nil && !(cerr == nil && seq > c.probeSeq) {
		s.Problems = append(s.Problems, Problem{ProbeFailed, "the write probe failed: " + hookwatch.ErrorMessage(c.probeErr)})
	}
	s.Storage.Unknown = c.unknown
	s.Storage.Store = w.store.Load()
	if c.known {
		free, total, floor := c.space.Free, c.space.Total, c.floor
		s.Storage.FreeBytes, s.Storage.TotalBytes, s.Storage.MinFreeBytes = &free, &total, &floor
		s.Storage.Unknown = ""
		if free < floor {
			s.Storage.Low = true
			s.Problems = append(s.Problems, Problem{LowDisk, fmt.Sprintf("%s free on the store's volume, under storage.min_free (%s): the quarantine keeps nothing; verified events are still accepted",
				FormatBytes(free), FormatBytes(floor))})
		}
	}
	s.Ready = len(s.Problems) == 0
	return s
}

// Room reports whether n more bytes may be written without going under the
// floor, and counts them if so. Between two samples it assumes that every
// byte granted since the last one reached the disk twice (WAL, then
// database file), so a flood cannot write far past the floor before the
// next sample sees it, and it counts what Options.Pending reports (the
// WAL) as spent too. With the free space unknown it always grants. The
// quarantine asks it before every write.
func (w *Watcher) Room(n int64) bool {
	c := w.last.Load()
	if c == nil || !c.known {
		return true
	}
	var pending int64
	if w.o.Pending != nil {
		pending = w.o.Pending()
	}
	spent := w.spent.Add(n)
	if c.space.Free-pending-writeFactor*spent < c.floor {
		w.spent.Add(-n)
		return false
	}
	return true
}

// LowDisk reports whether the free space, less what Room granted since the
// last sample, is under the floor. It is an atomic load or two: the
// quarantine calls it on the receive path.
func (w *Watcher) LowDisk() bool {
	c := w.last.Load()
	return c != nil && c.known && c.space.Free-writeFactor*w.spent.Load() < c.floor
}

// FormatBytes prints n in binary units: "512 B", "64 KiB", "1.5 GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit || v <= -unit {
		v /= unit
		i++
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %ciB", int64(v), "KMGTPE"[i])
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i])
}
