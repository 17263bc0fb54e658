package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/server"
)

// The delivery commands register themselves here rather than in main.go's
// table, so the delivery feature stays in one file.
func init() {
	commands["deliveries list"] = command{"list deliveries (filters: --status, --destination, --source, --event)", runDeliveriesList}
	commands["deliveries show"] = command{"show one delivery with every attempt", runDeliveriesShow}
	commands["destinations list"] = command{"list destinations with their state and delivery counts", runDestinationsList}
	commands["destinations pause"] = command{"pause a destination: its deliveries wait", runDestinationsPause}
	commands["destinations resume"] = command{"resume a paused or disabled (410) destination", runDestinationsResume}
	commands["replay"] = command{"re-queue deliveries by event ID or filter (--dry-run first)", runReplay}
}

// deliveryJSON is a delivery as the CLI and admin API print it.
type deliveryJSON struct {
	ID            string        `json:"id"`
	EventID       string        `json:"event_id"`
	Destination   string        `json:"destination"`
	Status        string        `json:"status"`
	Attempts      int           `json:"attempts"`
	NextAttemptAt *time.Time    `json:"next_attempt_at,omitempty"`
	LeaseOwner    string        `json:"lease_owner,omitempty"`
	LeaseUntil    *time.Time    `json:"lease_until,omitempty"`
	LastClass     string        `json:"last_class,omitempty"`
	LastStatus    int           `json:"last_status,omitempty"`
	LastError     string        `json:"last_error,omitempty"`
	CreatedAt     time.Time     `json:"created_at"`
	QueuedAt      time.Time     `json:"queued_at"`
	CompletedAt   *time.Time    `json:"completed_at,omitempty"`
	History       []attemptJSON `json:"history,omitempty"`
}

