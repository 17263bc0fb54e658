package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hookwatch/hookwatch/sqlq"
)

// row is what the scan functions read: a *sql.Row or *sql.Rows.
type row = interface{ Scan(...any) error }

// querier is a connection pool or a transaction, for reads that run in
// either.
type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// execer is a connection pool or a transaction, for writes that run in
// either.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// newConds starts a listing's WHERE conditions with SQLite's ?
// placeholders.
func newConds() *sqlq.Conds { return sqlq.New(sqlq.Question) }

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
