package main

import (
	"context"
	"fmt"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/postgres"
	"github.com/hookwatch/hookwatch/sqlite"
)

func runMigrate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "migrate", `Applies the store's pending schema migrations and prints what it applied.
serve applies them too when it starts (one instance at a time, under a lock);
run this first when you want the schema change to happen at a time you choose.`)
	path := configFlag(fs, "its store is migrated")
	store := fs.String("store", "", "store to migrate instead of the config's: sqlite:PATH or postgres://...")
	if err := fs.Parse(args); err != nil {
		return err
	}
	loc := *store
	var enc config.Encryption
	if loc == "" {
		cfg, err := loadConfig(env, *path)
		if err != nil {
			return err
		}
		loc, enc = cfg.Store, cfg.Encryption
	}
	// The SQLite store checks at open that it has the keys its rows need.
	cipher, err := newCipher(enc)
	if err != nil {
		return err
	}
	kind, target, err := config.ParseStore(loc)
	if err != nil {
		return hookwatch.Errorf(hookwatch.EINVALID, "store: %v", err)
	}
	switch kind {
	case "postgres":
		s, err := postgres.OpenNoMigrate(ctx, target)
		if err != nil {
			return err
		}
		defer s.Close()
		applied, err := s.Migrate(ctx)
		for _, name := range applied {
			fmt.Fprintln(env.Stdout, "applied", name)
		}
		if err != nil {
			return err
		}
		v, err := s.SchemaVersion(ctx)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintf(env.Stdout, "postgres: up to date (schema version %d)\n", v)
		} else {
			fmt.Fprintf(env.Stdout, "postgres: schema version %d\n", v)
		}
	case "sqlite":
		// The SQLite store migrates as it opens.
		s, err := sqlite.Open(ctx, target, sqlite.WithCipher(cipher))
		if err != nil {
			return err
		}
		if err := s.Close(); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "sqlite: %s is up to date\n", target)
	default:
		return hookwatch.Errorf(hookwatch.EINVALID, "store: %s is not supported", kind)
	}
	return nil
}
