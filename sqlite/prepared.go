package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
)

// Prepared statements, per connection.
//
// database/sql prepares a query run on a pool or a transaction anew at every
// call (it calls the driver's QueryContext or ExecContext with the text), so
// SQLite parsed and planned the store's few dozen queries again each time:
// some 40 % of the CPU of the dashboard's tests went there. Each pooled
// connection (gateConn) therefore keeps the statements it has run, by query
// text, and runs them again after a reset. They belong to the connection:
// closed with it, so a reopen after an fsync failure (reopen.go), which
// closes every connection, leaves none behind, and the new connections
// prepare their own.
//
// A statement whose rows are still being read is busy: a second run of the
// same text on the same connection meanwhile (a transaction reading one
// query while running it again) prepares a statement of its own for that
// run, as before. Listings build their WHERE clauses from filters, so the
// number of texts is bounded by maxPrepared per connection; past it, queries
// run unprepared.

// maxPrepared bounds the statements one connection keeps.
const maxPrepared = 128

// prepared is one connection's statement.
type prepared struct {
	st   driver.Stmt
	busy bool // rows from st are open
}

// preparedStmt returns the connection's statement for query, preparing it on
// first use, or nil when query is to run unprepared (busy, or the cache is
// full). Calls on one connection are serialized by database/sql, which also
// holds the connection's lock while closing rows.
func (c *gateConn) preparedStmt(ctx context.Context, query string) (*prepared, error) {
	if p, ok := c.stmts[query]; ok {
		if p.busy {
			return nil, nil
		}
		return p, nil
	}
	if len(c.stmts) >= maxPrepared {
		return nil, nil
	}
	st, err := c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.stmts == nil {
		c.stmts = map[string]*prepared{}
	}
	p := &prepared{st: st}
	c.stmts[query] = p
	return p, nil
}

// closeStmts closes the connection's statements (before the connection
// itself: SQLite cannot close a connection with statements left).
func (c *gateConn) closeStmts() error {
	var errs []error
	for q, p := range c.stmts {
		errs = append(errs, p.st.Close())
		delete(c.stmts, q)
	}
	return errors.Join(errs...)
}

// preparedRows are rows read from a prepared statement, which is free again
// once they close. They have only driver.Rows' methods: the store scans
// values and never asks for column types.
type preparedRows struct {
	driver.Rows
	p *prepared
}

func (r *preparedRows) Close() error {
	err := r.Rows.Close()
	r.p.busy = false
	return err
}
