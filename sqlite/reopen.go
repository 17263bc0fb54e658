package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Reopening the store after an fsync failure.
//
// After a failed fsync nothing this process knows about the WAL can be
// trusted: the page cache may hold frames that will never reach the disk
// (pages marked clean after the failed writeback), or may have dropped them
// (later reads return what is on disk). SQLite's wal-index, the shared
// memory in the -shm file, still lists every frame as valid. Three things
// would turn that into lost acknowledged events or a corrupt database:
//
//   - appending and acknowledging new frames after the possibly-lost ones
//     (crash recovery stops at the first frame that fails its checksum);
//   - a checkpoint, which copies the frames the wal-index lists into the
//     database file: possibly stale or zeroed pages, or, if the copy is
//     right but the WAL is not durable, a database file that holds newer
//     pages than the WAL prefix a crash recovery would replay over it. The
//     checkpointer runs through the gate, so it stops with everything else;
//   - closing the last connection, which checkpoints from the same
//     wal-index and deletes the WAL. The store therefore keeps a read-only
//     guard connection open for its whole life: while it holds its shared
//     lock no other connection's close can checkpoint, and a read-only
//     connection cannot checkpoint itself.
//
// So the store goes down (gate.go) and reopen, in its own goroutine:
//
//  1. drains the pools: every connection closes once its call returns
//     (each fails fast), none of them checkpointing;
//  2. closes the syncer's descriptor and the guard, so that this process has
//     no connection to the file left;
//  3. takes the exclusive lock SQLite would take (lock_unix.go), so that no
//     other process (a hookwatch command) reads or writes the file meanwhile;
//  4. rewrites the WAL from the page cache and fsyncs it (and its
//     directory): pages the failed writeback left clean but unwritten are
//     dirty again and this time reach the disk, or the fsync fails again
//     and reopen starts over later, with backoff;
//  5. releases the lock and opens a connection: the first connection to a
//     WAL file nobody has open rebuilds the wal-index from the file,
//     checking every frame's checksum and stopping at the first that fails.
//     That is SQLite's own crash recovery, and it decides what is there;
//  6. opens a new guard, and lets the pools open connections again in a new
//     epoch.
//
// Every request of the failed batch, and of any batch not covered by an
// fsync that succeeded before the failure, got an EUNAVAILABLE error (503)
// and is retried by its provider; a retry of an event that recovery kept is
// a duplicate of it. Delivery state (claims, finishes), which commits
// without an fsync of its own, may lose its last few changes in recovery,
// which only means a delivery is sent again (at least once).
//
// What this cannot do: if the kernel dropped the pages, what is lost is lost
// (those commits were never acknowledged, except a synchronous=FULL commit
// whose own fsync succeeded while another descriptor's failed, on a kernel
// that reports the error once per file rather than once per descriptor).
// If another process keeps the file open, step 3 waits for it, retrying.

// errStopping ends reopen when the store closes.
var errStopping = errors.New("sqlite: store closing")

// Backoff between reopen attempts.
const (
	reopenRetryMin = 100 * time.Millisecond
	reopenRetryMax = 30 * time.Second
)

// Recovering returns nil while the store accepts commits, and the error every
// call returns while it is down after an fsync failure: code EUNAVAILABLE,
// message "store reopening after fsync failure", ErrReopening in its chain.
// It loads one atomic pointer, so a readiness probe can call it freely; Ping
// returns the same error.
func (s *Store) Recovering() error {
	if err := s.down.Load(); err != nil {
		return err
	}
	return nil
}

// SetLogger sets where the store logs fsync failures and reopens (by default
// slog.Default()).
func (s *Store) SetLogger(l *slog.Logger) { s.log.Store(l) }

func (s *Store) logger() *slog.Logger {
	if l := s.log.Load(); l != nil {
		return l
	}
	return slog.Default()
}

// fail takes the store down after an fsync failure and starts reopening it.
// Only the first failure counts until the store is up again.
func (s *Store) fail(cause error) {
	if !s.down.CompareAndSwap(nil, reopening(cause)) {
		return
	}
	s.logger().Error("sqlite: fsync failed; refusing commits and reopening the store from disk (the kernel may have dropped what the fsync was writing, so a later fsync would prove nothing)",
		"path", s.path, "error", cause)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return // Close shuts the file the safe way (see Close).
	}
	s.reopening.Add(1)
	go s.recover()
}

// recover reopens the store, retrying with backoff until it succeeds or the
// store closes.
func (s *Store) recover() {
	defer s.reopening.Done()
	start := time.Now()
	wait := s.retryMin
	for attempt := 1; ; attempt++ {
		err := s.reopen()
		if err == nil {
			s.logger().Warn("sqlite: store reopened after fsync failure; accepting commits again",
				"path", s.path, "attempts", attempt, "took", time.Since(start).Round(time.Millisecond).String())
			return
		}
		if errors.Is(err, errStopping) {
			return
		}
		s.logger().Error("sqlite: reopening the store after fsync failure failed; commits are refused until it succeeds",
			"path", s.path, "attempt", attempt, "retry_in", wait, "error", err)
		select {
		case <-s.stop:
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, s.retryMax)
	}
}

