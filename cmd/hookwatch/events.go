package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/server"
)

// parseSince accepts a duration back from now ("1h", "7d") or an RFC 3339
// time: the admin API's rule (server.ParseTime), so flags and query
// parameters take the same forms.
func parseSince(s string, now time.Time) (time.Time, error) {
	return server.ParseTime("--since", s, now)
}

func runEventsList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "events list", "Lists stored events, newest first.")
	path := configFlag(fs, "for the store")
	source := fs.String("source", "", "only this source")
	typ := fs.String("type", "", "only this event type")
	pid := fs.String("provider-id", "", "only the event with this provider event ID")
	since := fs.String("since", "", "only events received since: a duration (30m, 24h, 7d) or an RFC 3339 time")
	limit := fs.Int("limit", 50, "at most this many events")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sinceT, err := parseSince(*since, time.Now())
	if err != nil {
		return err
	}
	store, err := openCLIStore(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	events, err := store.ListEvents(ctx, hookwatch.EventFilter{Source: *source, Type: *typ, ProviderEventID: *pid, Since: sinceT, Limit: *limit})
	if err != nil {
		return err
	}
	return printList(env, *asJSON, events, func(e *hookwatch.Event) any { return server.NewEvent(e, false) },
		"ID\tRECEIVED\tSOURCE\tTYPE\tPROVIDER ID\tSIZE\tFLAGS", func(e *hookwatch.Event) string {
			var flags []string
			if e.Malformed {
				flags = append(flags, "malformed")
			}
			if e.Test {
				flags = append(flags, "test")
			}
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%d\t%s", e.ID, localTime(e.ReceivedAt),
				e.Source, dash(e.Type), dash(e.ProviderEventID), len(e.Body), strings.Join(flags, ","))
		}, "no events match")
}

func runEventsShow(ctx context.Context, env *Env, args []string) error {
	store, id, asJSON, err := openShow(ctx, env, args, "events show", "event ID", "Shows one event: metadata, headers (credentials redacted) and the exact body.")
	if err != nil {
		return err
	}
	defer store.Close()
	e, err := store.GetEvent(ctx, id)
	if err != nil {
		return err
	}
	j := server.NewEvent(e, true)
	fs, err := store.EventFilters(ctx, e.ID)
	if err != nil {
		return err
	}
	if len(fs) > 0 {
		j.Filtered = server.NewFiltered(fs)
	}
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(j)
	}
	w := env.Stdout
	fmt.Fprintf(w, "ID:           %s\nSource:       %s (%s)\nType:         %s\nProvider ID:  %s\nReceived:     %s\nSize:         %d bytes\n",
		j.ID, j.Source, j.Provider, dash(j.Type), dash(j.ProviderEventID), j.ReceivedAt.Format(time.RFC3339Nano), j.Size)
	if e.Malformed {
		fmt.Fprintln(w, "Flags:        malformed (signature valid, body not in the provider's format)")
	}
	if e.Test {
		fmt.Fprintln(w, "Flags:        test")
	}
	if e.Subject != "" {
		fmt.Fprintf(w, "Subject:      %s\n", e.Subject)
	}
	for i, f := range j.Filtered {
		label := "Filtered:"
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(w, "%-14s%s\n", label, f.Text)
	}
	printHeadersAndBody(w, j.Headers, j.Body, j.BodyEncoding)
	return nil
}

// openShow does what every "X show ID" command starts with: parse --config
// and --json, check for exactly one ID (what names it in the error), and
// open the store, which the caller closes.
func openShow(ctx context.Context, env *Env, args []string, name, what, description string) (store hookwatch.Store, id string, asJSON bool, err error) {
	store, id, err = openWithArg(ctx, env, args, name, what, description, &asJSON)
	return store, id, asJSON, err
}

// openWithArg parses a command that takes --config (and --json when asJSON
// is not nil) and exactly one argument, then opens the store, which the
// caller closes.
func openWithArg(ctx context.Context, env *Env, args []string, name, what, description string, asJSON *bool) (hookwatch.Store, string, error) {
	fs := newFlags(env, name, description+"\n\nUsage: hookwatch "+name+" [flags] "+strings.ToUpper(strings.ReplaceAll(what, " ", "_")))
	path := configFlag(fs, "for the store")
	if asJSON != nil {
		fs.BoolVar(asJSON, "json", false, "print as one JSON object")
	}
	if err := fs.Parse(args); err != nil {
		return nil, "", err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return nil, "", fmt.Errorf("%s needs one %s: %w", name, what, errUsage)
	}
	store, err := openCLIStore(ctx, env, *path)
	if err != nil {
		return nil, "", err
	}
	return store, fs.Arg(0), nil
}

// printHeadersAndBody prints headers sorted by name, then the body (text, or
// hex when encoding says so), for the "show" commands.
func printHeadersAndBody(w io.Writer, h http.Header, body, encoding string) {
	fmt.Fprintln(w, "\nHeaders:")
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range h[k] {
			fmt.Fprintf(w, "  %s: %s\n", k, v)
		}
	}
	fmt.Fprintln(w, "\nBody:")
	if encoding != "" {
		fmt.Fprintf(w, "  (%s, not UTF-8)\n", encoding)
	}
	fmt.Fprintln(w, body)
}