// attemptJSON is one attempt as printed.
type attemptJSON struct {
	N                int       `json:"n"`
	At               time.Time `json:"at"`
	Class            string    `json:"class,omitempty"`
	Status           int       `json:"status,omitempty"`
	LatencyMS        float64   `json:"latency_ms"`
	Error            string    `json:"error,omitempty"`
	Response         string    `json:"response,omitempty"`
	ResponseEncoding string    `json:"response_encoding,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toDeliveryJSON(d *hookwatch.Delivery, attempts []*hookwatch.Attempt) deliveryJSON {
	j := deliveryJSON{ID: d.ID, EventID: d.EventID, Destination: d.Destination, Status: string(d.Status), Attempts: d.Attempts,
		LeaseOwner: d.LeaseOwner, LastClass: string(d.LastClass), LastStatus: d.LastStatus, LastError: d.LastError,
		CreatedAt: d.CreatedAt, QueuedAt: d.QueuedAt, CompletedAt: timePtr(d.CompletedAt)}
	if d.Status == hookwatch.DeliveryPending {
		j.NextAttemptAt = timePtr(d.NextAttemptAt)
		j.LeaseUntil = timePtr(d.LeaseUntil)
	}
	for _, a := range attempts {
		aj := attemptJSON{N: a.N, At: a.At, Class: string(a.Class), Status: a.StatusCode,
			LatencyMS: float64(a.Latency.Microseconds()) / 1000, Error: a.Error}
		aj.Response, aj.ResponseEncoding = hookwatch.TextOrHex(a.Response)
		j.History = append(j.History, aj)
	}
	return j
}

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

// filter converts the flags into a store filter.
func (f *filterFlags) filter(now time.Time) (hookwatch.DeliveryFilter, error) {
	df := hookwatch.DeliveryFilter{EventIDs: f.events, Source: f.source, Destination: f.destination, Type: f.typ}
	switch f.status {
	case "", "any", "all":
	case "pending", "succeeded", "dead":
		df.Status = hookwatch.DeliveryStatus(f.status)
	default:
		return df, hookwatch.Errorf(hookwatch.EINVALID, "--status %q: use pending, succeeded, dead or any", f.status)
	}
	var err error
	if df.Since, err = parseSince(f.since, now); err != nil {
		return df, err
	}
	if f.until != "" {
		if df.Until, err = parseSince(f.until, now); err != nil {
			return df, hookwatch.Errorf(hookwatch.EINVALID, "--until %q: use a duration back from now (30m, 24h, 7d) or an RFC 3339 time", f.until)
		}
	}
	return df, nil
}

// openDeliveryCLI loads the config and opens its store.
func openDeliveryCLI(ctx context.Context, env *Env, path string) (*config.Config, hookwatch.Store, error) {
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

func runDeliveriesList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "deliveries list", `Lists deliveries (one per event and destination), newest first.

Examples:
  hookwatch deliveries list --status dead
  hookwatch deliveries list --destination app --since 1h --json`)
	path := fs.String("config", "hookwatch.yaml", "config file (for the store)")
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
	_, store, err := openDeliveryCLI(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	ds, err := store.ListDeliveries(ctx, df)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONLines(env.Stdout, ds, func(d *hookwatch.Delivery) any { return toDeliveryJSON(d, nil) })
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEVENT\tDESTINATION\tSTATUS\tATTEMPTS\tNEXT/DONE\tLAST")
	for _, d := range ds {
		when := d.CompletedAt
		if d.Status == hookwatch.DeliveryPending {
			when = d.NextAttemptAt
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.EventID, d.Destination, d.Status, d.Attempts,
			when.Local().Format("2006-01-02 15:04:05"), lastOutcome(d))
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
	store, id, asJSON, err := openShow(ctx, env, args, "deliveries show", "delivery ID", "Shows one delivery and every attempt: time, class, HTTP status, latency and the\nstart of the answer.")
	if err != nil {
		return err
	}
	defer store.Close()
	d, attempts, err := store.GetDelivery(ctx, id)
	if err != nil {
		return err
	}
	j := toDeliveryJSON(d, attempts)
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(j)
	}
	w := env.Stdout
	fmt.Fprintf(w, "ID:           %s\nEvent:        %s (sent as webhook-id)\nDestination:  %s\nStatus:       %s\nAttempts:     %d\n",
		j.ID, j.EventID, j.Destination, j.Status, j.Attempts)
	if j.NextAttemptAt != nil {
		fmt.Fprintf(w, "Next attempt: %s\n", j.NextAttemptAt.Local().Format(time.RFC3339))
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
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%.1fms\t%s\t%s\n", a.N, a.At.Local().Format("2006-01-02 15:04:05"),
			dash(a.Class), dash(strconv.Itoa(a.Status)), a.LatencyMS, dash(a.Error), dash(answer))
	}
	return tw.Flush()
}

// destinationJSON is a destination as printed.
type destinationJSON struct {
	Name           string         `json:"name"`
	URL            string         `json:"url,omitempty"`
	State          string         `json:"state"`
	Paused         bool           `json:"paused,omitempty"`
	DisabledAt     *time.Time     `json:"disabled_at,omitempty"`
	DisabledReason string         `json:"disabled_reason,omitempty"`
	Circuit        string         `json:"circuit"`
	ProbeAt        *time.Time     `json:"probe_at,omitempty"`
	Counts         map[string]int `json:"counts"`
}

func toDestinationJSON(i deliver.DestinationInfo) destinationJSON {
	j := destinationJSON{Name: i.Name, URL: hookwatch.RedactURL(i.URL), State: i.StateName(), Paused: i.State.Paused,
		DisabledAt: timePtr(i.State.DisabledAt), DisabledReason: i.State.DisabledReason, Circuit: string(i.State.Circuit),
		ProbeAt: timePtr(i.State.ProbeAt), Counts: map[string]int{}}
	if j.Circuit == "" {
		j.Circuit = string(hookwatch.CircuitClosed)
	}
	for _, s := range []hookwatch.DeliveryStatus{hookwatch.DeliveryPending, hookwatch.DeliverySucceeded, hookwatch.DeliveryDead} {
		j.Counts[string(s)] = i.Counts[s]
	}
	return j
}

func runDestinationsList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "destinations list", "Lists destinations: state (active, paused, disabled, circuit-open), URL and\ndeliveries by status. Destinations no longer in the config but with deliveries\nin the store are listed too: their deliveries wait, they are never dropped.")
	path := fs.String("config", "hookwatch.yaml", "config file")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, store, err := openDeliveryCLI(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	infos, err := deliver.ListDestinations(ctx, store, cfg.DeliverDestinations())
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONLines(env.Stdout, infos, func(i deliver.DestinationInfo) any { return toDestinationJSON(i) })
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPENDING\tDEAD\tSUCCEEDED\tURL")
	for _, i := range infos {
		j := toDestinationJSON(i)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", j.Name, j.State, j.Counts["pending"], j.Counts["dead"], j.Counts["succeeded"], dash(j.URL))
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
	return setPausedCmd(ctx, env, args, true)
}

func runDestinationsResume(ctx context.Context, env *Env, args []string) error {
	return setPausedCmd(ctx, env, args, false)
}

func setPausedCmd(ctx context.Context, env *Env, args []string, paused bool) error {
	name, desc := "destinations resume", "Resumes a paused destination, or one disabled because it answered 410 Gone.\nIts waiting deliveries are sent (the running server notices within a second)."
	if paused {
		name, desc = "destinations pause", "Pauses a destination: nothing is sent to it, its deliveries wait (they are kept,\nnever dropped) until `hookwatch destinations resume`."
	}
	fs := newFlags(env, name, desc+"\n\nUsage: hookwatch "+name+" [flags] NAME")
	path := fs.String("config", "hookwatch.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("%s needs one destination name: %w", name, errUsage)
	}
	cfg, store, err := openDeliveryCLI(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := deliver.SetPaused(ctx, store, cfg.DeliverDestinations(), fs.Arg(0), paused, time.Now()); err != nil {
		return err
	}
	word := "resumed"
	if paused {
		word = "paused"
	}
	fmt.Fprintf(env.Stdout, "destination %s %s\n", fs.Arg(0), word)
	return nil
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
	path := fs.String("config", "hookwatch.yaml", "config file")
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
	_, store, err := openDeliveryCLI(ctx, env, *path)
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

// deliveryAPI returns the delivery admin API routes; server.Admin puts
// them behind the admin token.
func deliveryAPI(e *deliver.Engine, store hookwatch.Store) map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /api/deliveries": func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			f := filterFlags{source: q.Get("source"), destination: q.Get("destination"), typ: q.Get("type"),
				status: q.Get("status"), since: q.Get("since"), until: q.Get("until")}
			for _, id := range q["event"] {
				f.events.Set(id)
			}
			df, err := f.filter(time.Now())
			if err != nil {
				server.WriteError(w, r, err)
				return
			}
			df.Before = q.Get("before")
			if l := q.Get("limit"); l != "" {
				if df.Limit, err = strconv.Atoi(l); err != nil || df.Limit < 1 || df.Limit > 1000 {
					server.WriteError(w, r, hookwatch.Errorf(hookwatch.EINVALID, "limit must be 1..1000"))
					return
				}
			}
			ds, err := store.ListDeliveries(r.Context(), df)
			if err != nil {
				server.WriteError(w, r, err)
				return
			}
			out := make([]deliveryJSON, 0, len(ds))
			for _, d := range ds {
				out = append(out, toDeliveryJSON(d, nil))
			}
			server.WriteJSON(w, http.StatusOK, map[string]any{"deliveries": out})
		},
		"GET /api/deliveries/{id}": func(w http.ResponseWriter, r *http.Request) {
			d, attempts, err := store.GetDelivery(r.Context(), r.PathValue("id"))
			if err != nil {
				server.WriteError(w, r, err)
				return
			}
			server.WriteJSON(w, http.StatusOK, toDeliveryJSON(d, attempts))
		},
		"POST /api/replay": func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				EventIDs    []string `json:"event_ids"`
				Source      string   `json:"source"`
				Destination string   `json:"destination"`
				Type        string   `json:"type"`
				Status      string   `json:"status"`
				Since       string   `json:"since"`
				Until       string   `json:"until"`
				Rate        *float64 `json:"rate"`
				DryRun      bool     `json:"dry_run"`
				Actor       string   `json:"actor"`
			}
			dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
				server.WriteError(w, r, hookwatch.Errorf(hookwatch.EINVALID, "replay: bad JSON body: %v", err))
				return
			}
			f := filterFlags{events: body.EventIDs, source: body.Source, destination: body.Destination, typ: body.Type,
				status: body.Status, since: body.Since, until: body.Until}
			if f.status == "" && len(f.events) == 0 {
				f.status = "dead"
			}
			df, err := f.filter(time.Now())
			if err != nil {
				server.WriteError(w, r, err)
				return
			}
			rate := 50.0
			if body.Rate != nil {
				rate = *body.Rate
			}
			actor := "admin-api " + r.RemoteAddr
			if body.Actor != "" {
				actor = body.Actor + " (admin-api " + r.RemoteAddr + ")"
			}
			rep, err := e.Replay(r.Context(), hookwatch.ReplayRequest{Filter: df, Actor: actor, Rate: rate, DryRun: body.DryRun})
			if err != nil {
				server.WriteError(w, r, err)
				return
			}
			server.WriteJSON(w, http.StatusOK, rep)
		},
		"GET /api/destinations": func(w http.ResponseWriter, r *http.Request) {
			infos, err := deliver.ListDestinations(r.Context(), store, e.Destinations())
			if err != nil {
				server.WriteError(w, r, err)
				return
			}
			out := make([]destinationJSON, 0, len(infos))
			for _, i := range infos {
				out = append(out, toDestinationJSON(i))
			}
			server.WriteJSON(w, http.StatusOK, map[string]any{"destinations": out})
		},
		"POST /api/destinations/{name}/pause":  pauseHandler(e, true),
		"POST /api/destinations/{name}/resume": pauseHandler(e, false),
	}
}

func pauseHandler(e *deliver.Engine, paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if err := e.SetPaused(r.Context(), name, paused); err != nil {
			server.WriteError(w, r, err)
			return
		}
		server.WriteJSON(w, http.StatusOK, map[string]any{"name": name, "paused": paused})
	}
}
