package sqlq_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hookwatch/hookwatch/sqlq"
)

func TestCondsPlaceholders(t *testing.T) {
	for _, tc := range []struct {
		style           sqlq.Style
		where, limit    string
		args, argsAfter []any
	}{
		{sqlq.Question, "source = ? AND at >= ? AND at < ? AND released_at IS NULL", "?", []any{"stripe", 1, 2}, []any{"stripe", 1, 2, 100}},
		{sqlq.Dollar, "source = $1 AND at >= $2 AND at < $3 AND released_at IS NULL", "$4", []any{"stripe", 1, 2}, []any{"stripe", 1, 2, 100}},
	} {
		c := sqlq.New(tc.style)
		c.Add("source = ?", "stripe")
		c.Add("at >= ? AND at < ?", 1, 2)
		c.Add("released_at IS NULL")
		if got := c.Where(); got != tc.where {
			t.Errorf("style %d: Where = %q, want %q", tc.style, got, tc.where)
		}
		if !reflect.DeepEqual(c.Args, tc.args) {
			t.Errorf("style %d: Args = %v, want %v", tc.style, c.Args, tc.args)
		}
		if got := c.Arg(100); got != tc.limit {
			t.Errorf("style %d: Arg = %q, want %q", tc.style, got, tc.limit)
		}
		if !reflect.DeepEqual(c.Args, tc.argsAfter) {
			t.Errorf("style %d: Args after Arg = %v, want %v", tc.style, c.Args, tc.argsAfter)
		}
	}
}

// Conditions after a statement's own arguments are numbered after them.
func TestCondsNumberAfterEarlierArgs(t *testing.T) {
	c := sqlq.New(sqlq.Dollar, "replay-time", 5)
	c.Add("d.destination = ?", "app")
	if got := c.Where(); got != "d.destination = $3" {
		t.Errorf("Where = %q, want d.destination = $3", got)
	}
	if len(c.Args) != 3 || c.Args[2] != "app" {
		t.Errorf("Args = %v", c.Args)
	}
}

func TestCondsEmptyAndZero(t *testing.T) {
	var c sqlq.Conds // the zero value writes ?
	if got := c.Where(); got != "1 = 1" {
		t.Errorf("empty Where = %q, want 1 = 1", got)
	}
	c.Add("id < ?", "evt_x")
	if got := c.Where(); got != "id < ?" {
		t.Errorf("zero Conds Where = %q, want id < ?", got)
	}
}

func TestLimit(t *testing.T) {
	for _, tc := range []struct{ n, def, want int }{{0, 100, 100}, {-3, 20, 20}, {7, 100, 7}} {
		if got := sqlq.Limit(tc.n, tc.def); got != tc.want {
			t.Errorf("Limit(%d, %d) = %d, want %d", tc.n, tc.def, got, tc.want)
		}
	}
}

func TestDeleteBatches(t *testing.T) {
	left := 2500
	var calls []int
	n, err := sqlq.DeleteBatches(context.Background(), 1000, func(_ context.Context, batch int) (int64, error) {
		calls = append(calls, batch)
		d := min(batch, left)
		left -= d
		return int64(d), nil
	})
	if err != nil || n != 2500 || left != 0 {
		t.Fatalf("DeleteBatches = %d, %v (left %d), want 2500 deleted", n, err, left)
	}
	if !reflect.DeepEqual(calls, []int{1000, 1000, 1000}) {
		t.Errorf("batches asked = %v, want three of 1000 (the last one short)", calls)
	}

	// An error stops it; what was deleted before is counted.
	boom := errors.New("disk full")
	calls = nil
	n, err = sqlq.DeleteBatches(context.Background(), 10, func(_ context.Context, batch int) (int64, error) {
		calls = append(calls, batch)
		if len(calls) == 2 {
			return 0, boom
		}
		return 10, nil
	})
	if !errors.Is(err, boom) || n != 10 {
		t.Errorf("DeleteBatches after a failing batch = %d, %v; want 10, %v", n, err, boom)
	}
}

func migrationsFS(files ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for _, f := range files {
		fsys["migrations/"+f] = &fstest.MapFile{Data: []byte("-- " + f)}
	}
	return fsys
}

func TestMigrationsOrderedByNumber(t *testing.T) {
	ms, err := sqlq.Migrations(migrationsFS("0010_ten.sql", "0002_two.sql", "0001_one.sql", "README"), "migrations")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Name)
		if m.SQL != "-- "+m.Name {
			t.Errorf("%s: SQL = %q", m.Name, m.SQL)
		}
	}
	if want := []string{"0001_one.sql", "0002_two.sql", "0010_ten.sql"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Migrations = %v, want %v", got, want)
	}
	if ms[2].Version != 10 {
		t.Errorf("version of 0010_ten.sql = %d", ms[2].Version)
	}
}

