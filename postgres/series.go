package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
)

// dialect is PostgreSQL's for the shared series and health queries (see
// sqlq.Dialect). A bucket index is floor((t - since) / bucket); a duration
// is an interval.
var dialect = sqlq.Dialect{
	Style: sqlq.Dollar,
	Time:  func(t time.Time) any { return t },
	Bucket: func(col, since, width string) string {
		return fmt.Sprintf(`floor(extract(epoch FROM (%s - %s)) * 1000000 / %s)::int`, col, since, width)
	},
	NotTest: func(col string) string { return "NOT " + col },
	// greatest ignores a NULL queued_at: never replayed.
	Greatest:    func(a, b string) string { return "greatest(" + a + ", " + b + ")" },
	CountIf:     func(cond string) string { return "count(*) FILTER (WHERE " + cond + ")" },
	SumMicros:   func(dur string) string { return "coalesce(sum(extract(epoch FROM " + dur + ") * 1000000), 0)::bigint" },
	Micros:      func(n string) string { return n + " * interval '1 microsecond'" },
	NotReplayed: "(d.queued_at IS NULL OR d.queued_at <= e.received_at)",
}

// scanner returns s.scanRows as a sqlq.Scan under ctx.
func (s *Store) scanner(ctx context.Context) sqlq.Scan {
	return func(each func(func(...any) error) error, query string, args []any) error {
		return s.scanRows(ctx, each, query, args...)
	}
}

// Series computes the figures per bucket; see hookwatch.SeriesStore.
func (s *Store) Series(ctx context.Context, q hookwatch.SeriesQuery) ([]hookwatch.SeriesRow, error) {
	return dialect.Series(q, s.scanner(ctx))
}

// BacklogSeries computes the pending deliveries at the end of each bucket;
// see hookwatch.SeriesStore.
func (s *Store) BacklogSeries(ctx context.Context, q hookwatch.SeriesQuery) ([]hookwatch.BacklogPoint, error) {
	return dialect.BacklogSeries(q, s.scanner(ctx))
}

// FailingTypes returns the event types with the most failed attempts; see
// hookwatch.SeriesStore.
func (s *Store) FailingTypes(ctx context.Context, q hookwatch.SeriesQuery, limit int) ([]hookwatch.TypeFailures, error) {
	return dialect.FailingTypes(q, limit, s.scanner(ctx))
}
