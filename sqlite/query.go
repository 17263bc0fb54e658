package sqlite

import (
	"database/sql"
	"fmt"
	"strings"
)

// row is what the scan functions read: a *sql.Row or *sql.Rows.
type row = interface{ Scan(...any) error }

// conds collects the optional conditions of a listing's WHERE clause.
type conds struct {
	list []string
	args []any
}

// add appends one condition with its arguments.
func (c *conds) add(cond string, args ...any) {
	c.list = append(c.list, cond)
	c.args = append(c.args, args...)
}

// where renders the conditions joined with AND, "1 = 1" when there are none.
func (c *conds) where() string {
	if len(c.list) == 0 {
		return "1 = 1"
	}
	return strings.Join(c.list, " AND ")
}

// collect reads every row of a query with scan and closes rows. err is the
// query's own error; op names the query in errors ("list events").
func collect[T any](rows *sql.Rows, err error, op string, scan func(row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return out, nil
}

// limitOr returns n, or def when n is not positive.
func limitOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