func TestMigrationsRejectBadNames(t *testing.T) {
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{"0001_one.sql", "0001_also_one.sql"}, "have the same number"},
		{[]string{"01_one.sql", "0001_one_again.sql"}, "have the same number"},
		{[]string{"events.sql"}, "must start with a positive number"},
		{[]string{"0000_zero.sql"}, "must start with a positive number"},
		{[]string{"0003.sql"}, "must start with a positive number"},
	} {
		_, err := sqlq.Migrations(migrationsFS(tc.files...), "migrations")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Migrations(%v) error = %v, want one saying %q", tc.files, err, tc.want)
		}
	}
}

func TestMigrateAppliesPendingInOrder(t *testing.T) {
	ms, err := sqlq.Migrations(migrationsFS("0001_a.sql", "0002_b.sql", "0003_c.sql", "0004_d.sql"), "migrations")
	if err != nil {
		t.Fatal(err)
	}
	done := map[int]bool{1: true, 3: true} // 3 applied by hand: skipped, not reapplied
	var ran []string
	applied, err := sqlq.Migrate(context.Background(), ms,
		func(_ context.Context, v int) (bool, error) { return done[v], nil },
		func(_ context.Context, m sqlq.Migration) error {
			ran = append(ran, m.Name)
			done[m.Version] = true
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"0002_b.sql", "0004_d.sql"}; !reflect.DeepEqual(applied, want) || !reflect.DeepEqual(ran, want) {
		t.Errorf("applied %v, ran %v; want %v", applied, ran, want)
	}
	// Run again: nothing left.
	applied, err = sqlq.Migrate(context.Background(), ms,
		func(_ context.Context, v int) (bool, error) { return done[v], nil },
		func(_ context.Context, m sqlq.Migration) error { t.Errorf("applied %s twice", m.Name); return nil })
	if err != nil || len(applied) != 0 {
		t.Errorf("second Migrate = %v, %v; want nothing applied", applied, err)
	}
}

func TestMigrateStopsAtFirstFailure(t *testing.T) {
	ms, _ := sqlq.Migrations(migrationsFS("0001_a.sql", "0002_b.sql", "0003_c.sql"), "migrations")
	bad := errors.New("syntax error")
	applied, err := sqlq.Migrate(context.Background(), ms,
		func(context.Context, int) (bool, error) { return false, nil },
		func(_ context.Context, m sqlq.Migration) error {
			if m.Version == 2 {
				return bad
			}
			if m.Version == 3 {
				t.Error("applied 0003 after 0002 failed")
			}
			return nil
		})
	if !errors.Is(err, bad) || !reflect.DeepEqual(applied, []string{"0001_a.sql"}) {
		t.Errorf("Migrate = %v, %v; want [0001_a.sql], %v", applied, err, bad)
	}
	// A failure to read what was applied stops it too.
	lost := errors.New("connection lost")
	applied, err = sqlq.Migrate(context.Background(), ms,
		func(context.Context, int) (bool, error) { return false, lost },
		func(context.Context, sqlq.Migration) error { t.Error("applied without knowing"); return nil })
	if !errors.Is(err, lost) || len(applied) != 0 {
		t.Errorf("Migrate = %v, %v; want nothing, %v", applied, err, lost)
	}
}

// The stores' own migrations read cleanly and have the same numbers: each
// schema change is one number in both stores (docs/ARCHITECTURE.md).
func TestStoresHaveTheSameMigrations(t *testing.T) {
	versions := func(dir string) map[int]string {
		ms, err := sqlq.Migrations(os.DirFS(".."), dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(ms) == 0 {
			t.Fatalf("%s: no migrations found", dir)
		}
		out := map[int]string{}
		for _, m := range ms {
			out[m.Version] = m.Name
		}
		return out
	}
	lite, pg := versions("sqlite/migrations"), versions("postgres/migrations")
	for v, name := range lite {
		if _, ok := pg[v]; !ok {
			t.Errorf("sqlite/migrations/%s has no postgres migration of number %d", name, v)
		}
	}
	for v, name := range pg {
		if _, ok := lite[v]; !ok {
			t.Errorf("postgres/migrations/%s has no sqlite migration of number %d", name, v)
		}
	}
}