// reopen is one attempt at the steps in the comment at the top of the file.
func (s *Store) reopen() error {
	if err := s.drain(s.stop); err != nil {
		return err
	}
	s.wal.close()
	if err := s.closeGuard(); err != nil {
		return err
	}
	unlock, err := lockExclusive(s.path)
	if err != nil {
		return err
	}
	n, err := rewriteWAL(s.path+"-wal", s.wal.fsync)
	unlock()
	if err != nil {
		return err
	}
	s.logger().Info("sqlite: rewrote and synced the WAL; reopening", "path", s.path, "bytes", n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.recoverFromDisk(ctx); err != nil {
		return err
	}
	s.w.SetMaxIdleConns(writerIdle)
	s.r.SetMaxIdleConns(readerIdle)
	s.c.SetMaxIdleConns(checkpointerIdle)
	// A new epoch first, then the gate opens: a commit that saw the old
	// epoch is never acknowledged.
	s.wal.reopened()
	s.down.Store(nil)
	return nil
}

// drain closes every pooled connection: the idle ones now, the others when
// their call returns (IsValid is false while the store is down). It returns
// errStopping if stop closes first.
func (s *Store) drain(stop <-chan struct{}) error {
	for _, db := range []*sql.DB{s.w, s.r, s.c} {
		db.SetMaxIdleConns(0)
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	since := time.Now()
	for s.conns.Load() > 0 {
		select {
		case <-stop:
			return errStopping
		case <-t.C:
		}
		if time.Since(since) > 5*time.Second {
			s.logger().Warn("sqlite: waiting for store connections in use to finish before reopening", "path", s.path, "connections", s.conns.Load())
			since = time.Now()
		}
	}
	return nil
}

// openGuard opens the read-only guard connection and reads once, which
// takes the shared lock it then holds until closed.
func (s *Store) openGuard(ctx context.Context) error {
	g, err := sql.Open("sqlite", "file:"+s.path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("sqlite: open guard connection: %w", err)
	}
	g.SetMaxOpenConns(1)
	g.SetMaxIdleConns(1)
	g.SetConnMaxLifetime(0)
	g.SetConnMaxIdleTime(0)
	var n int
	if err := g.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		g.Close()
		return fmt.Errorf("sqlite: open guard connection: %w", err)
	}
	s.guard = g
	return nil
}

func (s *Store) closeGuard() error {
	if s.guard == nil {
		return nil
	}
	err := s.guard.Close()
	s.guard = nil
	if err != nil {
		return fmt.Errorf("sqlite: close guard connection: %w", err)
	}
	return nil
}

// recoverFromDisk opens the file as the first connection after reopen's
// rewrite, which has SQLite rebuild the wal-index from the WAL file, reads
// through it, and opens the new guard.
func (s *Store) recoverFromDisk(ctx context.Context) error {
	db, err := sql.Open("sqlite", s.writerDSN)
	if err != nil {
		return fmt.Errorf("sqlite: reopen: %w", err)
	}
	// Closed after the new guard opened: it cannot checkpoint either.
	defer db.Close()
	db.SetMaxOpenConns(1)
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		return fmt.Errorf("sqlite: read the store after reopening: %w", err)
	}
	return s.openGuard(ctx)
}

// rewriteWAL writes every byte of the WAL file back where it is, from the
// page cache, and fsyncs the file and its directory, returning the size.
// Writing the same bytes dirties the pages again, so the fsync writes the
// pages a failed writeback left clean; it cannot restore pages the kernel
// dropped (reads return what is on disk, and recovery then stops there).
// No WAL file means nothing to recover.
func rewriteWAL(path string, fsync func(*os.File) error) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("sqlite: open wal to rewrite it: %w", err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var off int64
	for {
		n, rerr := f.ReadAt(buf, off)
		if n > 0 {
			if _, err := f.WriteAt(buf[:n], off); err != nil {
				return off, fmt.Errorf("sqlite: rewrite wal: %w", err)
			}
			off += int64(n)
		}
		if rerr == io.EOF {
			break
		} else if rerr != nil {
			return off, fmt.Errorf("sqlite: read wal to rewrite it: %w", rerr)
		}
	}
	if err := fsync(f); err != nil {
		return off, fmt.Errorf("sqlite: fsync rewritten wal: %w", err)
	}
	if err := syncDir(filepath.Dir(path), fsync); err != nil {
		return off, err
	}
	return off, nil
}

// closeDown closes a store that is down (Close after an fsync failure): the
// pools first, waiting a bounded time for connections in use, then the
// guard, so that no close checkpoints from the untrusted wal-index.
// SQLite's recovery at the next open decides what is there, as after a
// crash.
func (s *Store) closeDown() error {
	err := errors.Join(s.w.Close(), s.r.Close(), s.c.Close())
	timeout := make(chan struct{})
	t := time.AfterFunc(10*time.Second, func() { close(timeout) })
	defer t.Stop()
	if derr := s.drain(timeout); derr != nil {
		s.logger().Error("sqlite: closing with store connections still in use after an fsync failure", "path", s.path, "connections", s.conns.Load())
	}
	return errors.Join(err, s.closeGuard())
}
