package postgres

import (
	"context"

	"github.com/hookwatch/hookwatch/sqlq"
	"github.com/jackc/pgx/v5"
)

// queryer is a pool or a transaction, for reads that run in either.
type queryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// newConds starts a listing's WHERE conditions with PostgreSQL's numbered
// placeholders, numbered after args (the statement's earlier arguments).
func newConds(args ...any) *sqlq.Conds { return sqlq.New(sqlq.Dollar, args...) }

// collect reads every row of a query with scan and closes rows, returning
// nil when there are none. err is the query's own error; op names the
// query in errors ("list issues").
func collect[T any](rows pgx.Rows, err error, op string, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, storeError(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, storeError(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError(op, err)
	}
	return out, nil
}
