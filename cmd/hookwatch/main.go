// Command hookwatch is the Hookwatch binary: it receives webhooks, stores
// them durably, delivers them, and gives operators a CLI over the store.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/hookwatch/hookwatch"
)

// command is one subcommand: "events list" is the path ["events", "list"].
type command struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// commands lists every subcommand by its path.
var commands = map[string]command{
	"serve":                   {"receive, store and deliver webhooks (the server)", runServe},
	"send":                    {"sign a payload with a source's secret and post it to the server", runSend},
	"config check":            {"validate a config file and say what to fix", runConfigCheck},
	"config show":             {"print the effective config with secrets redacted", runConfigShow},
	"events list":             {"list stored events (filters: --source, --type, --since)", runEventsList},
	"events show":             {"show one stored event with its headers and body", runEventsShow},
	"forward":                 {"post the events Hookwatch receives to your app on this machine, signed, live (--to URL)", runForward},
	"tail":                    {"print the events Hookwatch receives, live (--source, --type, --json)", runTail},
	"events purge":            {"delete events by --source, --type and --before (pending ones are kept; --dry-run first)", runEventsPurge},
	"erase":                   {"erase every event of a data subject (--subject) or one event (--provider-id), quarantine included", runErase},
	"purges list":             {"list the purge and erasure audit trail (who, when, filter, how many)", runPurgesList},
	"replays list":            {"list the replay records (who, when, filter, how many)", runReplaysList},
	"quarantine list":         {"list rejected requests kept in quarantine (filters: --source, --reason, --status)", runQuarantineList},
	"quarantine show":         {"show one quarantined request with its headers and body", runQuarantineShow},
	"quarantine release":      {"verify quarantined requests again with the current secrets and store those that pass", runQuarantineRelease},
	"migrate":                 {"apply the store's pending schema migrations", runMigrate},
	"store copy":              {"copy a store into PostgreSQL (resumable, verified by counts)", runStoreCopy},
	"store vacuum":            {"rebuild a SQLite store with auto_vacuum=INCREMENTAL and give free pages back (serve stopped)", runStoreVacuum},
	"store rotate-key":        {"re-encrypt stored payloads under the first of encryption.keys, in batches, online", runStoreRotateKey},
	"store new-key":           {"print a new encryption key and its key ID", runStoreNewKey},
	"version":                 {"print the version", runVersion},
	"health":                  {"health figures per source and destination over 1m, 5m, 1h", runHealth},
	"issues list":             {"list issues: failures grouped by source, destination and class", runIssuesList},
	"issues show":             {"show one issue with its comments", runIssuesShow},
	"issues resolve":          {"mark an issue resolved (it reopens as a regression if it recurs)", runIssuesResolve},
	"issues ignore":           {"ignore an issue", runIssuesIgnore},
	"issues ack":              {"acknowledge an issue", runIssuesAck},
	"issues reopen":           {"reopen an issue", runIssuesReopen},
	"issues priority":         {"set an issue's priority: low, medium, high", runIssuesPriority},
	"issues comment":          {"comment on an issue", runIssuesComment},
	"alerts list":             {"list alert rules and firing alerts", runAlertsList},
	"alerts history":          {"list notifications sent or failed", runAlertsHistory},
	"alerts test":             {"send a test notification to a channel", runAlertsTest},
	"sentry test":             {"send a marked test error to Sentry and print its event and trace IDs", runSentryTest},
	"sentry setup":            {"create or update Hookwatch's alert rules in a Sentry project (SENTRY_AUTH_TOKEN)", runSentrySetup},
	"deliveries list":         {"list deliveries (filters: --status, --destination, --source, --event)", runDeliveriesList},
	"deliveries show":         {"show one delivery with every attempt", runDeliveriesShow},
	"destinations list":       {"list destinations with their state and delivery counts", runDestinationsList},
	"destinations pause":      {"pause a destination: its deliveries wait", runDestinationsPause},
	"destinations resume":     {"resume a paused or disabled (410) destination and probe it at once", runDestinationsResume},
	"destinations probe":      {"send one due delivery now; if the app answers, close the circuit so the backlog flows", runDestinationsProbe},
	"transform test":          {"print the request a destination's transform makes of an event (--event) or a file (--file), without sending", runTransformTest},
	"replay":                  {"re-queue deliveries by event ID or filter (--dry-run first)", runReplay},
	"users add":               {"add a dashboard user (password from a prompt or --password-stdin)", runUsersAdd},
	"users list":              {"list dashboard users", runUsersList},
	"users remove":            {"remove a dashboard user with its sessions and API tokens", runUsersRemove},
	"tokens add":              {"create an API token for scripts (shown once)", runTokensAdd},
	"tokens list":             {"list API tokens (never the tokens themselves)", runTokensList},
	"tokens remove":           {"revoke an API token", runTokensRemove},
	"alerts silence":          {"hold back a rule's notifications for a while: RULE [--subject S] --for 2h", runAlertsSilence},
	"alerts silences":         {"list the silences in force (--all: expired ones too)", runAlertsSilences},
	"alerts unsilence":        {"remove a silence by ID", runAlertsUnsilence},
	"sources handshake":       {"say whether a handshake secret (Asana's X-Hook-Secret) is kept for a source, and since when (never the secret)", runSourcesHandshake},
	"sources reset-handshake": {"forget a source's kept handshake secret so that the next handshake's is kept", runSourcesResetHandshake},
}

