package main

import (
	"context"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
)

// configFlag declares the --config flag of a command that reads the config
// file; use says what the command reads from it ("" for the whole file).
func configFlag(fs *flagSet, use string) *string {
	usage := "config file"
	if use != "" {
		usage += " (" + use + ")"
	}
	return fs.String("config", "hookwatch.yaml", usage)
}

// openCLI loads the config at path and opens its store: the one way a
// command gets at the store (the caller closes it).
func openCLI(ctx context.Context, env *Env, path string) (*config.Config, hookwatch.Store, error) {
	cfg, err := loadConfig(env, path)
	if err != nil {
		return nil, nil, err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, store, nil
}

// openCLIStore is openCLI for commands that need only the store.
func openCLIStore(ctx context.Context, env *Env, path string) (hookwatch.Store, error) {
	_, store, err := openCLI(ctx, env, path)
	return store, err
}

// parseOpen parses args and then opens what the --config flag (path, from
// configFlag) names, as openCLI does: the start of most commands.
func (fs *flagSet) parseOpen(ctx context.Context, env *Env, args []string, path *string) (*config.Config, hookwatch.Store, error) {
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	return openCLI(ctx, env, *path)
}
