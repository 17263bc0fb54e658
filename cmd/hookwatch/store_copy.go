package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/postgres"
	"github.com/hookwatch/hookwatch/sqlite"
)

func runStoreCopy(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "store copy", `Copies an installation's store into PostgreSQL: events (with their dedupe
memory), deliveries with their attempts, destination states, replay records,
purge and erasure records, the quarantine with the installation key its
GitLab tokens and erased subjects are sealed under (the destination's own
key is replaced), dashboard users with their API
tokens, issues (with their comments and most recent failures), and alert
state: alert states, the notification outbox and history, and silences, so
that the copy's evaluator knows what was already sent and neither sends it
again nor loses its issue.
IDs and times are kept; rows already in the destination are skipped, so an
interrupted copy is resumed by running it again. Every page is verified by
counting it in the destination. Stop the instances using --from first: what
changes in it during the copy is not copied.

Encrypted rows are carried as they are: an event or quarantined request
sealed under a key is written into the destination with the same ciphertext
and key ID (it stays valid there: it is bound to its table and ID, which the
copy keeps), and plaintext rows stay plaintext. Nothing is decrypted, so the
copy needs no keys; the destination records the key IDs its rows use and
then opens only with encryption.keys that include them. To encrypt the
plaintext rows, or move everything to a new key, run hookwatch store
rotate-key on the destination afterwards. Dedupe keys and their horizons
are read from the source store, never derived from the bodies again.

Not copied: dashboard sessions (users sign in again), the evaluator lease,
failures older than the most recent 1000 of each issue (issue counts are kept),
and on SQLite the dedupe keys that outlive events already removed by retention,
purge or erasure (dedupe_kept).

Example: hookwatch store copy --from sqlite:./data/hookwatch.db --to postgres://user@host/db`)
	from := fs.String("from", "", "source store: sqlite:PATH or postgres://...")
	to := fs.String("to", "", "destination store: postgres://...")
	// Accepted so that scripts written for earlier versions keep working.
	fs.String("config", "", "no longer needed: dedupe keys and horizons come from the source store, and encrypted rows are copied without their keys")
	batch := fs.Int("batch", 500, "rows per transaction")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		fs.Usage()
		return fmt.Errorf("store copy needs --from and --to: %w", errUsage)
	}
	kind, target, err := config.ParseStore(*to)
	if err != nil || kind != "postgres" {
		return hookwatch.Errorf(hookwatch.EINVALID, "--to must be a postgres:// URL")
	}
	if *batch < 1 {
		*batch = 500
	}
	// Neither store opens a sealed row: they are read and written as
	// stored, so neither needs the keys (nor checks them).
	src, exp, err := openCopySource(ctx, *from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, target, postgres.WithoutKeyCheck())
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	defer dst.Close()

	// The installation key first: the quarantine's seals are made with it.
	key, err := src.InstallationKey(ctx)
	if err != nil {
		return fmt.Errorf("store copy: read the installation key: %w", err)
	}
	replaced, err := dst.ImportInstallationKey(ctx, key)
	if err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	if replaced {
		// Opening the destination made it a key of its own; that matters
		// only if it already quarantined requests under it.
		own, err := dst.ListQuarantined(ctx, hookwatch.QuarantineFilter{Limit: 1})
		if err != nil {
			return fmt.Errorf("store copy: read the destination's quarantine: %w", err)
		}
		if len(own) > 0 {
			fmt.Fprintln(env.Stderr, "warning: the destination's installation key was replaced by the copied one: GitLab requests it had quarantined itself can now only be released --unverified")
		}
	}

	// Events, newest first (the listing order), a page per transaction.
	var read, copied int
	for before := ""; ; {
		page, err := exp.ExportEvents(ctx, before, *batch)
		if err != nil {
			return fmt.Errorf("store copy: read events: %w", err)
		}
		if len(page) == 0 {
			break
		}
		n, err := dst.ImportEvents(ctx, page)
		if err != nil {
			return fmt.Errorf("store copy: events: %w", err)
		}
		ids := make([]string, len(page))
		for i, e := range page {
			ids[i] = e.Event.ID
		}
		present, _, err := dst.CountPresent(ctx, "events", ids)
		if err != nil {
			return fmt.Errorf("store copy: verify events: %w", err)
		}
		if present != len(page) {
			return fmt.Errorf("store copy: verify events: %d of %d events before %s are in the destination", present, len(page), before)
		}
		read, copied = read+len(page), copied+n
		before = page[len(page)-1].Event.ID
		fmt.Fprintf(env.Stderr, "events: %d read, %d copied, %d already there\n", read, copied, read-copied)
	}
	eventsRead, eventsCopied := read, copied

	// Deliveries and their attempts.
	read, copied = 0, 0
	var attemptsRead int
	for before := ""; ; {
		page, err := src.ListDeliveries(ctx, hookwatch.DeliveryFilter{Before: before, Limit: *batch})
		if err != nil {
			return fmt.Errorf("store copy: read deliveries: %w", err)
		}
		if len(page) == 0 {
			break
		}
		attempts := make([][]*hookwatch.StoredAttempt, len(page))
		ids := make([]string, len(page))
		pageAttempts := 0
		for i, d := range page {
			if attempts[i], err = exp.ExportAttempts(ctx, d.ID); err != nil {
				return fmt.Errorf("store copy: read attempts: %w", err)
			}
			ids[i] = d.ID
			pageAttempts += len(attempts[i])
		}
		n, err := dst.ImportDeliveries(ctx, page, attempts)
		if err != nil {
			return fmt.Errorf("store copy: deliveries: %w", err)
		}
		present, presentAttempts, err := dst.CountPresent(ctx, "deliveries", ids)
		if err != nil {
			return fmt.Errorf("store copy: verify deliveries: %w", err)
		}
		if present != len(page) || presentAttempts != pageAttempts {
			return fmt.Errorf("store copy: verify deliveries: %d of %d deliveries and %d of %d attempts before %s are in the destination",
				present, len(page), presentAttempts, pageAttempts, before)
		}
		read, copied, attemptsRead = read+len(page), copied+n, attemptsRead+pageAttempts
		before = page[len(page)-1].ID
		fmt.Fprintf(env.Stderr, "deliveries: %d read, %d copied, %d already there (%d attempts)\n", read, copied, read-copied, attemptsRead)
	}

	states, err := src.DestinationStates(ctx)
	if err != nil {
		return fmt.Errorf("store copy: read destination states: %w", err)
	}
	if err := dst.ImportDestinationStates(ctx, states); err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	replays, err := src.ListReplays(ctx, 1<<30)
	if err != nil {
		return fmt.Errorf("store copy: read replays: %w", err)
	}
	if err := dst.ImportReplays(ctx, replays); err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	purges, err := src.ListPurges(ctx, 1<<30)
	if err != nil {
		return fmt.Errorf("store copy: read purge records: %w", err)
	}
	if err := dst.ImportPurges(ctx, purges); err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	var kept, keptCopied int
	for before := ""; ; {
		page, err := exp.ExportQuarantined(ctx, before, *batch)
		if err != nil {
			return fmt.Errorf("store copy: read quarantine: %w", err)
		}
		if len(page) == 0 {
			break
		}
		n, err := dst.ImportQuarantined(ctx, page)
		if err != nil {
			return fmt.Errorf("store copy: %w", err)
		}
		kept, keptCopied = kept+len(page), keptCopied+n
		before = page[len(page)-1].Quarantined.ID
	}
	users, err := src.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("store copy: read users: %w", err)
	}
	tokens, err := src.ListAPITokens(ctx)
	if err != nil {
		return fmt.Errorf("store copy: read tokens: %w", err)
	}
	if err := dst.ImportUsers(ctx, users, tokens); err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	issues, issuesCopied, err := copyIssues(ctx, src, dst)
	if err != nil {
		return err
	}
	alertStates, err := src.AlertStates(ctx)
	if err != nil {
		return fmt.Errorf("store copy: read alert states: %w", err)
	}
	// The whole history: it tells the copy's evaluator what was sent
	// (grouping, cooldowns) and the dashboard shows it.
	history, err := src.ListNotifications(ctx, hookwatch.NotificationFilter{Limit: 1 << 30})
	if err != nil {
		return fmt.Errorf("store copy: read alert history: %w", err)
	}
	silences, err := src.ListSilences(ctx, time.Time{})
	if err != nil {
		return fmt.Errorf("store copy: read silences: %w", err)
	}
	if err := dst.ImportAlerts(ctx, alertStates, history, silences); err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	fmt.Fprintf(env.Stdout, "copied %d of %d events (%d already there), %d of %d deliveries (%d already there) with %d attempts, %d destination states, %d replay records, %d purge and erasure records, %d of %d quarantined requests, %d users, %d API tokens, %d of %d issues, %d alert states, %d notifications, %d silences; verified: all %d events and %d deliveries are in the destination\n",
		eventsCopied, eventsRead, eventsRead-eventsCopied, copied, read, read-copied, attemptsRead, len(states), len(replays), len(purges),
		keptCopied, kept, len(users), len(tokens), issuesCopied, issues, len(alertStates), len(history), len(silences), eventsRead, read)
	return nil
}

