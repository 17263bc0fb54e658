// Command hookwatch-bench measures Hookwatch on this machine: each mode
// prints the figures recorded in docs/PERFORMANCE.md. Run it from the
// repository root (it builds the hookwatch binary it measures).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// modes are the benchmarks, by name.
var modes = map[string]struct {
	summary string
	run     func(args []string) error
}{
	"ingest": {"bare net/http ceiling vs Hookwatch ingest (verify + durable commit)", runIngest},
	// bareServer is the ceiling's server process (started by ingest).
	"bare-server": {"(internal) a bare net/http server that reads the body and answers 200", runBareServer},
	"e2e":         {"ingest at fixed rates into a local sink answering 200: delivered/s, lag p50/p99; backlog drain and RSS", runE2E},
	"ordering":    {"ordered delivery per key vs unordered: events through serve to a local sink, delivered/s and CPU per event", runOrdering},
}

func main() {
	if len(os.Args) < 2 || modes[os.Args[1]].run == nil {
		fmt.Fprintln(os.Stderr, "Usage: go run ./cmd/hookwatch-bench <mode> [flags]\n\nModes:")
		names := make([]string, 0, len(modes))
		for n := range modes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(os.Stderr, "  %-12s %s\n", n, modes[n].summary)
		}
		os.Exit(2)
	}
	if err := modes[os.Args[1]].run(os.Args[2:]); err != nil {
		if err != flag.ErrHelp {
			fmt.Fprintln(os.Stderr, "hookwatch-bench:", err)
		}
		os.Exit(1)
	}
}

// buildHookwatch builds ./cmd/hookwatch into dir and returns the binary path.
func buildHookwatch(dir string) (string, error) {
	bin := filepath.Join(dir, "hookwatch")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/hookwatch")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/hookwatch (run from the repository root): %v\n%s", err, strings.TrimSpace(string(out)))
	}
	return bin, nil
}
