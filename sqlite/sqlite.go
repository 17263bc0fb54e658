// Package sqlite is Hookwatch's embedded store: one SQLite file in WAL mode,
// written by a single connection with synchronous=FULL (so a commit is on
// disk when it returns; event batches instead share an fsync of the WAL,
// sync.go) and read through a small pool. A failed fsync takes the store
// down until it has reopened the file from disk (gate.go, reopen.go).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

// Store is the SQLite implementation of hookwatch.Store.
type Store struct {
	path      string
	writerDSN string
	w         *sql.DB // the single writer connection
	r         *sql.DB // readers
	c         *sql.DB // the checkpointer
	wal       *walSyncer
	stmts     stmtCache // the group commit's statements, on w
	fan       fanout    // deliveries owed by stored events (fanout.go)
	// guard is a read-only connection held open so that no other
	// connection's close checkpoints (see reopen.go).
	guard *sql.DB

	// down is nil while the store accepts commits, and the error every call
	// returns while it reopens after an fsync failure (gate.go).
	down  atomic.Pointer[hookwatch.Error]
	conns atomic.Int64 // pooled connections open or opening
	log   atomic.Pointer[slog.Logger]

	mu        sync.Mutex // guards closing, and starting reopen
	closing   bool
	reopening sync.WaitGroup
	retryMin  time.Duration // reopen backoff
	retryMax  time.Duration

	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	now       func() time.Time
	// cipher seals events' and quarantined requests' payloads (nil:
	// plaintext); see encrypt.go.
	cipher *encrypt.Cipher
	// subjectKey caches the installation key for sealing subjects
	// (storedSubjectKey); cleared when a key is imported.
	subjectKey atomic.Pointer[[]byte]
	// noKeyCheck skips checkKeys at Open (WithoutKeyCheck: store copy).
	noKeyCheck bool
}

// Connections kept idle in each pool while the store is up.
const (
	writerIdle       = 1
	readerIdle       = 4
	checkpointerIdle = 1
)

var _ hookwatch.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path, applies pending
// migrations and returns the store. The directory is created too.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	return open(ctx, path, checkpointEvery, opts...)
}

// open is Open with the checkpoint interval (tests that must control what
// the WAL holds checkpoint only at Close).
func open(ctx context.Context, path string, checkpointEvery time.Duration, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "sqlite: empty database path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: create directory: %w", err)
		}
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	// The writer never checkpoints: checkpointing copies the WAL into the
	// database file and fsyncs it, and on the commit path that stalled every
	// request of the batch. The checkpointer connection does it instead.
	//
	// auto_vacuum comes first: on a new file it must be set before the
	// journal mode and the first table (retention gives the space back
	// with incremental_vacuum); on a file that has tables it only records
	// the mode for a later VACUUM (`hookwatch store vacuum`).
	// secure_delete=FAST has the writer zero what it frees inside a page
	// (a deleted cell, the old content of a page that splits) as long as
	// that costs no extra I/O, so that no stale copy of a row lingers in a
	// page's free space: an erasure (purge.go) then only has to zero the
	// pages it frees, which it does with secure_delete=ON.
	wq := url.Values{"_txlock": {"immediate"}, "_pragma": append(append([]string{"auto_vacuum(INCREMENTAL)"}, q["_pragma"]...), "wal_autocheckpoint(0)", "secure_delete(FAST)")}
	s := &Store{path: path, writerDSN: "file:" + path + "?" + wq.Encode(), now: time.Now,
		retryMin: reopenRetryMin, retryMax: reopenRetryMax, stop: make(chan struct{}), stopped: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	s.wal = newWALSyncer(path, &s.down, s.fail)
	// Every pooled connection opens through the gate (gate.go).
	pool := func(dsn string) (*sql.DB, error) {
		base, err := sqlite3.NewConnector(dsn)
		if err != nil {
			return nil, fmt.Errorf("sqlite: open: %w", err)
		}
		return sql.OpenDB(&gateConnector{base: base, s: s}), nil
	}
	var err error
	if s.w, err = pool(s.writerDSN); err != nil {
		return nil, err
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(writerIdle)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if s.r, err = pool("file:" + path + "?" + q.Encode() + "&_pragma=query_only(1)"); err != nil {
		s.w.Close()
		return nil, err
	}
	s.r.SetMaxOpenConns(4)
	s.r.SetMaxIdleConns(readerIdle)
	if s.c, err = pool("file:" + path + "?" + q.Encode()); err != nil {
		s.w.Close()
		s.r.Close()
		return nil, err
	}
	s.c.SetMaxOpenConns(1)
	s.c.SetMaxIdleConns(checkpointerIdle)
	// The first connection creates the file in WAL mode; the guard can then
	// open it read-only.
	err = s.w.PingContext(ctx)
	if err != nil {
		err = fmt.Errorf("sqlite: open: %w", err)
	} else if err = s.openGuard(ctx); err == nil {
		if err = s.migrate(ctx); err == nil {
			if err = s.checkKeys(ctx); err == nil {
				if err = s.stmts.prepare(ctx, s.w, insertStatements()...); err != nil {
					err = fmt.Errorf("sqlite: prepare: %w", err)
				}
			}
		}
	}
	if err == nil {
		// A migration may have changed it on the writer connection (0008
		// turns it on and off).
		if _, err = s.w.ExecContext(ctx, "PRAGMA secure_delete=FAST"); err != nil {
			err = fmt.Errorf("sqlite: open: %w", err)
		}
	}
	if err != nil {
		close(s.stopped)
		s.Close()
		return nil, err
	}
	if _, err := s.makeInstallationKey(ctx); err != nil {
		close(s.stopped)
		s.Close()
		return nil, err
	}
	// Recovery: the deliveries of events stored before a crash (or by
	// another process) and not fanned out yet.
	if err := s.fanOutAll(ctx); err != nil {
		close(s.stopped)
		s.Close()
		return nil, err
	}
	go s.checkpoint(checkpointEvery)
	return s, nil
}

// checkpointEvery is how often the checkpointer copies the WAL into the
// database file. Between checkpoints the WAL grows by what was written.
const checkpointEvery = 250 * time.Millisecond

// restartFrames is the WAL size (in frames, 4 KiB pages) beyond which a
// checkpoint completes on the writer connection so that the WAL restarts.
const restartFrames = 4096

// checkpoint runs PASSIVE checkpoints (they never block the writer or the
// readers) until Close, then a last one that truncates the WAL.
func (s *Store) checkpoint(every time.Duration) {
	defer close(s.stopped)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			if s.Recovering() == nil {
				s.c.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
			}
			return
		case <-t.C:
			// While the store is down the gate refuses this anyway: a
			// checkpoint then would copy frames that may never have
			// reached the disk into the database file (reopen.go).
			if s.Recovering() != nil {
				continue
			}
			var busy, log, done int
			if err := s.c.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err != nil {
				// Nothing is lost: the frames stay in the WAL (which
				// readers and recovery use) until a checkpoint succeeds.
				// A failed fsync (of the WAL or the database file) has
				// taken the store down in the gate.
				continue
			}
			// Under sustained commits a PASSIVE checkpoint never catches
			// up with the writer, so SQLite never restarts the WAL from
			// its start and the file grows for as long as the load lasts
			// (15 MB/s in the ingest bench). Once it holds more than
			// restartFrames, the checkpoint's tail runs on the writer
			// connection, between two group commits: it then copies all
			// that is left (the frames of the last 250 ms), and the next
			// commit rewrites the WAL from its start over blocks already
			// allocated (docs/PERFORMANCE.md, step 8).
			if log > restartFrames {
				s.w.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			}
		}
	}
}

