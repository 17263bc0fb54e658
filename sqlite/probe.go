package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hookwatch/hookwatch"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

// probeSize is how much the write probe writes beside the database: about
// one small batch of events, so a volume that cannot take it fails the
// probe before it fails commits.
const probeSize = 64 << 10

// ProbeWrite proves the store can still commit; see hookwatch.Store. It
// rewrites the probe row on the writer connection, then writes, fsyncs and
// removes a small file in the database's directory: a committed row alone
// can succeed on a full disk (SQLite reuses the space of the WAL), and the
// WAL and journal files SQLite creates need the directory to be writable.
func (s *Store) ProbeWrite(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO probe (id, at) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET at = excluded.at`, micros(s.now())); err != nil {
		return probeError(writeError("probe", err))
	}
	f, err := os.CreateTemp(filepath.Dir(s.path), ".hookwatch-probe-*")
	if err != nil {
		return probeError(fmt.Errorf("sqlite: probe: %w", err))
	}
	name := f.Name()
	defer os.Remove(name)
	_, err = f.Write(make([]byte, probeSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return probeError(fmt.Errorf("sqlite: probe: %w", err))
	}
	return nil
}

// probeError makes every probe failure EUNAVAILABLE: whatever the cause,
// the store cannot take writes now.
func probeError(err error) error {
	return &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store cannot write: " + probeCause(err), Err: err}
}

// probeCause says in a few words, without paths, why a probe failed.
func probeCause(err error) string {
	var se *sqlite3.Error
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return "no space left on the database's volume"
	case errors.Is(err, syscall.EROFS):
		return "the database's volume is read-only"
	case errors.Is(err, os.ErrPermission):
		return "permission denied in the database's directory"
	case errors.As(err, &se):
		switch se.Code() & 0xff {
		case sqlite3lib.SQLITE_FULL:
			return "the database or its volume is full"
		case sqlite3lib.SQLITE_READONLY:
			return "the database is read-only"
		case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED:
			return "the database is locked"
		case sqlite3lib.SQLITE_IOERR:
			return "I/O error"
		}
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	return "write failed"
}
