package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
)

// The performance view's series: a fixed number of grouped queries per
// call, whatever the number of buckets (see hookwatch.SeriesStore). Times
// are microseconds, so a bucket index is (t - since) / bucket, integer
// division; every query keeps t >= since, so the division never rounds a
// time before the range into bucket 0.

// dialect is SQLite's for the shared series queries: times are
// microseconds, so a bucket index is integer division.
var dialect = sqlq.Dialect{
	Style:   sqlq.Question,
	Time:    func(t time.Time) any { return micros(t) },
	Bucket:  func(col, since, width string) string { return fmt.Sprintf(`(%s - %s) / %s`, col, since, width) },
	NotTest: func(col string) string { return col + " = 0" },
}

// series is a series query of q over col; see sqlq.Series.
func series(q hookwatch.SeriesQuery, col, src, dst, test string) sqlq.Series {
	return sqlq.Series{D: dialect, Q: q, Col: col, Src: src, Dst: dst, Test: test}
}

const seriesJoin = `deliveries d JOIN events e ON e.id = d.event_id`

// Series computes the figures per bucket; see hookwatch.SeriesStore.
func (s *Store) Series(ctx context.Context, q hookwatch.SeriesQuery) ([]hookwatch.SeriesRow, error) {
	if err := s.settle(ctx); err != nil { // deliveries owed by stored events (fanout.go)
		return nil, err
	}
	if err := q.Check(); err != nil {
		return nil, err
	}
	var rows hookwatch.SeriesRows
	scan := s.seriesScanner(ctx)
	// Receive rows are asked for only when no destination is chosen: a
	// destination's page charts what it was sent.
	if q.Destination == "" {
		recv := series(q, "received_at", "source", "", "test")
		if err := scan(rows.ScanAccepted(q))(recv.Query("source", "count(*)", "events", "")); err != nil {
			return nil, err
		}
		rej := series(q, "at", "source", "", "test")
		if err := scan(rows.ScanRejected(q))(rej.Query("source", "count(*)", "failures", "kind = 'signature'")); err != nil {
			return nil, err
		}
	}
	// Processing time counts from the event's receipt, or from its replay.
	const lat = `(d.completed_at - max(e.received_at, d.queued_at))`
	done := series(q, "d.completed_at", "e.source", "d.destination", "e.test")
	if err := scan(rows.ScanDelivered(q))(done.Query("e.source, d.destination", "count(*)"+latencySQL(lat), seriesJoin, "d.status = 'succeeded'")); err != nil {
		return nil, err
	}
	att := series(q, "a.at", "e.source", "d.destination", "e.test")
	if err := scan(rows.ScanAttempts(q))(att.Query("e.source, d.destination", "count(*), coalesce(sum(a.class <> ''), 0)"+latencySQL("a.latency_us"),
		"attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN events e ON e.id = d.event_id", "")); err != nil {
		return nil, err
	}
	if err := scan(rows.ScanDeadLetters(q))(done.Query("e.source, d.destination", "count(*)", seriesJoin, "d.status = 'dead'")); err != nil {
		return nil, err
	}
	return rows.List(), nil
}

// BacklogSeries computes the pending deliveries at the end of each bucket;
// see hookwatch.SeriesStore and hookwatch.BacklogCounts. A delivery enters
// the backlog when its event is received or when replayed (queued_at) and leaves it when
// completed.
func (s *Store) BacklogSeries(ctx context.Context, q hookwatch.SeriesQuery) ([]hookwatch.BacklogPoint, error) {
	if err := s.settle(ctx); err != nil { // deliveries owed by stored events (fanout.go)
		return nil, err
	}
	if err := q.Check(); err != nil {
		return nil, err
	}
	scan := s.seriesScanner(ctx)
	cs := hookwatch.NewBacklogCounts(q)
	const entered = `max(e.received_at, d.queued_at)`
	// Pending at the start: entered before it, and still pending or
	// completed after it (two counts, each served by an index).
	start := series(q, entered, "e.source", "d.destination", "e.test")
	for _, still := range []struct {
		cond string
		args []any
	}{{"d.status = 'pending'", nil}, {"d.completed_at >= ?", []any{micros(q.Since)}}} {
		c := sqlq.New(sqlq.Question)
		c.Add(entered+" < ?", micros(q.Since))
		c.Add(still.cond, still.args...)
		start.Filters(c)
		if err := scan(cs.ScanStart)(`SELECT d.destination, count(*) FROM `+seriesJoin+` WHERE `+c.Where()+` GROUP BY d.destination`, c.Args); err != nil {
			return nil, err
		}
	}
	// Entered in the range: on receipt (never replayed since: served by
	// the events' receive-time index), or on a replay (queued_at).
	received := series(q, "e.received_at", "e.source", "d.destination", "e.test")
	if err := scan(cs.ScanCreated)(received.Query("d.destination", "count(*)", seriesJoin, "d.queued_at <= e.received_at")); err != nil {
		return nil, err
	}
	replayed := series(q, "d.queued_at", "e.source", "d.destination", "e.test")
	if err := scan(cs.ScanCreated)(replayed.Query("d.destination", "count(*)", seriesJoin, "d.queued_at > e.received_at")); err != nil {
		return nil, err
	}
	done := series(q, "d.completed_at", "e.source", "d.destination", "e.test")
	if err := scan(cs.ScanCompleted)(done.Query("d.destination", "count(*)", seriesJoin, "d.status IN ('succeeded', 'dead')")); err != nil {
		return nil, err
	}
	return cs.Points(), nil
}

// seriesScanner returns a function that runs a series query (as
// sqlq.Series.Query returns it) with each called per row.
func (s *Store) seriesScanner(ctx context.Context) func(each func(func(...any) error) error) func(string, []any) error {
	return func(each func(func(...any) error) error) func(string, []any) error {
		return func(query string, args []any) error { return s.scanRows(ctx, each, query, args...) }
	}
}

// FailingTypes returns the event types with the most failed attempts; see
// hookwatch.SeriesStore.
func (s *Store) FailingTypes(ctx context.Context, q hookwatch.SeriesQuery, limit int) ([]hookwatch.TypeFailures, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	att := series(q, "a.at", "e.source", "d.destination", "e.test")
	c := att.Where()
	var out []hookwatch.TypeFailures
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var f hookwatch.TypeFailures
		if err := scan(&f.Source, &f.Type, &f.Destination, &f.Failed, &f.Attempts); err != nil {
			return err
		}
		out = append(out, f)
		return nil
	}, `SELECT e.source, e.type, d.destination, sum(a.class <> '') AS failed, count(*)
		FROM attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN events e ON e.id = d.event_id
		WHERE `+c.Where()+`
		GROUP BY e.source, e.type, d.destination HAVING failed > 0
		ORDER BY failed DESC, e.source, e.type, d.destination LIMIT `+c.Arg(limit), c.Args...)
	return out, err
}
