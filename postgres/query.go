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
