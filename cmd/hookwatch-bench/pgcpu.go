package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/hookwatch/hookwatch/config"
	"github.com/jackc/pgx/v5"
)

// pgBackends names the PostgreSQL processes whose CPU an ingest run on a
// postgres:// store costs: the backends of the server under test (found by
// the application_name the bench gives its store URL) and the server-wide
// background processes (WAL writer, checkpointer, background writer,
// autovacuum), which other users of the database also wake.
type pgBackends struct {
	conn *pgx.Conn
	app  string
}

// withAppName returns a postgres:// store URL with application_name set to
// app, unless it already has one (then that one is what to look for).
func withAppName(store, app string) (string, string) {
	u, err := url.Parse(store)
	if err != nil {
		return store, ""
	}
	q := u.Query()
	if a := q.Get("application_name"); a != "" {
		return store, a
	}
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String(), app
}

func openPGBackends(store, app string) (*pgBackends, error) {
	u, err := url.Parse(store)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Del("application_name")
	q.Del("search_path")
	q.Set("application_name", "hookwatch-bench-probe")
	u.RawQuery = q.Encode()
	conn, err := pgx.Connect(context.Background(), u.String())
	if err != nil {
		return nil, err
	}
	return &pgBackends{conn: conn, app: app}, nil
}

// sample returns the CPU time so far of the server's backends and of the
// background processes, by PID (read from /proc: PostgreSQL must run on
// this machine).
func (p *pgBackends) sample() (own, bg map[int]time.Duration, err error) {
	rows, err := p.conn.Query(context.Background(),
		`SELECT pid, application_name = $1 FROM pg_stat_activity
		 WHERE application_name = $1 OR backend_type IN ('walwriter', 'checkpointer', 'background writer', 'autovacuum worker', 'autovacuum launcher')`, p.app)
	if err != nil {
		return nil, nil, err
	}
	own, bg = map[int]time.Duration{}, map[int]time.Duration{}
	var pid int32
	var mine bool
	_, err = pgx.ForEachRow(rows, []any{&pid, &mine}, func() error {
		if mine {
			own[int(pid)] = processCPU(int(pid))
		} else {
			bg[int(pid)] = processCPU(int(pid))
		}
		return nil
	})
	return own, bg, err
}

// measure samples at the start of the measured window and again after d,
// and returns a report of the CPU the backends and background processes
// took in between (a process that appeared meanwhile counts from 0).
func (p *pgBackends) measure(d time.Duration) (own, bg time.Duration, n int, err error) {
	own0, bg0, err := p.sample()
	if err != nil {
		return 0, 0, 0, err
	}
	time.Sleep(d)
	own1, bg1, err := p.sample()
	if err != nil {
		return 0, 0, 0, err
	}
	for pid, c := range own1 {
		own += c - own0[pid]
	}
	for pid, c := range bg1 {
		bg += c - bg0[pid]
	}
	return own, bg, len(own1), nil
}

func (p *pgBackends) close() { p.conn.Close(context.Background()) }

// isPostgres reports whether a store URL is PostgreSQL's, as serve reads it.
func isPostgres(store string) bool {
	kind, _, err := config.ParseStore(store)
	return err == nil && kind == "postgres"
}

// pgReport formats the PostgreSQL CPU over the measured window per accepted
// event.
func pgReport(own, bg time.Duration, backends, accepted int, window time.Duration) string {
	if accepted <= 0 {
		return "PostgreSQL CPU: no accepted event"
	}
	per := func(c time.Duration) string { return cpuShare(c/time.Duration(accepted), c, window) }
	return fmt.Sprintf("PostgreSQL CPU/event: %d backends of this server %s; background processes %s", backends, per(own), per(bg))
}
