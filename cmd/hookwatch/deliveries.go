package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/alert"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/server"
)

// filterFlags are the delivery selection flags shared by list and replay.
type filterFlags struct {
	events                                         stringList
	source, destination, typ, status, since, until string
}

type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// filter converts the flags into a store filter, with the admin API's
// rules (server.DeliverySelection); errors name the flags.
func (f *filterFlags) filter(now time.Time) (hookwatch.DeliveryFilter, error) {
	return server.DeliverySelection{Events: f.events, Source: f.source, Destination: f.destination, Type: f.typ,
		Status: f.status, Since: f.since, Until: f.until}.Filter(now, "--")
}

func runDeliveriesList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "deliveries list", `Lists deliveries (one per event and destination), newest first.

Examples:
  hookwatch deliveries list --status dead
  hookwatch deliveries list --destination app --since 1h --json`)
	path := configFlag(fs, "for the store")
	var f filterFlags
	fs.Var(&f.events, "event", "only deliveries of this event ID (repeatable, or comma-separated)")
	fs.StringVar(&f.source, "source", "", "only events of this source")
	fs.StringVar(&f.destination, "destination", "", "only this destination")
	fs.StringVar(&f.typ, "type", "", "only this event type")
	fs.StringVar(&f.status, "status", "", "pending, succeeded or dead (default: any)")
	fs.StringVar(&f.since, "since", "", "only events received since: a duration (30m, 24h, 7d) or an RFC 3339 time")
	limit := fs.Int("limit", 50, "at most this many deliveries")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	df, err := f.filter(time.Now())
	if err != nil {
		return err
	}
	df.Limit = *limit
	cfg, store, err := openCLI(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	ds, err := store.ListDeliveries(ctx, df)
	if err != nil {
		return err
	}
	wt, err := server.LoadWaits(ctx, store, destinations(cfg), time.Now())
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONLines(env.Stdout, ds, func(d *hookwatch.Delivery) any { return server.NewDelivery(d, nil, wt.Of(d)) })
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEVENT\tDESTINATION\tSTATUS\tATTEMPTS\tNEXT/DONE\tLAST")
	for _, d := range ds {
		// A pending delivery's next attempt comes with its reason: the
		// stored time alone may be long past (circuit open, paused...).
		when := localTime(d.CompletedAt)
		if d.Status == hookwatch.DeliveryPending {
			when = wt.Of(d).Text(localTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.EventID, d.Destination, d.Status, d.Attempts,
			when, lastOutcome(d))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(ds) == 0 {
		fmt.Fprintln(env.Stderr, "no deliveries match")
	}
	return nil
}

// lastOutcome summarises a delivery's last attempt.
func lastOutcome(d *hookwatch.Delivery) string {
	switch {
	case d.Attempts == 0 && d.LastClass == "" && d.LastStatus == 0:
		return "-"
	case d.LastClass == "":
		return strconv.Itoa(d.LastStatus)
	case d.LastStatus != 0:
		return fmt.Sprintf("%s (%d)", d.LastClass, d.LastStatus)
	}
	return fmt.Sprintf("%s: %s", d.LastClass, d.LastError)
}

func runDeliveriesShow(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "deliveries show", `Shows one delivery and every attempt: time, class, HTTP status, latency and the
start of the answer. A pending delivery's next attempt is shown with what it
waits for: due, a retry time, the circuit's next probe, a pause...

Usage: hookwatch deliveries show [flags] DELIVERY_ID`)
	path := configFlag(fs, "for the store and the destinations")
	asJSON := fs.Bool("json", false, "print as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("deliveries show needs one delivery ID: %w", errUsage)
	}
	cfg, store, err := openCLI(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	d, attempts, err := store.GetDelivery(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	wt, err := server.LoadWaits(ctx, store, destinations(cfg), time.Now())
	if err != nil {
		return err
	}
	wait := wt.Of(d)
	j := server.NewDelivery(d, attempts, wait)
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(j)
	}
	w := env.Stdout
	fmt.Fprintf(w, "ID:           %s\nEvent:        %s (sent as webhook-id)\nDestination:  %s\nStatus:       %s\nAttempts:     %d\n",
		j.ID, j.EventID, j.Destination, j.Status, j.Attempts)
	if d.Status == hookwatch.DeliveryPending {
		// Never a bare time: the stored next attempt may be long past
		// while the circuit, a pause or a Retry-After holds the delivery.
		line := wait.Text(func(t time.Time) string { return t.Local().Format(time.RFC3339) })
		if n := wait.Note(); n != "" {
			line += " (" + n + ")"
		}
		fmt.Fprintf(w, "Next attempt: %s\n", line)
	}
	if j.CompletedAt != nil {
		fmt.Fprintf(w, "Completed:    %s\n", j.CompletedAt.Local().Format(time.RFC3339))
	}
	fmt.Fprintln(w, "\nAttempts:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tAT\tCLASS\tSTATUS\tLATENCY\tERROR\tANSWER")
	for _, a := range j.History {
		answer := strings.ReplaceAll(a.Response, "\n", " ")
		if len(answer) > 60 {
			answer = answer[:60] + "..."
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%.1fms\t%s\t%s\n", a.N, localTime(a.At),
			dash(a.Class), dash(strconv.Itoa(a.Status)), a.LatencyMS, dash(a.Error), dash(answer))
	}
	return tw.Flush()
}

func runDestinationsList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "destinations list", "Lists destinations: state (active, paused, disabled, circuit-open), URL and\ndeliveries by status. Destinations no longer in the config but with deliveries\nin the store are listed too: their deliveries wait, they are never dropped.")
	path := configFlag(fs, "")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	cfg, store, err := fs.parseOpen(ctx, env, args, path)
	if err != nil {
		return err
	}
	defer store.Close()
	infos, err := deliver.ListDestinations(ctx, store, destinations(cfg))
	if err != nil {
		return err
	}
	now := time.Now()
	if *asJSON {
		return writeJSONLines(env.Stdout, infos, func(i deliver.DestinationInfo) any { return server.NewDestination(i, now) })
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPENDING\tWAITING\tDEAD\tSUCCEEDED\tURL")
	for _, i := range infos {
		j := server.NewDestination(i, now)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\n", j.Name, j.State, j.Counts["pending"], i.Waiting(now).Text(localTime),
			j.Counts["dead"], j.Counts["succeeded"], dash(j.URL))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(infos) == 0 {
		fmt.Fprintln(env.Stderr, "no destinations: add some under destinations: in the config")
	}
	return nil
}

func runDestinationsPause(ctx context.Context, env *Env, args []string) error {
	fs, path, err := destinationCmdFlags(env, args, "destinations pause", "Pauses a destination: nothing is sent to it, its deliveries wait (they are kept,\nnever dropped) until `hookwatch destinations resume`.")
	if err != nil {
		return err
	}
	cfg, store, err := openCLI(ctx, env, path)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := deliver.SetPaused(ctx, store, destinations(cfg), fs.Arg(0), true, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "destination %s paused\n", fs.Arg(0))
	return nil
}

func runDestinationsResume(ctx context.Context, env *Env, args []string) error {
	fs, path, err := destinationCmdFlags(env, args, "destinations resume", `Resumes a paused destination, or one disabled because it answered 410 Gone,
and probes it at once (see hookwatch destinations probe): when the app answers,
the circuit is closed and the waiting deliveries flow now, not at the next
scheduled probe. The probe's outcome is printed; a failed probe leaves the
destination resumed, its circuit as it was.`)
	if err != nil {
		return err
	}
	return probeCmd(ctx, env, path, fs.Arg(0), true)
}

func runDestinationsProbe(ctx context.Context, env *Env, args []string) error {
	fs, path, err := destinationCmdFlags(env, args, "destinations probe", `Tries a destination now, whatever its circuit breaker says: sends its oldest
due delivery (signed, recorded and counted like any attempt) and prints the
answer. If the app is up (2xx, or a 4xx about the payload), the circuit is
closed and the app's Retry-After wait ended, in the store: the running server
sends the backlog within a second, instead of at its next scheduled probe.
Exits with status 1 when the app is still down.`)
	if err != nil {
		return err
	}
	return probeCmd(ctx, env, path, fs.Arg(0), false)
}

// destinationCmdFlags parses the flags of a command that takes one
// destination name.
func destinationCmdFlags(env *Env, args []string, name, desc string) (*flagSet, string, error) {
	fs := newFlags(env, name, desc+"\n\nUsage: hookwatch "+name+" [flags] NAME")
	path := configFlag(fs, "")
	if err := fs.Parse(args); err != nil {
		return nil, "", err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return nil, "", fmt.Errorf("%s needs one destination name: %w", name, errUsage)
	}
	return fs, *path, nil
}

// probeCmd probes destination name from this process (resuming it first
// when resume is set) and prints the outcome. The attempt goes through the
// delivery engine's own path, its failures into issues.
func probeCmd(ctx context.Context, env *Env, path, name string, resume bool) error {
	cfg, store, err := openCLI(ctx, env, path)
	if err != nil {
		return err
	}
	defer store.Close()
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	recorder := alert.NewRecorder(store, logger)
	defer recorder.Close()
	// Never started: it only probes. The owner names the CLI in leases.
	eng, err := deliver.New(deliver.Options{Store: store, Destinations: destinations(cfg),
		Owner: hookwatch.NewID("cli", time.Now()), Logger: logger, Observer: recorder})
	if err != nil {
		return hookwatch.Errorf(hookwatch.EINVALID, "%v", err)
	}
	var res *deliver.ProbeResult
	if resume {
		res, err = eng.Resume(ctx, name)
		if res != nil || err == nil {
			fmt.Fprintf(env.Stdout, "destination %s resumed\n", name)
		}
	} else {
		res, err = eng.Probe(ctx, name)
	}
	if res != nil {
		printProbe(env.Stdout, res)
	}
	if err != nil {
		return err
	}
	if !resume && res.Sent && !res.AppUp() {
		return hookwatch.Errorf(hookwatch.EUNAVAILABLE, "destination %s is still down", name)
	}
	return nil
}

// printProbe says what a probe did, in words.
func printProbe(w io.Writer, r *deliver.ProbeResult) {
	at := func(t time.Time) string { return t.Local().Format(time.RFC3339) }
	if !r.Sent {
		fmt.Fprintf(w, "probe: no delivery of %s is due now, nothing was sent", r.Destination)
		if r.Pending > 0 {
			fmt.Fprintf(w, " (%d pending are in flight or wait for a later retry time; `hookwatch replay --destination %s --status pending` makes them due now)",
				r.Pending, r.Destination)
		}
		fmt.Fprintln(w)
	} else {
		answer := "HTTP " + strconv.Itoa(r.Status)
		if r.Status == 0 {
			answer = "no answer"
		}
		fmt.Fprintf(w, "probe: sent delivery %s (event %s): %s in %.1fms", r.DeliveryID, r.EventID, answer, r.LatencyMS)
		switch {
		case r.Class == hookwatch.ClassNone:
			fmt.Fprintln(w, ": delivered")
		case r.Error == "" || r.Error == "HTTP "+strconv.Itoa(r.Status):
			fmt.Fprintf(w, " (%s)\n", r.Class)
		default:
			fmt.Fprintf(w, " (%s): %s\n", r.Class, r.Error)
		}
		switch {
		case r.Outcome == hookwatch.OutcomeDead:
			fmt.Fprintln(w, "the delivery is dead: its retry policy gave up (`hookwatch replay` sends it again)")
		case r.Outcome == hookwatch.OutcomeRetry && r.Circuit == hookwatch.CircuitClosed:
			fmt.Fprintf(w, "the delivery is due again at %s\n", at(r.NextAttemptAt))
		case r.Outcome == hookwatch.OutcomeRetry:
			fmt.Fprintln(w, "the delivery waits with the rest for the circuit")
		}
	}
	switch {
	case r.AppUp():
		fmt.Fprintf(w, "circuit closed: the app is up; the waiting deliveries are being sent (a running server takes this from the store within a second)\n")
	case r.Circuit == hookwatch.CircuitOpen || r.Circuit == hookwatch.CircuitHalfOpen:
		fmt.Fprintf(w, "circuit still open until %s (its next scheduled probe)\n", at(r.ProbeAt))
	default:
		fmt.Fprintf(w, "circuit %s\n", r.Circuit)
	}
}

func runReplay(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "replay", `Re-queues deliveries so they are sent again, with the same webhook-id (the app can
dedupe). Select by event ID (arguments or --event) or by filter; without event IDs
only dead deliveries are selected unless --status says otherwise. Deliveries in
flight are left alone. --rate spreads the replay so a large one does not flatten
the app. Every replay is recorded (who, when, filter, count).

Usage: hookwatch replay [flags] [EVENT_ID...]

Examples:
  hookwatch replay --destination app --since 24h --dry-run
  hookwatch replay --destination app --since 24h --rate 20
  hookwatch replay evt_01JD...`)
	path := configFlag(fs, "")
	var f filterFlags
	fs.Var(&f.events, "event", "event ID to replay (repeatable, or comma-separated)")
	fs.StringVar(&f.source, "source", "", "only events of this source")
	fs.StringVar(&f.destination, "destination", "", "only this destination")
	fs.StringVar(&f.typ, "type", "", "only this event type")
	fs.StringVar(&f.status, "status", "", "pending, succeeded, dead or any (default: dead, or any with event IDs)")
	fs.StringVar(&f.since, "since", "", "only events received since: a duration (30m, 24h, 7d) or an RFC 3339 time")
	fs.StringVar(&f.until, "until", "", "only events received before: a duration back from now or an RFC 3339 time")
	rate := fs.Float64("rate", 50, "deliveries per second at most (0: all at once)")
	dry := fs.Bool("dry-run", false, "only count what would be replayed")
	asJSON := fs.Bool("json", false, "print the replay record as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, a := range fs.Args() {
		f.events.Set(a)
	}
	if f.status == "" && len(f.events) == 0 {
		f.status = "dead"
	}
	now := time.Now()
	df, err := f.filter(now)
	if err != nil {
		return err
	}
	if *rate < 0 {
		return hookwatch.Errorf(hookwatch.EINVALID, "--rate must not be negative")
	}
	_, store, err := openCLI(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	actor := "cli"
	if u, ok := env.Getenv("USER"); ok && u != "" {
		actor = "cli:" + u
	}
	rep, err := store.ReplayDeliveries(ctx, hookwatch.ReplayRequest{Filter: df, Actor: actor, Now: now, Rate: *rate, DryRun: *dry})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(rep)
	}
	if *dry {
		fmt.Fprintf(env.Stdout, "%d deliveries would be replayed (dry run: nothing changed)\n", rep.Count)
		return nil
	}
	fmt.Fprintf(env.Stdout, "replayed %d deliveries (replay %s)", rep.Count, rep.ID)
	if *rate > 0 && rep.Count > 1 {
		fmt.Fprintf(env.Stdout, ", spread over %s at %g/s", (time.Duration(float64(rep.Count-1) / *rate * float64(time.Second))).Round(time.Second), *rate)
	}
	fmt.Fprintln(env.Stdout)
	return nil
}
