package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/readiness"
	"github.com/hookwatch/hookwatch/sqlite"
)

// vacuumReport is `hookwatch store vacuum --json`'s answer.
type vacuumReport struct {
	Path string `json:"path"`
	// AutoVacuumBefore and After are the file's auto_vacuum mode.
	AutoVacuumBefore string `json:"auto_vacuum_before"`
	AutoVacuumAfter  string `json:"auto_vacuum_after"`
	// BytesBefore and After are the file's size (database and WAL).
	BytesBefore int64   `json:"bytes_before"`
	BytesAfter  int64   `json:"bytes_after"`
	Seconds     float64 `json:"seconds"`
}

func runStoreVacuum(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "store vacuum", `Rebuilds a SQLite store's file with auto_vacuum=INCREMENTAL and gives its
free pages back to the file system. Files created by this version already use
it: retention then shrinks the file after each pass (incremental_vacuum).
A file created before needs this once; until then SQLite reuses the space
that retention frees for new events, but the file never shrinks.

Stop hookwatch serve first: the rebuild holds the store's writer for its whole
run (about a minute per few GiB). It needs about twice the store's used size
free on its volume (a temporary copy, then the WAL), and says so before
starting when there is less. Progress is printed every second.
PostgreSQL needs nothing of this: its autovacuum reuses the space.`)
	path := configFlag(fs, "its store is vacuumed")
	store := fs.String("store", "", "store to vacuum instead of the config's: sqlite:PATH")
	asJSON := fs.Bool("json", false, "print the outcome as one JSON object (no progress lines)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	loc := *store
	if loc == "" {
		cfg, err := loadConfig(env, *path)
		if err != nil {
			return err
		}
		loc = cfg.Store
	}
	kind, target, err := config.ParseStore(loc)
	if err != nil {
		return hookwatch.Errorf(hookwatch.EINVALID, "store: %v", err)
	}
	if kind != "sqlite" {
		return hookwatch.Errorf(hookwatch.EINVALID, "store vacuum is for SQLite stores; PostgreSQL's autovacuum reuses freed space (VACUUM FULL returns it, under an exclusive lock)")
	}
	s, err := sqlite.Open(ctx, target)
	if err != nil {
		return err
	}
	defer s.Close()
	rep := vacuumReport{Path: target}
	if rep.AutoVacuumBefore, err = s.AutoVacuum(ctx); err != nil {
		return err
	}
	before, err := s.StoreSize(ctx)
	if err != nil {
		return err
	}
	rep.BytesBefore = before.Bytes
	var free *int64
	if space := readiness.VolumeSpace(filepath.Dir(target)); space != nil {
		if sp, err := space(); err == nil {
			free = &sp.Free
		}
	}
	var progress func(sqlite.VacuumProgress)
	if !*asJSON {
		fmt.Fprintf(env.Stdout, "vacuuming %s: %s in use, auto_vacuum %s\n", target, readiness.FormatBytes(before.Used), rep.AutoVacuumBefore)
		progress = func(p sqlite.VacuumProgress) {
			pct := 100.0
			if p.Total > 0 {
				pct = min(100, 100*float64(p.Written)/float64(p.Total))
			}
			fmt.Fprintf(env.Stdout, "  %s of %s written (%.0f%%), %s\n", readiness.FormatBytes(p.Written), readiness.FormatBytes(p.Total), pct, p.Elapsed.Round(time.Second))
		}
	}
	start := time.Now()
	if err := s.Vacuum(ctx, free, progress); err != nil {
		return err
	}
	rep.Seconds = time.Since(start).Seconds()
	if rep.AutoVacuumAfter, err = s.AutoVacuum(ctx); err != nil {
		return err
	}
	after, err := s.StoreSize(ctx)
	if err != nil {
		return err
	}
	rep.BytesAfter = after.Bytes
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(rep)
	}
	fmt.Fprintf(env.Stdout, "done in %.1fs: %s -> %s, auto_vacuum %s\n", rep.Seconds, readiness.FormatBytes(rep.BytesBefore),
		readiness.FormatBytes(rep.BytesAfter), rep.AutoVacuumAfter)
	return nil
}
