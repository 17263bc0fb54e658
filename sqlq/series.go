package sqlq

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Dialect is what the shared query builders need to know of a store's SQL.
type Dialect struct {
	Style Style
	// Time is the argument a time column is compared with (SQLite stores
	// integer microseconds, PostgreSQL timestamptz).
	Time func(time.Time) any
	// Bucket is the bucket index expression of the time expression col:
	// the whole number of widths since since (since and width are
	// placeholders: a Time and a width in microseconds). Every series
	// query keeps col >= since, so no time before the range rounds into
	// bucket 0.
	Bucket func(col, since, width string) string
	// NotTest is the condition that the boolean column col is false.
	NotTest func(col string) string
	// Greatest is the later of the time expressions a and b. SQLite's
	// two-argument max() is NULL when either is, PostgreSQL's greatest
	// ignores a NULL: the columns handed to it (a receipt time, queued_at)
	// are never NULL on SQLite, where queued_at is 0 until a replay, and
	// NULL on PostgreSQL only where greatest must ignore them.
	Greatest func(a, b string) string
	// CountIf is the number of the group's rows for which cond holds (0,
	// not NULL, when none does).
	CountIf func(cond string) string
	// Micros is the dialect's duration of n microseconds (n an integer
	// expression), comparable with the difference of two time columns.
	Micros func(n string) string
	// SumMicros is the sum of the group's values of the duration
	// expression dur (the difference of two time columns) in whole
	// microseconds, 0 when there are none.
	SumMicros func(dur string) string
	// NotReplayed is the condition that delivery d was not replayed after
	// its event e was received (SQLite's queued_at is 0 until a replay,
	// PostgreSQL's NULL).
	NotReplayed string
}

// Latencies returns the columns that count, for each of
// hookwatch.LatencyBuckets, the rows whose duration expression lat (as
// Micros writes one) is at most that bucket's bound (cumulative counts);
// each column begins with ", ".
func (d Dialect) Latencies(lat string) string {
	var b strings.Builder
	for _, l := range hookwatch.LatencyBuckets {
		b.WriteString(", " + d.CountIf(lat+" <= "+d.Micros(strconv.FormatInt(l.Microseconds(), 10))))
	}
	return b.String()
}

// Scan runs a read query with its arguments and calls each for every row
// with the function that scans the row.
type Scan func(each func(scan func(...any) error) error, query string, args []any) error

// Series is one grouped query of the performance view's series (see
// hookwatch.SeriesStore): it keeps the time expression Col in Q's range,
// applies the source and destination filters on columns Src and Dst (Dst
// "" when the rows have no destination), leaves test events out (column
// Test) and numbers the bucket of Col as b.
type Series struct {
	D             Dialect
	Q             hookwatch.SeriesQuery
	Col, Src, Dst string
	Test          string
}

// Filters adds to c the conditions without the range: no test events, and
// the source and destination filters.
func (w Series) Filters(c *Conds) {
	c.Add(w.D.NotTest(w.Test))
	if w.Q.Source != "" {
		c.Add(w.Src+" = ?", w.Q.Source)
	}
	if w.Q.Destination != "" && w.Dst != "" {
		c.Add(w.Dst+" = ?", w.Q.Destination)
	}
}

// Where returns the conditions of Q's range and filters, in the dialect's
// style.
func (w Series) Where() *Conds {
	c := New(w.D.Style)
	w.where(c)
	return c
}

func (w Series) where(c *Conds) {
	c.Add(fmt.Sprintf(`%[1]s >= ? AND %[1]s < ?`, w.Col), w.D.Time(w.Q.Since), w.D.Time(w.Q.Until))
	w.Filters(c)
}

// Query returns "SELECT <groups>, <bucket> AS b, <values> FROM <from>
// WHERE <range and filters> AND <extra> GROUP BY <groups>, b" and its
// arguments.
func (w Series) Query(groups, values, from, extra string) (string, []any) {
	c := New(w.D.Style)
	b := w.D.Bucket(w.Col, c.Arg(w.D.Time(w.Q.Since)), c.Arg(w.Q.Bucket.Microseconds()))
	w.where(c)
	if extra != "" {
		c.Add(extra)
	}
	return fmt.Sprintf(`SELECT %s, %s AS b, %s FROM %s WHERE %s GROUP BY %s, b`, groups, b, values, from, c.Where(), groups), c.Args
}

// series is a series query of q over the time expression col; see Series.
func (d Dialect) series(q hookwatch.SeriesQuery, col, src, dst, test string) Series {
	return Series{D: d, Q: q, Col: col, Src: src, Dst: dst, Test: test}
}

const (
	seriesJoin   = `deliveries d JOIN events e ON e.id = d.event_id`
	attemptsJoin = `attempts a JOIN deliveries d ON d.id = a.delivery_id JOIN events e ON e.id = d.event_id`
)

