package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/server"
)

func runEventsPurge(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "events purge", `Deletes the events received before --before (of --source and --type when
given) with their deliveries, attempts and issue samples, in small
transactions while the server runs. There is no confirmation prompt: run
with --dry-run first to see the count.

An event with a delivery still pending (waiting, retrying or in flight) is
never deleted: it is counted as skipped; purge again once it is delivered or
dead. Dedupe keys are kept until their horizon passes, so a provider retrying
a purged event is still answered as a duplicate. Every purge is recorded
(who, when, the filter, how many): see hookwatch purges list.

Examples:
  hookwatch events purge --before 2026-01-01 --dry-run
  hookwatch events purge --source stripe --type invoice.paid --before 30d`)
	path := configFlag(fs, "for the store")
	source := fs.String("source", "", "only this source")
	typ := fs.String("type", "", "only this event type")
	before := fs.String("before", "", "required: events received before a date (2026-01-01, UTC), an RFC 3339 time, or an age (30d, 12h)")
	dry := fs.Bool("dry-run", false, "only count what would be purged")
	asJSON := fs.Bool("json", false, "print the purge record as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("events purge takes no arguments (got %q): %w", fs.Arg(0), errUsage)
	}
	now := time.Now()
	cut, err := server.ParseBefore("--before", *before, now)
	if err != nil {
		return err
	}
	store, err := openCLIStore(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	p, err := store.PurgeEvents(ctx, hookwatch.PurgeRequest{Source: *source, Type: *typ, Before: cut, Actor: actor(env), Now: now, DryRun: *dry})
	if err != nil {
		if p != nil && p.Events > 0 {
			fmt.Fprintf(env.Stderr, "purged %d events before the error (purge %s)\n", p.Events, p.ID)
		}
		return err
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(p)
	}
	skipped := ""
	if p.Skipped > 0 {
		skipped = fmt.Sprintf("; %d skipped: a delivery of theirs is still pending", p.Skipped)
	}
	if *dry {
		fmt.Fprintf(env.Stdout, "%d events received before %s would be purged%s (dry run: nothing changed)\n", p.Events, cut.UTC().Format(time.RFC3339), skipped)
		return nil
	}
	fmt.Fprintf(env.Stdout, "purged %d events received before %s (purge %s)%s\n", p.Events, cut.UTC().Format(time.RFC3339), p.ID, skipped)
	return nil
}

func runErase(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "erase", `Erases a data subject (a GDPR erasure): deletes every event whose subject is
--subject, pending deliveries or not, with their deliveries, attempts and
issue samples, and the quarantined requests of that subject (those released
as one of the events, those whose subject was extracted, and those whose body
did not parse but contains the value). --provider-id erases the event(s) with
that provider event ID instead (narrow with --source).

An event's subject is the value at its source's subject path, extracted when
it was received (sources[].subject; Stripe and Paddle have defaults): events
of sources without one cannot be found by subject. On SQLite the deleted
bytes are overwritten and the WAL is truncated, so the file keeps no copy.
The erasure is recorded with a keyed hash of the value, never the value
(see hookwatch purges list). There is no confirmation prompt: run with
--dry-run first. The value is personal data: it stays in your shell's
history unless you keep it out (a leading space in bash with
HISTCONTROL=ignorespace), or use the admin API (POST /api/erase).

Examples:
  hookwatch erase --subject cus_NffrFeUfNV2Hib --dry-run
  hookwatch erase --provider-id evt_1NG8Du2eZvKYlo2C --source stripe`)
	path := configFlag(fs, "for the store")
	subject := fs.String("subject", "", "the subject whose events are erased (a customer ID, an address)")
	pid := fs.String("provider-id", "", "erase the event with this provider event ID instead")
	source := fs.String("source", "", "only in this source")
	dry := fs.Bool("dry-run", false, "only count what would be erased")
	asJSON := fs.Bool("json", false, "print the erasure record as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("erase takes no arguments (got %q; the subject goes in --subject): %w", fs.Arg(0), errUsage)
	}
	req := hookwatch.ErasureRequest{Subject: *subject, ProviderEventID: *pid, Source: *source, Actor: actor(env), Now: time.Now(), DryRun: *dry}
	if err := hookwatch.ValidateErasure(req); err != nil {
		return err
	}
	store, err := openCLIStore(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	p, err := store.EraseEvents(ctx, req)
	if err != nil {
		if p != nil && !p.DryRun && p.ID != "" {
			fmt.Fprintf(env.Stderr, "erased %d events and %d quarantined requests before the error (erasure %s)\n", p.Events, p.Quarantined, p.ID)
		}
		return err
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(p)
	}
	if *dry {
		fmt.Fprintf(env.Stdout, "%d events and %d quarantined requests would be erased (dry run: nothing changed)\n", p.Events, p.Quarantined)
		return nil
	}
	fmt.Fprintf(env.Stdout, "erased %d events and %d quarantined requests (erasure %s)\n", p.Events, p.Quarantined, p.ID)
	return nil
}

func runPurgesList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "purges list", `Lists the purges (hookwatch events purge) and erasures (hookwatch erase),
newest first: who, when, the filter and how many events and quarantined
requests went. An erasure shows the keyed hash of its subject (HMAC-SHA256
under the installation key), never the subject. Dry runs are not recorded.`)
	path := configFlag(fs, "for the store")
	limit := fs.Int("limit", 50, "at most this many records")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	_, store, err := fs.parseOpen(ctx, env, args, path)
	if err != nil {
		return err
	}
	defer store.Close()
	ps, err := store.ListPurges(ctx, *limit)
	if err != nil {
		return err
	}
	return printList(env, *asJSON, ps, asIs, "ID\tAT\tKIND\tACTOR\tEVENTS\tSKIPPED\tQUARANTINED\tFILTER", func(p *hookwatch.Purge) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s", p.ID, localTime(p.At), p.Kind, p.Actor, p.Events, p.Skipped, p.Quarantined, p.Filter.String())
	}, "no purges or erasures recorded")
}

func runReplaysList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "replays list", `Lists the replays (hookwatch replay, the admin API, the dashboard), newest
first: who, when, the filter, the rate and how many deliveries were
re-queued. Dry runs are not recorded.`)
	path := configFlag(fs, "for the store")
	limit := fs.Int("limit", 50, "at most this many records")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	_, store, err := fs.parseOpen(ctx, env, args, path)
	if err != nil {
		return err
	}
	defer store.Close()
	rs, err := store.ListReplays(ctx, *limit)
	if err != nil {
		return err
	}
	return printList(env, *asJSON, rs, asIs, "ID\tAT\tACTOR\tCOUNT\tRATE\tFILTER", func(r *hookwatch.Replay) string {
		rate := "-"
		if r.Rate > 0 {
			rate = fmt.Sprintf("%g/s", r.Rate)
		}
		return fmt.Sprintf("%s\t%s\t%s\t%d\t%s\t%s", r.ID, localTime(r.At), r.Actor, r.Count, rate, r.Filter.String())
	}, "no replays recorded")
}