// copyStore is what store copy reads: a store, and its rows as stored.
type copyStore interface {
	hookwatch.Store
	hookwatch.Exporter
}

// openCopySource opens the store to copy without its encryption keys: its
// sealed rows are exported as they are, never opened.
func openCopySource(ctx context.Context, from string) (hookwatch.Store, hookwatch.Exporter, error) {
	kind, loc, err := config.ParseStore(from)
	if err != nil {
		return nil, nil, hookwatch.Errorf(hookwatch.EINVALID, "store: %v", err)
	}
	var s copyStore
	switch kind {
	case "sqlite":
		s, err = sqlite.Open(ctx, loc, sqlite.WithoutKeyCheck())
	case "postgres":
		s, err = postgres.Open(ctx, loc, postgres.WithoutKeyCheck())
	default:
		return nil, nil, hookwatch.Errorf(hookwatch.EINVALID, "store: %s is not supported by this build yet", kind)
	}
	if err != nil {
		return nil, nil, storeOpenError(from, kind, loc, err)
	}
	return s, s, nil
}

// issueFailuresCopied is how many of an issue's most recent failures a copy
// takes: enough for its page and for every window alerts read, without
// holding a storm's million rows in memory.
const issueFailuresCopied = 1000

// copyIssues copies every issue with its comments and most recent
// failures, and returns how many were read and how many were new.
func copyIssues(ctx context.Context, src hookwatch.Store, dst *postgres.Store) (read, copied int, err error) {
	list, err := src.ListIssues(ctx, hookwatch.IssueFilter{Limit: 1 << 30})
	if err != nil {
		return 0, 0, fmt.Errorf("store copy: read issues: %w", err)
	}
	for _, i := range list {
		full, err := src.GetIssue(ctx, i.ID)
		if err != nil {
			return read, copied, fmt.Errorf("store copy: read issue %s: %w", i.ID, err)
		}
		fs, err := src.IssueFailures(ctx, i.ID, issueFailuresCopied)
		if err != nil {
			return read, copied, fmt.Errorf("store copy: read failures of %s: %w", i.ID, err)
		}
		n, err := dst.ImportIssues(ctx, []*hookwatch.Issue{full}, map[string][]hookwatch.Failure{i.ID: fs})
		if err != nil {
			return read, copied, fmt.Errorf("store copy: %w", err)
		}
		read, copied = read+1, copied+n
	}
	return read, copied, nil
}
