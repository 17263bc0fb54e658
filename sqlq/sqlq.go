// Package sqlq holds what the two SQL stores (sqlite/, postgres/) share
// that is not SQL: a listing's WHERE conditions collected with their
// arguments in the dialect's placeholder style, limits, batched deletes
// and the runner of numbered migrations embedded as .sql files.
//
// Its one set of statements is the dashboard's read queries (series.go,
// health.go): the two schemas have the same tables, so those are written
// once over a Dialect that holds each store's SQL (placeholders, time
// binding, bucket, count and duration expressions). Elsewhere the stores
// hand it condition fragments and the functions that run their SQL. Rules about
// the domain (how failures group into issues, the order of due work) live
// in the root package, hookwatch.
package sqlq

import (
	"strconv"
	"strings"
)

// Style is how a dialect writes its placeholders.
type Style int

// Placeholder styles.
const (
	// Question writes every placeholder as ? (SQLite).
	Question Style = iota
	// Dollar numbers them $1, $2... in the order of the arguments
	// (PostgreSQL).
	Dollar
)

// placeholder returns the n-th (1-based) placeholder in style s.
func (s Style) placeholder(n int) string {
	if s == Dollar {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// Conds collects the optional conditions of a listing's WHERE clause with
// their arguments, in one placeholder style. The zero Conds writes ?
// placeholders.
type Conds struct {
	Style Style
	// Args are the arguments of the conditions added so far (and of
	// whatever came before them: Dollar placeholders are numbered after
	// the Args present).
	Args []any
	list []string
}

// New returns conditions in style s whose placeholders are numbered after
// args (arguments of the statement's earlier placeholders).
func New(s Style, args ...any) *Conds {
	return &Conds{Style: s, Args: args}
}

// Add appends a condition written with one ? per argument, such as
// "source = ?" or "at >= ? AND at < ?"; in the Dollar style each ? becomes
// $n, numbered after the arguments already collected. A condition holds no
// other question mark (no string literal with one).
func (c *Conds) Add(cond string, args ...any) {
	for _, a := range args {
		c.Args = append(c.Args, a)
		if c.Style != Question {
			cond = strings.Replace(cond, "?", c.Style.placeholder(len(c.Args)), 1)
		}
	}
	c.list = append(c.list, cond)
}

// Arg appends a to the arguments and returns its placeholder, for a value
// the statement uses after the WHERE clause (LIMIT ...).
func (c *Conds) Arg(a any) string {
	c.Args = append(c.Args, a)
	return c.Style.placeholder(len(c.Args))
}

// Where renders the conditions joined with AND, "1 = 1" when there are
// none, so that it always follows WHERE.
func (c *Conds) Where() string {
	if len(c.list) == 0 {
		return "1 = 1"
	}
	return strings.Join(c.list, " AND ")
}

// Limit returns n, or def when n is not positive: a listing's limit when
// the caller gave none.
func Limit(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
