package sqlq

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered schema change: a file named
// NNNN_what_it_does.sql whose number orders it and is recorded once it is
// applied. Both stores have the same numbers for the same change.
type Migration struct {
	Version int
	Name    string // the file's name, 0001_events.sql
	SQL     string
}

// Migrations reads the migrations in dir of fsys (an embed.FS of
// migrations/*.sql), ordered by number. A file whose name does not start
// with a number followed by _, or two files with the same number, are an
// error naming them: a number recorded as applied would otherwise hide the
// second file for ever.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var ms []Migration
	seen := map[int]string{}
	for _, f := range files {
		name := path.Base(f)
		num, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and _ (0012_what.sql)", name)
		}
		if other, dup := seen[version]; dup {
			return nil, fmt.Errorf("migrations %s and %s have the same number: renumber one", other, name)
		}
		seen[version] = name
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		ms = append(ms, Migration{Version: version, Name: name, SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate applies, in order, each of ms that applied reports as not yet
// applied, and returns the names of those it applied. apply runs one
// migration and records its version in the same transaction, so that a
// failure leaves neither; Migrate stops at the first error and returns it
// as it is (the store has already said what failed), with what it applied
// before it. Serialising concurrent runners is the store's business (a
// lock, or a single writer).
func Migrate(ctx context.Context, ms []Migration, applied func(ctx context.Context, version int) (bool, error),
	apply func(ctx context.Context, m Migration) error) ([]string, error) {
	var names []string
	for _, m := range ms {
		done, err := applied(ctx, m.Version)
		if err != nil {
			return names, err
		}
		if done {
			continue
		}
		if err := apply(ctx, m); err != nil {
			return names, err
		}
		names = append(names, m.Name)
	}
	return names, nil
}
