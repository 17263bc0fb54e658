package postgres

import (
	"context"
	"fmt"

	"github.com/hookwatch/hookwatch"
)

// The performance view's series: a fixed number of grouped queries per
// call, whatever the number of buckets (see hookwatch.SeriesStore). A
// bucket index is floor((t - since) / bucket); every query keeps t >= since.

// seriesArgs numbers a query's arguments as they are added.
type seriesArgs []any

func (a *seriesArgs) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

// seriesSQL is one grouped series query: it keeps col in q's range and the
// source and destination filters (on columns src and dst; dst "" when the
// rows have no destination), leaves test events out (column test), and
// numbers the bucket of col as b.
type seriesSQL struct {
	q             hookwatch.SeriesQuery
	col, src, dst string
	test          string
}

// filters is the condition without the range: no test events, and the
// source and destination filters.
func (w seriesSQL) filters(args *seriesArgs) string {
	cond := "NOT " + w.test
	if w.q.Source != "" {
		cond += fmt.Sprintf(` AND %s = %s`, w.src, args.add(w.q.Source))
	}
	if w.q.Destination != "" && w.dst != "" {
		cond += fmt.Sprintf(` AND %s = %s`, w.dst, args.add(w.q.Destination))
	}
	return cond
}

// query returns "SELECT <groups>, <bucket> AS b, <values> FROM <from>
// WHERE <range and filters> AND <extra> GROUP BY <groups>, b" and its
// arguments.
func (w seriesSQL) query(groups, values, from, extra string) (string, []any) {
	var args seriesArgs
	since := args.add(w.q.Since)
	b := fmt.Sprintf(`floor(extract(epoch FROM (%s - %s)) * 1000000 / %s)::int`, w.col, since, args.add(w.q.Bucket.Microseconds()))
	cond := fmt.Sprintf(`%[1]s >= %[2]s AND %[1]s < %[3]s AND `, w.col, since, args.add(w.q.Until)) + w.filters(&args)
	if extra != "" {
		cond += " AND " + extra
	}
	return fmt.Sprintf(`SELECT %s, %s AS b, %s FROM %s WHERE %s GROUP BY %s, b`, groups, b, values, from, cond, groups), args
}

const seriesJoin = `deliveries d JOIN events e ON e.id = d.event_id`

// seriesScanner returns a function that runs a series query (as
// seriesSQL.query returns it) with each called per row.
func (s *Store) seriesScanner(ctx context.Context) func(each func(func(...any) error) error) func(string, []any) error {
	return func(each func(func(...any) error) error) func(string, []any) error {
		return func(query string, args []any) error { return s.scanRows(ctx, each, query, args...) }
	}
}

// Series computes the figures per bucket; see hookwatch.SeriesStore.
func (s *Store) Series(ctx context.Context, q hookwatch.SeriesQuery) ([]hookwatch.SeriesRow, error) {
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
	// Processing time counts from the event's receipt, or from its replay
	// (greatest ignores a NULL queued_at: never replayed).
	const lat = `(d.completed_at - greatest(e.received_at, d.queued_at))`
	done := seriesSQL{q: q, col: "d.completed_at", src: "e.source", dst: "d.destination", test: "e.test"}
	if err := scan(rows.ScanDelivered(q))(done.query("e.source, d.destination", "count(*)"+latencySQL(lat), seriesJoin, "d.status = 'succeeded'")); err != nil {
		return nil, err
	}
	att := seriesSQL{q: q, col: "a.at", src: "e.source", dst: "d.destination", test: "e.test"}
	if err := scan(rows.ScanAttempts(q))(att.query("e.source, d.destination", "count(*), count(*) FILTER (WHERE a.class <> '')"+latencySQL("a.latency_us * interval '1 microsecond'"),
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
	if err := q.Check(); err != nil {
		return nil, err
	}
	scan := s.seriesScanner(ctx)
	c := hookwatch.NewBacklogCounts(q)
	const entered = `greatest(e.received_at, d.queued_at)`
	start := seriesSQL{q: q, col: entered, src: "e.source", dst: "d.destination", test: "e.test"}
	// Pending at the start: entered before it, and still pending or
	// completed after it (two counts, each served by an index).
	for _, still := range []string{"d.status = 'pending'", "d.completed_at >= $1"} {
		args := seriesArgs{q.Since}
		cond := start.filters(&args)
		if err := scan(c.ScanStart)(`SELECT d.destination, count(*) FROM `+seriesJoin+` WHERE `+entered+` < $1 AND `+still+` AND `+cond+` GROUP BY d.destination`, args); err != nil {
			return nil, err
		}
	}
	// Entered in the range: on receipt (never replayed since: served by
	// the events' receive-time index), or on a replay (queued_at).
	received := seriesSQL{q: q, col: "e.received_at", src: "e.source", dst: "d.destination", test: "e.test"}
	if err := scan(c.ScanCreated)(received.query("d.destination", "count(*)", seriesJoin, "(d.queued_at IS NULL OR d.queued_at <= e.received_at)")); err != nil {
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

// FailingTypes returns the event types with the most failed attempts; see
// hookwatch.SeriesStore.
func (s *Store) FailingTypes(ctx context.Context, q hookwatch.SeriesQuery, limit int) ([]hookwatch.TypeFailures, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	var args seriesArgs
	att := seriesSQL{q: q, col: "a.at", src: "e.source", dst: "d.destination", test: "e.test"}
	cond := fmt.Sprintf(`a.at >= %s AND a.at < %s AND `, args.add(q.Since), args.add(q.Until)) + att.filters(&args)
	var out []hookwatch.TypeFailures
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var f hookwatch.TypeFailures
		if err := scan(&f.Source, &f.Type, &f.Destination, &f.Failed, &f.Attempts); err != nil {
			return err
		}
		out = append(out, f)
		return nil
	}, `SELECT e.source, e.type, d.destination, count(*) FILTER (WHERE a.class <> '') AS failed, count(*)
		FROM attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN events e ON e.id = d.event_id
		WHERE `+cond+`
		GROUP BY e.source, e.type, d.destination HAVING count(*) FILTER (WHERE a.class <> '') > 0
		ORDER BY failed DESC, e.source, e.type, d.destination LIMIT `+args.add(limit), args...)
	return out, err
}
