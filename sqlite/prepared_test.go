package sqlite

import (
	"context"
	"database/sql/driver"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestPreparedStatements: a query run twice on a connection runs its
// statement again; the same query run again while its rows are open, in a
// transaction, gets a statement of its own and both read their rows; a
// connection's statements close with it.
func TestPreparedStatements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := open(ctx, filepath.Join(t.TempDir(), "hookwatch.db"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.w.ExecContext(ctx, "CREATE TABLE t (n INTEGER)"); err != nil {
		t.Fatal(err)
	}
	const insert = "INSERT INTO t (n) VALUES (?)"
	for n := range 3 {
		if _, err := s.w.ExecContext(ctx, insert, n); err != nil {
			t.Fatal(err)
		}
	}

	conn, err := s.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var gc *gateConn
	if err := conn.Raw(func(dc any) error { gc = dc.(*gateConn); return nil }); err != nil {
		t.Fatal(err)
	}
	const count = "SELECT count(*) FROM t WHERE n >= ?"
	for want := 3; want > 0; want-- {
		var got int
		if err := conn.QueryRowContext(ctx, count, 3-want).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("count(n >= %d) = %d, want %d", 3-want, got, want)
		}
	}
	first := prepared{}
	if err := conn.Raw(func(any) error {
		if p := gc.stmts[count]; p != nil {
			first = *p
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if first.st == nil || first.busy {
		t.Fatalf("after three runs of %q the connection holds %+v, want its statement, not busy", count, first)
	}

	// Nested: the outer rows stay open while the inner query, the same
	// text, runs for each of them.
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	const list = "SELECT n FROM t WHERE n >= ? ORDER BY n"
	rows, err := tx.QueryContext(ctx, list, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pairs [][2]int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.QueryContext(ctx, list, n)
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			var m int
			if err := inner.Scan(&m); err != nil {
				t.Fatal(err)
			}
			pairs = append(pairs, [2]int{n, m})
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{0, 0}, {0, 1}, {0, 2}, {1, 1}, {1, 2}, {2, 2}}; !slices.Equal(pairs, want) {
		t.Fatalf("nested reads of the same query got %v, want %v", pairs, want)
	}

	// database/sql closes a connection that answers ErrBadConn: its
	// statements close with it.
	if err := conn.Raw(func(any) error { return driver.ErrBadConn }); err == nil {
		t.Fatal("Raw returning ErrBadConn did not fail")
	}
	if len(gc.stmts) != 0 {
		t.Fatalf("closed connection still holds %d statements", len(gc.stmts))
	}
	var n int
	if err := s.w.QueryRowContext(ctx, count, 0).Scan(&n); err != nil || n != 3 {
		t.Fatalf("on a new connection count = %d, %v; want 3", n, err)
	}
}
