package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/readiness"
)

// unknownOnPostgres is why the free space of a PostgreSQL store is not
// reported: its disk is the database server's.
const unknownOnPostgres = "the store is PostgreSQL, whose disk is the database server's and not visible from Hookwatch: watch it there"

// storeReadiness checks the store once from the CLI: a write probe and the
// free space. The server's last commit is not known here: /readyz has it.
func storeReadiness(ctx context.Context, cfg *config.Config, store hookwatch.Store) readiness.Status {
	w := newReadiness(cfg, store, nil, nil)
	w.Check(ctx)
	return w.Status()
}

// printReadiness prints the store's readiness for `hookwatch health`.
func printReadiness(out io.Writer, st readiness.Status) {
	if st.Ready {
		fmt.Fprintln(out, "Store:   ready (write probe passed)")
	} else {
		fmt.Fprintln(out, "Store:   NOT READY")
		for _, p := range st.Problems {
			fmt.Fprintf(out, "  %s: %s\n", p.Reason, p.Message)
		}
	}
	fmt.Fprintf(out, "Volume:  %s\n", st.Storage.Summary())
	if st.Storage.Store != nil {
		fmt.Fprintf(out, "Size:    %s\n", st.Storage.Store.Summary())
	}
	fmt.Fprintln(out)
}
