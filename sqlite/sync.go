package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/hookwatch/hookwatch"
)

// walSyncer makes commits durable outside the writer connection, so that
// group commits pipeline: a batch commits with synchronous=NORMAL (its WAL
// frames written, not yet fsynced), the writer connection is free for the
// next batch at once, and the batch is acknowledged only after an fsync of
// the WAL file that covers its frames. One fsync covers every commit that
// finished before it started, so concurrent batches share fsyncs.
//
// This is what synchronous=FULL does at the end of every commit (fsync the
// WAL), moved off the connection. Recovery after a crash replays the WAL
// frames whose checksums hold, which includes every frame written before
// the fsync returned; checkpoints (database file writes) sync on their own.
//
// A failed fsync is fatal for the log. When writeback fails, Linux may drop
// the dirty pages or mark them clean though they never reached the disk, and
// it reports the error once: the next fsync of the file succeeds without
// writing them (PostgreSQL's "fsyncgate", 2018, is the same lesson; it
// PANICs since). Retrying the fsync proves nothing, and reopening the file
// descriptor proves nothing either. Frames acknowledged after such a
// "successful" fsync would sit behind a hole in the WAL on disk, and crash
// recovery stops at the first frame whose checksum fails, forgetting them.
// So the first failure takes the store down (Store.fail): commits not
// already covered by an earlier successful fsync get an error, and so does
// every commit until the store has reopened the file from disk (reopen.go),
// which bumps the epoch. A commit made in an older epoch is never
// acknowledged, even if a later fsync covers its sequence number.
type walSyncer struct {
	path string
	// fsync makes f durable: fdatasync(2) for the WAL file on Linux
	// (datasync), (*os.File).Sync, which is fsync(2), for its directory. A
	// seam for tests that make it fail.
	fsync func(*os.File) error
	// down is the store's gate (nil while it accepts commits) and fail takes
	// the store down; both belong to the Store.
	down *atomic.Pointer[hookwatch.Error]
	fail func(error)

	// epoch counts reopens. Read without the lock: InsertEvents samples it
	// before its transaction begins.
	epoch atomic.Uint64

	mu     sync.Mutex // one fsync at a time; guards f, synced
	f      *os.File
	synced uint64 // commits known durable

	seqMu sync.Mutex
	seq   uint64 // commits finished (frames written)
}

// errReopened answers a commit that began before the store reopened after an
// fsync failure: recovery decided whether its frames survived, so it is not
// acknowledged. The provider retries; if the event did survive, the retry is
// answered as a duplicate of it.
var errReopened = &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store reopened after fsync failure: commit not acknowledged", Err: ErrReopening}

func newWALSyncer(dbPath string, down *atomic.Pointer[hookwatch.Error], fail func(error)) *walSyncer {
	w := &walSyncer{path: dbPath + "-wal", down: down, fail: fail}
	w.fsync = func(f *os.File) error {
		if f.Name() == w.path {
			return datasync(f)
		}
		return f.Sync()
	}
	return w
}

// committed records that a commit finished and returns its sequence number,
// to pass to sync.
func (w *walSyncer) committed() uint64 {
	w.seqMu.Lock()
	defer w.seqMu.Unlock()
	w.seq++
	return w.seq
}

// sync returns once the commit numbered seq, whose transaction began in
// epoch, is on disk. Its errors are *hookwatch.Error with code EUNAVAILABLE.
func (w *walSyncer) sync(epoch, seq uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if epoch != w.epoch.Load() {
		return errReopened
	}
	if w.synced >= seq {
		return nil // an fsync that started after our commit covered it
	}
	if err := w.down.Load(); err != nil {
		return err
	}
	w.seqMu.Lock()
	upTo := w.seq
	w.seqMu.Unlock()
	if err := w.open(); err != nil {
		return err
	}
	if err := w.fsync(w.f); err != nil {
		w.f.Close()
		w.f = nil
		return w.broken(fmt.Errorf("sqlite: fsync wal: %w", err))
	}
	// Another connection may have seen an fsync of this file fail while ours
	// ran (the kernel reports a writeback error to each open descriptor);
	// then ours proves nothing.
	if err := w.down.Load(); err != nil {
		return err
	}
	w.synced = upTo
	return nil
}

// open (re)opens the WAL file when it is not open or was replaced (SQLite
// deletes it when the last connection closes, and recreates it).
func (w *walSyncer) open() error {
	if w.f != nil {
		a, errA := w.f.Stat()
		b, errB := os.Stat(w.path)
		if errA == nil && errB == nil && os.SameFile(a, b) {
			return nil
		}
		w.f.Close()
		w.f = nil
	}
	f, err := os.Open(w.path)
	if err != nil {
		return &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store cannot commit", Err: fmt.Errorf("sqlite: open wal for fsync: %w", err)}
	}
	// A new WAL file's directory entry must be durable too, and a failure
	// to make it so is an fsync failure like any other.
	if err := syncDir(filepath.Dir(w.path), w.fsync); err != nil {
		f.Close()
		return w.broken(err)
	}
	w.f = f
	return nil
}

// broken takes the store down because of cause and returns the error the
// commits waiting for this fsync get.
func (w *walSyncer) broken(cause error) error {
	w.fail(cause)
	if err := w.down.Load(); err != nil {
		return err
	}
	return reopening(cause)
}

// syncDir fsyncs a directory, so that the entries of files created in it
// are durable.
func syncDir(dir string, fsync func(*os.File) error) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sqlite: open directory for fsync: %w", err)
	}
	defer d.Close()
	if err := fsync(d); err != nil {
		return fmt.Errorf("sqlite: fsync directory %s: %w", dir, err)
	}
	return nil
}

// reopened starts a new epoch once the store has reopened its file: the
// syncer reopens the WAL at the next sync, and commits of the old epoch that
// are still waiting get errReopened.
func (w *walSyncer) reopened() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	w.epoch.Add(1)
}

func (w *walSyncer) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}
