package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache holds statements prepared once on the writer pool: the group
// commit runs the same few statements for every batch, and parsing them
// again each time cost about 5 % of the ingest CPU (issue 14). They are
// prepared when the store opens (the pool has one connection, which a
// transaction holds, so they cannot be prepared lazily through the pool);
// after a reopen (reopen.go) database/sql prepares each again on the new
// connection the first time a transaction uses it.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// prepare prepares queries on db.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB, queries ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	for _, q := range queries {
		if _, ok := c.m[q]; ok {
			continue
		}
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		c.m[q] = st
	}
	return nil
}

// get returns the statement for query bound to tx: the prepared one, or
// one prepared for tx alone when query is not among them.
func (c *stmtCache) get(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.m[query]
	c.mu.Unlock()
	if !ok {
		return tx.PrepareContext(ctx, query)
	}
	return tx.StmtContext(ctx, st), nil
}

// close closes every statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// shapes are the row counts of the multi-row statements a batch is cut
// into: a batch of n rows is written by at most one statement of each
// shape below 64 plus n/64 of the largest, so that only seven statements
// per table are ever prepared.
var shapes = [...]int{64, 32, 16, 8, 4, 2, 1}

// cut splits n rows into statement shapes, largest first.
func cut(n int) []int {
	var out []int
	for _, s := range shapes {
		for n >= s {
			out = append(out, s)
			n -= s
		}
	}
	return out
}
