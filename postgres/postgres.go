// Package postgres is Hookwatch's store for several instances sharing one
// PostgreSQL database: the same contract as the SQLite store (it passes the
// storetest suite), with ingest batches written in a single statement,
// migrations serialised by an advisory lock, LISTEN/NOTIFY wake-ups and an
// advisory-lock leader for periodic jobs.
//
// The connection URL is a libpq-style postgres:// URL. Parameters pgx does
// not know are sent to the server as settings, so ?search_path=hookwatch
// puts Hookwatch's tables in their own schema (which must exist).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is the PostgreSQL implementation of hookwatch.Store. It is safe for
// concurrent use, and several processes may use one database at once.
type Store struct {
	pool   *pgxpool.Pool
	schema string // current_schema() of the pool's connections
	now    func() time.Time
	bg     background // wake-ups
	// cipher seals events' and quarantined requests' payloads (nil:
	// plaintext); see encrypt.go.
	cipher *encrypt.Cipher
	// subjectKey caches the installation key for sealing subjects
	// (storedSubjectKey); cleared when a key is imported.
	subjectKey atomic.Pointer[[]byte]
	// noKeyCheck skips checkKeys at Open (WithoutKeyCheck: store copy).
	noKeyCheck bool
}

var _ hookwatch.Store = (*Store)(nil)

// Open connects to the database at url, applies pending migrations (one
// process at a time, under an advisory lock) and returns the store.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	s, err := connect(ctx, url)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(s)
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.checkKeys(ctx); err != nil {
		s.Close()
		return nil, err
	}
	// Made now, before the first request is quarantined.
	if _, err := s.InstallationKey(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenNoMigrate connects without applying migrations, for `hookwatch
// migrate`, which applies them itself and reports what it did.
func OpenNoMigrate(ctx context.Context, url string) (*Store, error) {
	return connect(ctx, url)
}

func connect(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "postgres: invalid connection URL")
	}
	// An acknowledged event must be on disk: a server or role configured
	// with synchronous_commit=off would break that, unless the URL insists.
	if _, ok := cfg.ConnConfig.RuntimeParams["synchronous_commit"]; !ok {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "hookwatch"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, unavailable("connect", err)
	}
	s := &Store{pool: pool, now: time.Now}
	s.bg.ctx, s.bg.cancel = context.WithCancel(context.Background())
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, unavailable("connect", err)
	}
	if schema == nil {
		pool.Close()
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "postgres: no schema of the search_path exists (create it first)")
	}
	s.schema = *schema
	return s, nil
}

// Close stops the wake-ups and closes the pool; in-flight queries finish
// first.
func (s *Store) Close() error {
	s.bg.mu.Lock()
	s.bg.cancel()
	s.bg.mu.Unlock()
	s.bg.wg.Wait()
	s.pool.Close()
	return nil
}

// Ping checks that the database answers and accepts writes (it is not a
// read-only standby).
func (s *Store) Ping(ctx context.Context) error {
	var recovery, migrated bool
	if err := s.pool.QueryRow(ctx, `SELECT pg_is_in_recovery(), EXISTS (SELECT 1 FROM schema_migrations)`).Scan(&recovery, &migrated); err != nil {
		return unavailable("ping", err)
	}
	if recovery {
		return &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store unreachable", Err: errors.New("postgres: ping: database is a read-only standby")}
	}
	return nil
}

// lockKey is the SQL expression of an advisory lock key for name, scoped to
// the schema so that installations sharing a database do not contend.
const lockKey = `hashtextextended('hookwatch/' || $1 || '/' || current_schema(), 0)`

// Retryable SQLSTATE classes and codes: the same request may succeed later.
func retryable(code string) bool {
	switch code {
	case "40001", "40P01", // serialization failure, deadlock
		"55P03",                   // lock not available
		"25006",                   // read-only transaction (a failover in progress)
		"57P01", "57P02", "57P03": // shutdown, crash shutdown, cannot connect now
		return true
	}
	switch code[:2] {
	case "08", // connection exception
		"53", // insufficient resources: disk full, out of memory, too many connections
		"58": // system error: I/O
		return true
	}
	return false
}

// storeError classifies a failed operation: failures that may pass on retry
// (connection lost, disk full, deadlock, timeout) are EUNAVAILABLE, so
// ingest answers 503 and the provider retries; the rest are EINTERNAL.
func storeError(op string, err error) error {
	// An error that already says what is wrong (a row that does not
	// decrypt, naming the key it needs) keeps its code and message.
	if he := (*hookwatch.Error)(nil); errors.As(err, &he) {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	code := hookwatch.EINTERNAL
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe):
		if retryable(pe.Code) {
			code = hookwatch.EUNAVAILABLE
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		pgconn.Timeout(err), pgconn.SafeToRetry(err):
		code = hookwatch.EUNAVAILABLE
	default:
		// No server error: the connection failed (refused, reset, closed
		// pool). Whatever was in flight did not commit, or committed and
		// a retry will be absorbed by dedupe.
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) || errors.Is(err, pgx.ErrTxClosed) || isConnError(err) {
			code = hookwatch.EUNAVAILABLE
		}
	}
	return &hookwatch.Error{Code: code, Message: "store cannot commit", Err: fmt.Errorf("postgres: %s: %w", op, err)}
}

// isConnError reports a network-level failure without a server error.
func isConnError(err error) bool {
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) {
		return true // a net.Error
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "closed pool") ||
		strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "unexpected EOF")
}

// unavailable wraps a failure to reach the database.
func unavailable(op string, err error) error {
	if e := storeError(op, err); hookwatch.ErrorCode(e) == hookwatch.EUNAVAILABLE {
		return e
	}
	return &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store unreachable", Err: fmt.Errorf("postgres: %s: %w", op, err)}
}
