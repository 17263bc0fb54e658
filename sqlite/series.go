package sqlite

import (
	"context"
	"fmt"

	"github.com/hookwatch/hookwatch"
)

// The performance view's series: a fixed number of grouped queries per
// call, whatever the number of buckets (see hookwatch.SeriesStore). Times
// are microseconds, so a bucket index is (t - since) / bucket, integer
// division; every query keeps t >= since, so the division never rounds a
// time before the range into bucket 0.

// seriesSQL is one grouped series query: it keeps col in q's range and
// the source and destination filters (on columns src and dst; dst "" when
// the rows have no destination), leaves test events out (column test), and
// numbers the bucket of col as b.
type seriesSQL struct {
	q             hookwatch.SeriesQuery
	col, src, dst string
	test          string
}

// bucket is the bucket index expression of col, and its arguments.
func (w seriesSQL) bucket() (string, []any) {
	return fmt.Sprintf(`(%s - ?) / ?`, w.col), []any{micros(w.q.Since), w.q.Bucket.Microseconds()}
}

// where is the condition, and its arguments.
func (w seriesSQL) where() (string, []any) {
	cond, args := w.filters()
	return fmt.Sprintf(`%[1]s >= ? AND %[1]s < ? AND `, w.col) + cond, append([]any{micros(w.q.Since), micros(w.q.Until)}, args...)
}

// filters is the condition without the range: no test events, and the
// source and destination filters.
func (w seriesSQL) filters() (string, []any) {
	cond := w.test + " = 0"
	var args []any
	if w.q.Source != "" {
		cond += fmt.Sprintf(` AND %s = ?`, w.src)
		args = append(args, w.q.Source)
	}
	if w.q.Destination != "" && w.dst != "" {
		cond += fmt.Sprintf(` AND %s = ?`, w.dst)
		args = append(args, w.q.Destination)
	}
	return cond, args
}

// query returns "SELECT <groups>, <bucket> AS b, <values> FROM <from>
// WHERE <where> AND <extra> GROUP BY <groups>, b" and its arguments.
func (w seriesSQL) query(groups, values, from, extra string) (string, []any) {
	b, bargs := w.bucket()
	cond, wargs := w.where()
	if extra != "" {
		cond += " AND " + extra
	}
	return fmt.Sprintf(`SELECT %s, %s AS b, %s FROM %s WHERE %s GROUP BY %s, b`, groups, b, values, from, cond, groups), append(bargs, wargs...)
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
		recv := seriesSQL{q: q, col: "received_at", src: "source", test: "test"}
		if err := scan(rows.ScanAccepted(q))(recv.query("source", "count(*)", "events", "")); err != nil {
			return nil, err
		}
		rej := seriesSQL{q: q, col: "at", src: "source", test: "test"}
		if err := scan(rows.ScanRejected(q))(rej.query("source", "count(*)", "failures", "kind = 'signature'")); err != nil {
			return nil, err
		}
	}
	// Processing time counts from the event's receipt, or from its replay.
	const lat = `(d.completed_at - max(e.received_at, d.queued_at))`
	done := seriesSQL{q: q, col: "d.completed_at", src: "e.source", dst: "d.destination", test: "e.test"}
	if err := scan(rows.ScanDelivered(q))(done.query("e.source, d.destination", "count(*)"+latencySQL(lat), seriesJoin, "d.status = 'succeeded'")); err != nil {
		return nil, err
	}
	att := seriesSQL{q: q, col: "a.at", src: "e.source", dst: "d.destination", test: "e.test"}
	if err := scan(rows.ScanAttempts(q))(att.query("e.source, d.destination", "count(*), coalesce(sum(a.class <> ''), 0)"+latencySQL("a.latency_us"),
		"attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN events e ON e.id = d.event_id", "")); err != nil {
		return nil, err
	}
	if err := scan(rows.ScanDeadLetters(q))(done.query("e.source, d.destination", "count(*)", seriesJoin, "d.status = 'dead'")); err != nil {
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
	c := hookwatch.NewBacklogCounts(q)
	const entered = `max(e.received_at, d.queued_at)`
	// Pending at the start: entered before it, and still pending or
	// completed after it (two counts, each served by an index).
	start := seriesSQL{q: q, col: entered, src: "e.source", dst: "d.destination", test: "e.test"}
	cond, fargs := start.filters()
	for _, still := range []struct {
		cond string
		args []any
	}{{"d.status = 'pending'", nil}, {"d.completed_at >= ?", []any{micros(q.Since)}}} {
		args := append(append([]any{micros(q.Since)}, still.args...), fargs...)
		if err := scan(c.ScanStart)(`SELECT d.destination, count(*) FROM `+seriesJoin+` WHERE `+entered+` < ? AND `+still.cond+` AND `+cond+` GROUP BY d.destination`, args); err != nil {
			return nil, err
		}
	}
	// Entered in the range: on receipt (never replayed since: served by
	// the events' receive-time index), or on a replay (queued_at).
	received := seriesSQL{q: q, col: "e.received_at", src: "e.source", dst: "d.destination", test: "e.test"}
	if err := scan(c.ScanCreated)(received.query("d.destination", "count(*)", seriesJoin, "d.queued_at <= e.received_at")); err != nil {
		return nil, err
	}
	replayed := seriesSQL{q: q, col: "d.queued_at", src: "e.source", dst: "d.destination", test: "e.test"}
	if err := scan(c.ScanCreated)(replayed.query("d.destination", "count(*)", seriesJoin, "d.queued_at > e.received_at")); err != nil {
		return nil, err
	}
	done := seriesSQL{q: q, col: "d.completed_at", src: "e.source", dst: "d.destination", test: "e.test"}
	if err := scan(c.ScanCompleted)(done.query("d.destination", "count(*)", seriesJoin, "d.status IN ('succeeded', 'dead')")); err != nil {
		return nil, err
	}
	return c.Points(), nil
}

// seriesScanner returns a function that runs a series query (as
// seriesSQL.query returns it) with each called per row.
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
	att := seriesSQL{q: q, col: "a.at", src: "e.source", dst: "d.destination", test: "e.test"}
	cond, args := att.where()
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
		WHERE `+cond+`
		GROUP BY e.source, e.type, d.destination HAVING failed > 0
		ORDER BY failed DESC, e.source, e.type, d.destination LIMIT ?`, append(args, limit)...)
	return out, err
}
