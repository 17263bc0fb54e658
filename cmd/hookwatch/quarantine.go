package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/quarantine"
	"github.com/hookwatch/hookwatch/server"
)

// release is what POST /api/quarantine/release calls: rl's Release.
func release(rl *quarantine.Releaser) func(context.Context, server.ReleaseRequest) (any, error) {
	return func(ctx context.Context, req server.ReleaseRequest) (any, error) {
		return rl.Release(ctx, quarantine.Request{Filter: req.Filter, Unverified: req.Unverified, DryRun: req.DryRun, By: req.By})
	}
}

func runQuarantineList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "quarantine list", "Lists the requests that failed verification and were kept, newest first.")
	path := configFlag(fs, "for the store")
	source := fs.String("source", "", "only this source")
	reason := fs.String("reason", "", "only this reason (bad_signature, stale_timestamp, ...)")
	status := fs.String("status", "all", "held, released or all")
	since := fs.String("since", "", "only requests received since: a duration (30m, 24h, 7d) or an RFC 3339 time")
	limit := fs.Int("limit", 50, "at most this many")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := hookwatch.ParseQuarantineStatus(*status)
	if err != nil {
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
	qs, err := store.ListQuarantined(ctx, hookwatch.QuarantineFilter{Source: *source, Reason: *reason, Status: st, Since: sinceT, Limit: *limit})
	if err != nil {
		return err
	}
	return printList(env, *asJSON, qs, func(q *hookwatch.Quarantined) any { return server.NewQuarantined(q, false) },
		"ID\tRECEIVED\tSOURCE\tREASON\tSTATUS\tSIZE\tDETAIL", func(q *hookwatch.Quarantined) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%d\t%s", q.ID, localTime(q.ReceivedAt),
				q.Source, q.Reason, quarantineStatus(q), len(q.Body), shorten(q.Detail, 60))
		}, "no quarantined requests match")
}

func quarantineStatus(q *hookwatch.Quarantined) string {
	switch {
	case q.Released() && q.Unverified:
		return "released-unverified"
	case q.Released():
		return "released"
	}
	return "held"
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return dash(s)
	}
	return s[:n-3] + "..."
}

func runQuarantineShow(ctx context.Context, env *Env, args []string) error {
	store, id, asJSON, err := openShow(ctx, env, args, "quarantine show", "ID", "Shows one kept request: why it was rejected, its headers (credentials redacted) and body.")
	if err != nil {
		return err
	}
	defer store.Close()
	q, err := store.GetQuarantined(ctx, id)
	if err != nil {
		return err
	}
	v := server.NewQuarantined(q, true)
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(v)
	}
	w := env.Stdout
	fmt.Fprintf(w, "ID:        %s\nSource:    %s (%s)\nReceived:  %s\nReason:    %s\nDetail:    %s\n",
		q.ID, q.Source, q.Provider, q.ReceivedAt.Format(time.RFC3339Nano), q.Reason, dash(q.Detail))
	fmt.Fprintf(w, "Request:   %s %s\nSize:      %d bytes\n", dash(q.Method), dash(q.URL), len(q.Body))
	if q.Truncated {
		fmt.Fprintln(w, "Flags:     truncated (body cut to the quarantine's max_body: cannot be released)")
	}
	fmt.Fprintf(w, "Status:    %s\n", quarantineStatus(q))
	if q.Released() {
		fmt.Fprintf(w, "Released:  %s as %s by %s\n", q.ReleasedAt.Format(time.RFC3339), q.EventID, dash(q.ReleasedBy))
	}
	printHeadersAndBody(w, q.Headers, v.Body, v.BodyEncoding)
	return nil
}

func runQuarantineRelease(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "quarantine release", `Verifies kept requests again with the config's current secrets, as if they
arrived when they did (timestamp tolerances apply from the original receive
time), and stores those that pass as events with their original receive
time, routed to destinations and deduplicated like live events. Requests
that still fail stay held. Select them by ID, or with --source, --reason,
--since and --until (held requests only).

GitLab's X-Gitlab-Token (the secret itself) is kept as an HMAC under the
installation key and verified against the current secrets through it. A
request that cannot verify (its token redacted when kept by an older version)
can be released with --unverified, which stores it even though it does not
verify and records who did it and when.

Usage: hookwatch quarantine release [flags] [ID...]`)
	path := configFlag(fs, "secrets, routes and store")
	source := fs.String("source", "", "release this source's held requests")
	reason := fs.String("reason", "", "only requests rejected for this reason")
	since := fs.String("since", "", "only requests received since: a duration (30m, 24h, 7d) or an RFC 3339 time")
	until := fs.String("until", "", "only requests received before: an RFC 3339 time")
	limit := fs.Int("limit", 0, "release at most this many (0: all that match)")
	unverified := fs.Bool("unverified", false, "also release requests that still fail verification (recorded)")
	by := fs.String("by", "", "who releases, recorded on each request (default: $USER)")
	dryRun := fs.Bool("dry-run", false, "verify and report, store nothing")
	asJSON := fs.Bool("json", false, "print one JSON object per request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	now := time.Now()
	f := hookwatch.QuarantineFilter{IDs: fs.Args(), Source: *source, Reason: *reason, Limit: *limit}
	var err error
	if f.Since, err = parseSince(*since, now); err != nil {
		return err
	}
	if *until != "" {
		if f.Until, err = time.Parse(time.RFC3339, *until); err != nil {
			return hookwatch.Errorf(hookwatch.EINVALID, "--until %q: use an RFC 3339 time", *until)
		}
	}
	if len(f.IDs) == 0 && f.Source == "" && f.Reason == "" && f.Since.IsZero() && f.Until.IsZero() {
		fs.Usage()
		return fmt.Errorf("quarantine release needs IDs or --source, --reason, --since or --until: %w", errUsage)
	}
	who := *by
	if who == "" {
		who, _ = env.Getenv("USER")
		if who == "" {
			who = "unknown"
		}
	}
	cfg, store, err := openCLI(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	rl, err := newReleaser(cfg, store)
	if err != nil {
		return err
	}
	rep, err := rl.Release(ctx, quarantine.Request{Filter: f, Unverified: *unverified, By: "cli:" + who, DryRun: *dryRun})
	if rep != nil {
		if *asJSON {
			if werr := writeJSONLines(env.Stdout, rep.Results, func(r quarantine.Result) any { return r }); werr != nil && err == nil {
				err = werr
			}
		} else {
			tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSOURCE\tOUTCOME\tEVENT\tNOTE")
			for _, r := range rep.Results {
				outcome := string(r.Outcome)
				if r.Unverified {
					outcome += " (unverified)"
				}
				if *dryRun && r.Outcome == quarantine.Released {
					outcome = "would be " + outcome
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Source, outcome, dash(r.EventID), dash(r.Reason))
			}
			tw.Flush()
		}
		summary := []string{}
		for _, o := range []quarantine.Outcome{quarantine.Released, quarantine.Duplicate, quarantine.Failed, quarantine.Skipped} {
			summary = append(summary, fmt.Sprintf("%d %s", rep.Counts[o], o))
		}
		note := ""
		if *dryRun {
			note = " (dry run: nothing stored)"
		}
		fmt.Fprintf(env.Stderr, "%d matched: %s%s\n", len(rep.Results), strings.Join(summary, ", "), note)
	}
	return err
}