// Env is what a command may touch of the outside world: main builds it from
// the process; tests build their own.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) (string, bool)
}

func main() {
	// Installed before anything that can block: SIGINT and SIGTERM cancel
	// ctx, which start-up (store connection, migrations) and serve obey.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// After the first signal the default action is back: a second
		// SIGINT or SIGTERM ends the process at once, even mid-drain.
		<-ctx.Done()
		stop()
	}()
	env := &Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.LookupEnv}
	err := Run(ctx, env, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			// An error may quote a URL (a store, a destination): its
			// credentials and query values never reach the terminal or logs.
			fmt.Fprintln(os.Stderr, "hookwatch:", hookwatch.RedactURLs(err.Error()))
		}
		os.Exit(exitCode(err))
	}
}

// exitCode maps an error to the process exit status: 2 for usage and
// invalid input, 1 for everything else.
func exitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if errors.Is(err, errUsage) || hookwatch.ErrorCode(err) == hookwatch.EINVALID {
		return 2
	}
	return 1
}

var errUsage = errors.New("see --help")

// Run runs the command named by args.
func Run(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	for _, n := range []int{2, 1} {
		if len(args) < n {
			continue
		}
		if c, ok := commands[strings.Join(args[:n], " ")]; ok {
			return c.run(ctx, env, args[n:])
		}
	}
	// A group name alone ("events") lists its subcommands.
	var sub []string
	for name := range commands {
		if strings.HasPrefix(name, args[0]+" ") {
			sub = append(sub, name)
		}
	}
	if len(sub) > 0 {
		sort.Strings(sub)
		fmt.Fprintf(env.Stderr, "hookwatch %s needs a subcommand:\n", args[0])
		for _, name := range sub {
			fmt.Fprintf(env.Stderr, "  hookwatch %-22s %s\n", name, commands[name].summary)
		}
		return errUsage
	}
	usage(env.Stderr)
	return fmt.Errorf("unknown command %q: %w", args[0], errUsage)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Hookwatch receives webhooks, verifies them, stores them durably, and
delivers them to your app with retries.

Usage: hookwatch <command> [flags]   (every command takes --help)

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-22s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, `
The config file is hookwatch.yaml unless --config says otherwise.
Start here: hookwatch serve, then hookwatch send --source stripe --file examples/stripe-invoice.json
`)
}

func runVersion(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "version", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "hookwatch", hookwatch.Version)
	return nil
}

// flagSet is a flag.FlagSet whose Parse accepts flags anywhere among the
// positional arguments, as modern CLIs do: `issues resolve ID --comment x`
// is `issues resolve --comment x ID`. "--" ends the flags: everything after
// it is positional, even when it starts with a dash.
type flagSet struct {
	*flag.FlagSet
}

// Parse moves every flag (with its value, for flags that take one) ahead of
// the positional arguments, then lets the flag package parse them, so
// errors, --help and Args behave as they always did.
func (f *flagSet) Parse(args []string) error {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		// "-" alone is a positional argument by convention (stdin).
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if strings.Contains(name, "=") {
			continue
		}
		// A flag that takes a value takes the next argument, whatever it
		// looks like (--since -1h, --comment "--"), as the flag package
		// does. Unknown flags are left for the flag package to report.
		fl := f.Lookup(name)
		if fl == nil {
			continue
		}
		if b, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if len(pos) > 0 {
		flags = append(append(flags, "--"), pos...)
	}
	return f.FlagSet.Parse(flags)
}

// newFlags returns a flag set whose --help prints a usage line, the
// description and the flags, and whose Parse accepts flags before, between
// and after the positional arguments.
func newFlags(env *Env, name, description string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		if !strings.Contains(description, "Usage: hookwatch") {
			fmt.Fprintf(env.Stderr, "Usage: hookwatch %s [flags]\n\n", name)
		}
		if description != "" {
			fmt.Fprintf(env.Stderr, "%s\n", description)
		}
		fmt.Fprintln(env.Stderr, "\nFlags (anywhere on the line; -- ends them):")
		fs.PrintDefaults()
	}
	return &flagSet{FlagSet: fs}
}
