package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
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
type walSyncer struct {
	path string

	mu     sync.Mutex // one fsync at a time; guards f, synced
	f      *os.File
	synced uint64 // commits known durable

	seqMu sync.Mutex
	seq   uint64 // commits finished (frames written)
}

func newWALSyncer(dbPath string) *walSyncer {
	return &walSyncer{path: dbPath + "-wal"}
}

// committed records that a commit finished and returns its sequence number,
// to pass to sync.
func (w *walSyncer) committed() uint64 {
	w.seqMu.Lock()
	defer w.seqMu.Unlock()
	w.seq++
	return w.seq
}

// sync returns once the commit numbered seq is on disk.
func (w *walSyncer) sync(seq uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.synced >= seq {
		return nil // an fsync that started after our commit covered it
	}
	w.seqMu.Lock()
	upTo := w.seq
	w.seqMu.Unlock()
	if err := w.open(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		w.f = nil
		return fmt.Errorf("sqlite: fsync wal: %w", err)
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
		return fmt.Errorf("sqlite: open wal for fsync: %w", err)
	}
	// A new WAL file's directory entry must be durable too.
	if d, err := os.Open(filepath.Dir(w.path)); err == nil {
		d.Sync()
		d.Close()
	}
	w.f = f
	return nil
}

func (w *walSyncer) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}
