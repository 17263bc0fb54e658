package main

import (
	"context"
	"fmt"
)

func runConfigCheck(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "config check", "Validates the config file: every problem is listed with its line and what to fix.")
	path := configFlag(fs, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(env, *path)
	if err != nil {
		return err
	}
	// The transform files are part of the config: each must load.
	if err := withTransforms(cfg, destinations(cfg)); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s is valid: %d source(s), store %s\n", *path, len(cfg.Sources), storeKind(cfg.Store))
	return nil
}

func runConfigShow(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "config show", "Prints the effective config (defaults filled in, ${ENV} expanded) with every secret redacted.")
	path := configFlag(fs, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(env, *path)
	if err != nil {
		return err
	}
	out, err := cfg.Redacted()
	if err != nil {
		return err
	}
	_, err = env.Stdout.Write(out)
	return err
}
