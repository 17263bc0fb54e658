package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/hookwatch/hookwatch"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

// The gate: every connection of the writer, reader and checkpointer pools is
// opened through gateConnector, so that one atomic flag (Store.down) stops
// all of them at once when an fsync fails, without a check at each call
// site. While the store is down:
//
//   - no connection opens, and every call on an open one returns the
//     EUNAVAILABLE "store reopening after fsync failure" error at once (no
//     hang: ingest answers 503 and the provider retries);
//   - a transaction is rolled back instead of committed, and one whose
//     commit ran while the store went down reports that error too: its
//     frames follow the ones the failed fsync may have lost, so it is not
//     known to be durable;
//   - connections are not returned to the pool (IsValid is false), so the
//     pools drain and reopen.go can close the file.
//
// The gate also sees SQLite's own fsync failures: a synchronous=FULL commit,
// or a checkpoint syncing the WAL or the database file, fails with
// SQLITE_IOERR_FSYNC, and that is as fatal for the log as a failure of the
// WAL syncer's own fsync (sync.go).

// ErrReopening is in the chain of the error every store call returns while
// the store reopens its file after an fsync failure:
// errors.Is(err, sqlite.ErrReopening). The error's code is EUNAVAILABLE and
// its message "store reopening after fsync failure".
var ErrReopening = errors.New("sqlite: store reopening after fsync failure")

// reopenError carries the fsync failure that took the store down.
type reopenError struct{ cause error }

func (e *reopenError) Error() string {
	return "sqlite: fsync failed, reopening the store: " + e.cause.Error()
}
func (e *reopenError) Unwrap() error        { return e.cause }
func (e *reopenError) Is(target error) bool { return target == ErrReopening }

// reopening is the error returned while the store is down because of cause.
func reopening(cause error) *hookwatch.Error {
	return &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store reopening after fsync failure", Err: &reopenError{cause}}
}

// isFsyncError reports an SQLite error from a failed fsync of the WAL, the
// database file or their directory.
func isFsyncError(err error) bool {
	var se *sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code()
	return c == sqlite3lib.SQLITE_IOERR_FSYNC || c == sqlite3lib.SQLITE_IOERR_DIR_FSYNC
}

// gateConnector opens the pools' connections through the gate.
type gateConnector struct {
	base driver.Connector
	s    *Store
}

func (c *gateConnector) Connect(ctx context.Context) (driver.Conn, error) {
	// Counted before the check, so that reopen, once it sees the store down
	// and no connection counted, knows none is still being opened.
	c.s.conns.Add(1)
	if err := c.s.Recovering(); err != nil {
		c.s.conns.Add(-1)
		return nil, err
	}
	conn, err := c.base.Connect(ctx)
	if err != nil {
		c.s.conns.Add(-1)
		return nil, err
	}
	return &gateConn{conn: conn, s: c.s, epoch: c.s.wal.epoch.Load()}, nil
}

func (c *gateConnector) Driver() driver.Driver { return c.base.Driver() }

// gateConn is one pooled connection. It implements the interfaces of the
// modernc.org/sqlite connection that database/sql uses (that connection has
// no NamedValueChecker, so argument conversion is database/sql's default
// either way).
type gateConn struct {
	conn   driver.Conn
	s      *Store
	epoch  uint64 // the store's epoch when the connection opened
	closed bool
	stmts  map[string]*prepared // see prepared.go
}

var (
	_ driver.ConnBeginTx        = (*gateConn)(nil)
	_ driver.ConnPrepareContext = (*gateConn)(nil)
	_ driver.ExecerContext      = (*gateConn)(nil)
	_ driver.QueryerContext     = (*gateConn)(nil)
	_ driver.Pinger             = (*gateConn)(nil)
	_ driver.SessionResetter    = (*gateConn)(nil)
	_ driver.Validator          = (*gateConn)(nil)
	_ driver.Connector          = (*gateConnector)(nil)
)

// check returns the gate's error when the store is down or reopened since
// the connection opened.
func (c *gateConn) check() error {
	if err := c.s.Recovering(); err != nil {
		return err
	}
	if c.epoch != c.s.wal.epoch.Load() {
		return errReopened
	}
	return nil
}

// observe takes the store down when err, from running sql, is an fsync
// failure.
func (c *gateConn) observe(sql string, err error) {
	if err != nil && isFsyncError(err) {
		if len(sql) > 60 {
			sql = sql[:60] + "..."
		}
		c.s.fail(fmt.Errorf("sqlite: %q: %w", sql, err))
	}
}

func (c *gateConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *gateConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if p, ok := c.conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.conn.Prepare(query)
}

func (c *gateConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *gateConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	tx, err := c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	c.observe("BEGIN", err)
	if err != nil {
		return nil, err
	}
	return &gateTx{tx: tx, c: c}, nil
}

func (c *gateConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var res driver.Result
	p, err := c.preparedStmt(ctx, query)
	switch {
	case err != nil:
	case p == nil:
		res, err = c.conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	default:
		res, err = p.st.(driver.StmtExecContext).ExecContext(ctx, args)
	}
	c.observe(query, err)
	if err == nil {
		// An autocommit write that finished while the store went down is
		// not known to be durable (see the package comment above).
		if gerr := c.check(); gerr != nil {
			return nil, gerr
		}
	}
	return res, err
}

func (c *gateConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var rows driver.Rows
	p, err := c.preparedStmt(ctx, query)
	switch {
	case err != nil:
	case p == nil:
		rows, err = c.conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	default:
		if rows, err = p.st.(driver.StmtQueryContext).QueryContext(ctx, args); err == nil {
			p.busy = true
			rows = &preparedRows{Rows: rows, p: p}
		}
	}
	c.observe(query, err)
	return rows, err
}

func (c *gateConn) Ping(ctx context.Context) error {
	if err := c.check(); err != nil {
		return err
	}
	if p, ok := c.conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *gateConn) ResetSession(ctx context.Context) error {
	if !c.IsValid() {
		return driver.ErrBadConn
	}
	if r, ok := c.conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid is false once the store is down: database/sql then closes the
// connection instead of keeping it idle, and the pools drain.
func (c *gateConn) IsValid() bool {
	if c.check() != nil {
		return false
	}
	if v, ok := c.conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *gateConn) Close() error {
	err := errors.Join(c.closeStmts(), c.conn.Close())
	if !c.closed {
		c.closed = true
		c.s.conns.Add(-1)
	}
	return err
}

// gateTx refuses to commit while the store is down.
type gateTx struct {
	tx driver.Tx
	c  *gateConn
}

func (t *gateTx) Commit() error {
	if err := t.c.check(); err != nil {
		t.tx.Rollback()
		return err
	}
	err := t.tx.Commit()
	t.c.observe("COMMIT", err)
	if err != nil {
		return err
	}
	return t.c.check()
}

func (t *gateTx) Rollback() error {
	err := t.tx.Rollback()
	t.c.observe("ROLLBACK", err)
	return err
}
