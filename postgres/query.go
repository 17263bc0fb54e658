package postgres

import (
	"strconv"
	"strings"
)

// conds collects the optional conditions of a listing's WHERE clause with
// their arguments, numbering the placeholders.
type conds struct {
	list []string
	args []any
}

// add appends a condition written with one ? per argument; each ? becomes
// $n, numbered after the arguments already collected.
func (c *conds) add(cond string, args ...any) {
	for _, a := range args {
		c.args = append(c.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(c.args)), 1)
	}
	c.list = append(c.list, cond)
}

// where renders the conditions joined with AND, "true" when there are none.
func (c *conds) where() string {
	if len(c.list) == 0 {
		return "true"
	}
	return strings.Join(c.list, " AND ")
}

// arg appends a to the arguments and returns its placeholder (for LIMIT).
func (c *conds) arg(a any) string {
	c.args = append(c.args, a)
	return "$" + strconv.Itoa(len(c.args))
}

// limitOr returns n, or def when n is not positive.
func limitOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