// Close stops the checkpointer and any reopen in progress, and closes the
// connections.
func (s *Store) Close() error {
	// What this process stored leaves with its deliveries, so the file is
	// settled for the next reader (the next Open would do it otherwise).
	_ = s.settle(context.Background())
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.stopped
	s.reopening.Wait()
	s.wal.close()
	s.stmts.close()
	if s.Recovering() != nil {
		return s.closeDown()
	}
	// Up: the guard closes first, so that the last connection to close
	// checkpoints and removes the WAL, as SQLite does.
	gerr := s.closeGuard()
	return errors.Join(s.w.Close(), s.r.Close(), s.c.Close(), gerr)
}

// Ping checks that the writer connection answers. While the store reopens
// after an fsync failure it returns that error (see Recovering) at once.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.Recovering(); err != nil {
		return err
	}
	if err := s.w.PingContext(ctx); err != nil {
		return &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store unreachable", Err: fmt.Errorf("sqlite: ping: %w", err)}
	}
	var n int
	if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		return &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store unreachable", Err: fmt.Errorf("sqlite: ping: %w", err)}
	}
	return nil
}

// micros converts a time to the stored form: microseconds since the epoch.
// The zero time is stored as 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros.
func fromMicros(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

// writeError classifies a failed write: conditions that may pass on retry
// (full disk, busy, I/O) are EUNAVAILABLE, so ingest answers 503.
//
// An error from the gate (the store is reopening after an fsync failure)
// keeps its code and message.
func writeError(op string, err error) error {
	if he := (*hookwatch.Error)(nil); errors.As(err, &he) && he.Code == hookwatch.EUNAVAILABLE {
		return &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: he.Message, Err: fmt.Errorf("sqlite: %s: %w", op, err)}
	}
	code := hookwatch.EINTERNAL
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3lib.SQLITE_FULL, sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED, sqlite3lib.SQLITE_IOERR, sqlite3lib.SQLITE_CANTOPEN, sqlite3lib.SQLITE_READONLY:
			code = hookwatch.EUNAVAILABLE
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sql.ErrConnDone) {
		code = hookwatch.EUNAVAILABLE
	}
	return &hookwatch.Error{Code: code, Message: "store cannot commit", Err: fmt.Errorf("sqlite: %s: %w", op, err)}
}
