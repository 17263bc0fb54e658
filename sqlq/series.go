package sqlq

import (
	"fmt"
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
}

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
