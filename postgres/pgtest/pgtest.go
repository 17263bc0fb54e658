// Package pgtest gives tests a PostgreSQL schema of their own, so that tests
// and packages running in parallel on one database never see each other's
// rows.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the environment variable naming the test database, for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvURL = "HOOKWATCH_TEST_POSTGRES"

// URL creates a new schema in the database named by $HOOKWATCH_TEST_POSTGRES
// and returns a connection URL whose search_path is that schema; the schema
// is dropped when the test ends. The test is skipped when the variable is
// not set.
func URL(t testing.TB) string {
	t.Helper()
	base := baseURL(t)
	schema, err := create(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(base, schema); err != nil {
			t.Error(err)
		}
	})
	return withSchema(t, base, schema)
}

// Reused returns, like URL, a connection URL for a schema no other test uses
// meanwhile, but the schema may be one an earlier test of this process had:
// its tables (the migrations a store applied there) are kept and emptied of
// every row, with their sequences restarted, when that test ended. Opening a
// store then skips the migrations, which cost PostgreSQL about two seconds
// per schema, most of a store test's time. A test that needs an empty schema
// (one about migrating) takes URL. The package's TestMain must end with
// Main, which drops the schemas kept.
func Reused(t testing.TB) string {
	t.Helper()
	base := baseURL(t)
	pool.mu.Lock()
	var schema string
	if n := len(pool.free); n > 0 {
		schema, pool.free = pool.free[n-1], pool.free[:n-1]
	}
	pool.mu.Unlock()
	if schema == "" {
		var err error
		if schema, err = create(base); err != nil {
			t.Fatal(err)
		}
		pool.mu.Lock()
		pool.all = append(pool.all, schema)
		pool.mu.Unlock()
	}
	t.Cleanup(func() {
		// Registered before the test opens its store, so it runs after the
		// store's own cleanup closed it.
		if err := empty(base, schema); err != nil {
			t.Error(err)
			return // not reused
		}
		pool.mu.Lock()
		pool.free = append(pool.free, schema)
		pool.mu.Unlock()
	})
	return withSchema(t, base, schema)
}

// pool holds the schemas Reused created: all of them, and those free.
var pool struct {
	mu   sync.Mutex
	all  []string
	free []string
}

// Main runs the tests and drops the schemas Reused created, then exits. It
// also runs parallel the given number of tests per CPU unless -parallel was
// given: the tests of a store on PostgreSQL wait on the server, not on this
// process's CPU. Call it from TestMain.
func Main(m *testing.M, parallelPerCPU int) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set && parallelPerCPU > 1 {
		flag.Set("test.parallel", strconv.Itoa(parallelPerCPU*runtime.GOMAXPROCS(0)))
	}
	code := m.Run()
	if base := os.Getenv(EnvURL); base != "" {
		for _, schema := range pool.all {
			if err := drop(base, schema); err != nil {
				fmt.Fprintln(os.Stderr, "pgtest:", err)
				code = 1
			}
		}
	}
	os.Exit(code)
}

func baseURL(t testing.TB) string {
	base := os.Getenv(EnvURL)
	if base == "" {
		t.Skip(EnvURL + " is not set: set it to a PostgreSQL URL (postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run this test")
	}
	return base
}

func withSchema(t testing.TB, base, schema string) string {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// exec runs sql on a connection of its own to base.
func exec(base string, what string, sql string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return fmt.Errorf("%s: %s: connect: %w", EnvURL, what, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func create(base string) (string, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "hwtest_" + hex.EncodeToString(b[:])
	return schema, exec(base, "create schema", "CREATE SCHEMA "+schema)
}

func drop(base, schema string) error {
	return exec(base, "drop schema "+schema, "DROP SCHEMA "+schema+" CASCADE")
}

// empty truncates every table of schema but the record of the migrations,
// restarting their sequences.
func empty(base, schema string) error {
	return exec(base, "empty schema "+schema, `DO $$
DECLARE tables text;
BEGIN
	SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') INTO tables
	FROM pg_tables WHERE schemaname = `+quote(schema)+` AND tablename <> 'schema_migrations';
	IF tables IS NOT NULL THEN
		EXECUTE 'TRUNCATE ' || tables || ' RESTART IDENTITY CASCADE';
	END IF;
END $$`)
}

// quote is schema as an SQL string literal (schemas are hwtest_ and hex).
func quote(schema string) string { return "'" + schema + "'" }
