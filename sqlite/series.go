package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
)

// dialect is SQLite's for the shared series and health queries (see
// sqlq.Dialect). Times are microseconds, so a bucket index is (t - since)
// / bucket, integer division, and a duration is a number of microseconds.
var dialect = sqlq.Dialect{
	Style:   sqlq.Question,
	Time:    func(t time.Time) any { return micros(t) },
	Bucket:  func(col, since, width string) string { return fmt.Sprintf(`(%s - %s) / %s`, col, since, width) },
	NotTest: func(col string) string { return col + " = 0" },
	// max of two arguments is NULL if either is; queued_at is 0, never
	// NULL, until a replay.
	Greatest:    func(a, b string) string { return "max(" + a + ", " + b + ")" },
	CountIf:     func(cond string) string { return "coalesce(sum(" + cond + "), 0)" },
	SumMicros:   func(dur string) string { return "coalesce(sum(" + dur + "), 0)" },
	Micros:      func(n string) string { return n },
	NotReplayed: "d.queued_at <= e.received_at",
}

// scanner returns s.scanRows as a sqlq.Scan under ctx.
func (s *Store) scanner(ctx context.Context) sqlq.Scan {
	return func(each func(func(...any) error) error, query string, args []any) error {
		return s.scanRows(ctx, each, query, args...)
	}
}

// Series computes the figures per bucket; see hookwatch.SeriesStore.
func (s *Store) Series(ctx context.Context, q hookwatch.SeriesQuery) ([]hookwatch.SeriesRow, error) {
	if err := s.settle(ctx); err != nil { // deliveries owed by stored events (fanout.go)
		return nil, err
	}
	return dialect.Series(q, s.scanner(ctx))
}

// BacklogSeries computes the pending deliveries at the end of each bucket;
// see hookwatch.SeriesStore.
func (s *Store) BacklogSeries(ctx context.Context, q hookwatch.SeriesQuery) ([]hookwatch.BacklogPoint, error) {
	if err := s.settle(ctx); err != nil { // deliveries owed by stored events (fanout.go)
		return nil, err
	}
	return dialect.BacklogSeries(q, s.scanner(ctx))
}

// FailingTypes returns the event types with the most failed attempts; see
// hookwatch.SeriesStore.
func (s *Store) FailingTypes(ctx context.Context, q hookwatch.SeriesQuery, limit int) ([]hookwatch.TypeFailures, error) {
	return dialect.FailingTypes(q, limit, s.scanner(ctx))
}