// Series computes the performance view's figures per bucket with scan, a
// fixed number of grouped queries whatever the number of buckets; see
// hookwatch.SeriesStore.
func (d Dialect) Series(q hookwatch.SeriesQuery, scan Scan) ([]hookwatch.SeriesRow, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	var rows hookwatch.SeriesRows
	// Receive rows are asked for only when no destination is chosen: a
	// destination's page charts what it was sent.
	if q.Destination == "" {
		recv := d.series(q, "received_at", "source", "", "test")
		query, args := recv.Query("source", "count(*)", "events", "")
		if err := scan(rows.ScanAccepted(q), query, args); err != nil {
			return nil, err
		}
		rej := d.series(q, "at", "source", "", "test")
		query, args = rej.Query("source", "count(*)", "failures", "kind = 'signature'")
		if err := scan(rows.ScanRejected(q), query, args); err != nil {
			return nil, err
		}
	}
	// Processing time counts from the event's receipt, or from its replay.
	lat := `(d.completed_at - ` + d.Greatest("e.received_at", "d.queued_at") + `)`
	done := d.series(q, "d.completed_at", "e.source", "d.destination", "e.test")
	query, args := done.Query("e.source, d.destination", "count(*)"+d.Latencies(lat), seriesJoin, "d.status = 'succeeded'")
	if err := scan(rows.ScanDelivered(q), query, args); err != nil {
		return nil, err
	}
	att := d.series(q, "a.at", "e.source", "d.destination", "e.test")
	query, args = att.Query("e.source, d.destination", "count(*), "+d.CountIf("a.class <> ''")+d.Latencies(d.Micros("a.latency_us")), attemptsJoin, "")
	if err := scan(rows.ScanAttempts(q), query, args); err != nil {
		return nil, err
	}
	query, args = done.Query("e.source, d.destination", "count(*)", seriesJoin, "d.status = 'dead'")
	if err := scan(rows.ScanDeadLetters(q), query, args); err != nil {
		return nil, err
	}
	return rows.List(), nil
}

// BacklogSeries computes with scan the pending deliveries at the end of
// each bucket; see hookwatch.SeriesStore and hookwatch.BacklogCounts. A
// delivery enters the backlog when its event is received or when replayed
// (queued_at) and leaves it when completed.
func (d Dialect) BacklogSeries(q hookwatch.SeriesQuery, scan Scan) ([]hookwatch.BacklogPoint, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	cs := hookwatch.NewBacklogCounts(q)
	entered := d.Greatest("e.received_at", "d.queued_at")
	// Pending at the start: entered before it, and still pending or
	// completed after it (two counts, each served by an index).
	start := d.series(q, entered, "e.source", "d.destination", "e.test")
	for _, still := range []struct {
		cond string
		args []any
	}{{"d.status = 'pending'", nil}, {"d.completed_at >= ?", []any{d.Time(q.Since)}}} {
		c := New(d.Style)
		c.Add(entered+" < ?", d.Time(q.Since))
		c.Add(still.cond, still.args...)
		start.Filters(c)
		if err := scan(cs.ScanStart, `SELECT d.destination, count(*) FROM `+seriesJoin+` WHERE `+c.Where()+` GROUP BY d.destination`, c.Args); err != nil {
			return nil, err
		}
	}
	// Entered in the range: on receipt (never replayed since: served by
	// the events' receive-time index), or on a replay (queued_at).
	received := d.series(q, "e.received_at", "e.source", "d.destination", "e.test")
	query, args := received.Query("d.destination", "count(*)", seriesJoin, d.NotReplayed)
	if err := scan(cs.ScanCreated, query, args); err != nil {
		return nil, err
	}
	replayed := d.series(q, "d.queued_at", "e.source", "d.destination", "e.test")
	query, args = replayed.Query("d.destination", "count(*)", seriesJoin, "d.queued_at > e.received_at")
	if err := scan(cs.ScanCreated, query, args); err != nil {
		return nil, err
	}
	done := d.series(q, "d.completed_at", "e.source", "d.destination", "e.test")
	query, args = done.Query("d.destination", "count(*)", seriesJoin, "d.status IN ('succeeded', 'dead')")
	if err := scan(cs.ScanCompleted, query, args); err != nil {
		return nil, err
	}
	return cs.Points(), nil
}

// FailingTypes returns with scan the event types with the most failed
// attempts, at most limit; see hookwatch.SeriesStore.
func (d Dialect) FailingTypes(q hookwatch.SeriesQuery, limit int, scan Scan) ([]hookwatch.TypeFailures, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	att := d.series(q, "a.at", "e.source", "d.destination", "e.test")
	c := att.Where()
	failed := d.CountIf("a.class <> ''")
	var out []hookwatch.TypeFailures
	err := scan(func(scan func(...any) error) error {
		var f hookwatch.TypeFailures
		if err := scan(&f.Source, &f.Type, &f.Destination, &f.Failed, &f.Attempts); err != nil {
			return err
		}
		out = append(out, f)
		return nil
	}, `SELECT e.source, e.type, d.destination, `+failed+` AS failed, count(*)
		FROM `+attemptsJoin+`
		WHERE `+c.Where()+`
		GROUP BY e.source, e.type, d.destination HAVING `+failed+` > 0
		ORDER BY failed DESC, e.source, e.type, d.destination LIMIT `+c.Arg(limit), c.Args)
	return out, err
}
