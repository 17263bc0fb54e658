package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"text/tabwriter"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/alert"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/readiness"
	"github.com/hookwatch/hookwatch/server"
	"github.com/hookwatch/hookwatch/web"
)

// apiAlertRules are the configured rules as GET /api/alerts shows them:
// snake_case, every duration as a string and in seconds.
func apiAlertRules(cfg *config.Config) []server.AlertRule {
	rules := rulesOf(cfg)
	out := make([]server.AlertRule, 0, len(rules))
	for _, r := range rules {
		out = append(out, server.AlertRule{Name: r.Name, Kind: string(r.Kind), Source: r.Source, Destination: r.Destination,
			Per: r.Per, Threshold: r.Threshold, Window: server.NewSeconds(r.Window), MinVolume: r.MinVolume,
			Percentile: r.Percentile, Latency: server.NewSeconds(r.Latency), Age: server.NewSeconds(r.Age),
			Objective: r.Objective, Within: server.NewSeconds(r.Within), LongWindow: server.NewSeconds(r.LongWindow),
			ShortWindow: server.NewSeconds(r.ShortWindow), BurnRate: r.BurnRate, For: server.NewSeconds(r.For),
			Cooldown: server.NewSeconds(r.Cooldown), NotifyResolved: r.Resolved(), Channels: r.Channels})
	}
	return out
}

func runHealth(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "health", `Prints whether the store can take writes and its volume's free space against
storage.min_free (unknown on PostgreSQL), then health figures per source and
destination over 1m, 5m and 1h, computed from the store. Received = accepted
(verified and stored) + rejected (failed verification). Test events (hookwatch
send, a provider's test mode) are counted apart, on rows marked (test), and
left out of every other row and of alerts.`)
	path := configFlag(fs, "for the store")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(env, *path)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := alert.Health(ctx, store, time.Now().UTC())
	if err != nil {
		return err
	}
	ready := storeReadiness(ctx, cfg, store)
	blocked, err := blockedKeys(ctx, cfg, store)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(struct {
			*alert.Report
			Readiness readiness.Status       `json:"readiness"`
			Ordering  map[string]blockedJSON `json:"ordering_blocked,omitempty"`
		}{rep, ready, blocked})
	}
	printReadiness(env.Stdout, ready)
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WINDOW\tSUBJECT\tRECEIVED\tACCEPTED\tREJECTED\tDELIVERED\tFAILED\tERROR RATE\tP50\tP95\tAVG\tBACKLOG\tOLDEST\tDEAD")
	row := func(window, subject string, f *alert.Figures) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%.1f%%\t%.2fs\t%.2fs\t%.2fs\t%d\t%s\t%d\n", window, subject, f.Received, f.Accepted,
			f.RejectedCount, f.Delivered, f.FailedTotal(), f.ErrorRate*100, f.P50, f.P95, f.Avg, f.Backlog,
			(time.Duration(f.OldestWaiting) * time.Second).String(), f.DeadLetters)
	}
	tests := false
	rows := func(window, subject string, f *alert.Figures) {
		row(window, subject, f)
		if f.Test != nil {
			row(window, subject+" (test)", f.Test)
			tests = true
		}
	}
	for _, w := range rep.Windows {
		rows(w.Window, "all", w.Total)
		for _, k := range sortedKeys(w.Sources) {
			rows(w.Window, "source:"+k, w.Sources[k])
		}
		for _, k := range sortedKeys(w.Destinations) {
			rows(w.Window, "destination:"+k, w.Destinations[k])
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if tests {
		fmt.Fprintln(env.Stdout, "\n(test) rows count test events (hookwatch send, a provider's test mode): they are left out of the other rows and of alerts.")
	}
	for _, name := range sortedKeys(blocked) {
		b := blocked[name]
		fmt.Fprintf(env.Stdout, "\nordering: destination %s has %d blocked %s (a failing head, or one behind a dead delivery under on_dead: block); the oldest head has waited %s\n",
			name, b.Keys, plural(b.Keys, "key", "keys"), (time.Duration(b.OldestSeconds) * time.Second).String())
	}
	return nil
}

// blockedJSON is a destination's blocked ordering keys in health --json.
type blockedJSON struct {
	Keys          int     `json:"keys"`
	OldestSeconds float64 `json:"oldest_seconds"`
}

// blockedKeys counts the blocked ordering keys of the destinations with
// ordering; nil when none has it.
func blockedKeys(ctx context.Context, cfg *config.Config, store hookwatch.Store) (map[string]blockedJSON, error) {
	modes := map[string]hookwatch.OnDead{}
	for _, d := range cfg.Destinations {
		if d.Ordering != nil {
			modes[d.Name] = hookwatch.OnDead(d.Ordering.OnDead)
		}
	}
	if len(modes) == 0 {
		return nil, nil
	}
	ws, err := store.WaitingHeads(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]blockedJSON{}
	now := time.Now()
	for name, b := range hookwatch.TallyBlocked(ws, modes) {
		out[name] = blockedJSON{Keys: b.Keys, OldestSeconds: math.Round(now.Sub(b.Oldest).Seconds())}
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func runAlertsList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "alerts list", "Lists the alert rules (every figure with its unit) and the alerts that are not ok.")
	path := configFlag(fs, "")
	asJSON := fs.Bool("json", false, "print one JSON object per line (alert states)")
	cfg, store, err := fs.parseOpen(ctx, env, args, path)
	if err != nil {
		return err
	}
	defer store.Close()
	states, err := store.AlertStates(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONLines(env.Stdout, states, func(s hookwatch.AlertState) any { return s })
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tKIND\tSCOPE\tCONDITION\tFOR\tCOOLDOWN\tSTATE")
	var active []hookwatch.AlertState
	for _, r := range rulesOf(cfg) {
		info := alert.Describe(r)
		firing, pending, seen := 0, 0, false
		for _, s := range states {
			if s.Rule != r.Name {
				continue
			}
			seen = true
			switch s.Status {
			case hookwatch.AlertFiring:
				firing++
			case hookwatch.AlertPending:
				pending++
			}
			if s.Status != hookwatch.AlertOK {
				active = append(active, s)
			}
		}
		state := "ok"
		switch {
		case firing+pending > 0:
			state = fmt.Sprintf("%d firing, %d pending", firing, pending)
		case !seen:
			state = "not evaluated yet"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Kind, info.Scope, info.Condition, info.For, info.Cooldown, state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(active) == 0 {
		return nil
	}
	fmt.Fprintln(env.Stdout)
	tw = tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSUBJECT\tSTATUS\tSINCE\tSUMMARY")
	for _, s := range active {
		summary := s.Summary
		if s.HeldBack != "" {
			summary += " [held back: " + s.HeldBack + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Rule, s.Subject, s.Status, localTime(s.Since), summary)
	}
	return tw.Flush()
}

func runAlertsHistory(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "alerts history", "Lists notifications sent or failed, newest first.")
	path := configFlag(fs, "for the store")
	channel := fs.String("channel", "", "only this channel")
	limit := fs.Int("limit", 50, "at most this many")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	_, store, err := fs.parseOpen(ctx, env, args, path)
	if err != nil {
		return err
	}
	defer store.Close()
	ns, err := store.ListNotifications(ctx, hookwatch.NotificationFilter{Channel: *channel, Limit: *limit})
	if err != nil {
		return err
	}
	return printList(env, *asJSON, ns, asIs, "AT\tCHANNEL\tKIND\tRULE\tSUBJECT\tSTATUS\tATTEMPTS\tSUMMARY", func(n *hookwatch.Notification) string {
		summary := n.Summary
		if n.Error != "" {
			summary = "error: " + n.Error
		}
		if n.Details != nil && n.Details.HeldBack != "" {
			summary = "held back: " + n.Details.HeldBack
		}
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s", localTime(n.CreatedAt), n.Channel, n.Kind, n.Rule, n.Subject, n.Status, n.Attempts, summary)
	}, "")
}

func runAlertsTest(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "alerts test", "Sends a test notification to a channel and records it in the alert history.\n\nUsage: hookwatch alerts test [flags] CHANNEL")
	path := configFlag(fs, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("alerts test needs one channel name: %w", errUsage)
	}
	cfg, store, err := openCLI(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	ev, err := newEvaluator(cfg, store, nil)
	if err != nil {
		return err
	}
	n, err := ev.SendTest(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "test notification sent to %s (%d attempt(s))\n", n.Channel, n.Attempts)
	return nil
}

// actor is who runs a CLI command, as recorded: cli:$USER, or cli.
func actor(env *Env) string {
	if user, ok := env.Getenv("USER"); ok && user != "" {
		return "cli:" + user
	}
	return "cli"
}

func runAlertsSilence(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "alerts silence", `Holds back the firing notifications of a rule (on one subject, or all of them)
until the silence expires. Held-back notifications are recorded in the alert
history as silenced; an alert still firing when the silence ends is sent then.
Resolved notifications of alerts already sent are not held back.

Usage: hookwatch alerts silence [flags] RULE

Examples:
  hookwatch alerts silence error-rate --subject destination:app --for 2h --comment "deploying v2"
  hookwatch alerts silence backlog-age --for 30m`)
	path := configFlag(fs, "rules and store")
	subject := fs.String("subject", "", "only this subject, as alerts list shows it: destination:NAME, source:NAME or all (default: every subject)")
	forD := fs.String("for", "", "how long: 30m, 2h, 1d (at most 30d)")
	comment := fs.String("comment", "", "why, for the others on call")
	asJSON := fs.Bool("json", false, "print the silence as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pos := fs.Args()
	if len(pos) != 1 || *forD == "" {
		fs.Usage()
		return fmt.Errorf("alerts silence needs one rule name and --for: %w", errUsage)
	}
	d, err := config.ParseDuration(*forD)
	if err != nil {
		return hookwatch.Errorf(hookwatch.EINVALID, "--for: %v", err)
	}
	cfg, err := loadConfig(env, *path)
	if err != nil {
		return err
	}
	var names []string
	for _, r := range cfg.Alerts.Rules {
		names = append(names, r.Name)
	}
	// The API's POST /api/silences checks and records it the same way.
	si, err := server.NewSilence(names, pos[0], *subject, d, *comment, actor(env), time.Now())
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.AddSilence(ctx, si); err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(si)
	}
	fmt.Fprintf(env.Stdout, "%s silences %s on %s until %s (hookwatch alerts unsilence %s ends it)\n", si.ID, si.Rule,
		silenceSubject(si), si.ExpiresAt.Local().Format("2006-01-02 15:04:05 MST"), si.ID)
	return nil
}

func silenceSubject(si *hookwatch.Silence) string {
	if si.Subject == "" {
		return "every subject"
	}
	return si.Subject
}

func runAlertsSilences(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "alerts silences", "Lists the silences in force, soonest to end first.")
	path := configFlag(fs, "for the store")
	all := fs.Bool("all", false, "also those expired in the last 30 days")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	_, store, err := fs.parseOpen(ctx, env, args, path)
	if err != nil {
		return err
	}
	defer store.Close()
	since := time.Now().UTC()
	if *all {
		since = time.Time{}
	}
	ss, err := store.ListSilences(ctx, since)
	if err != nil {
		return err
	}
	return printList(env, *asJSON, ss, asIs, "ID\tRULE\tSUBJECT\tUNTIL\tBY\tCOMMENT", func(si *hookwatch.Silence) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", si.ID, si.Rule, silenceSubject(si), localTime(si.ExpiresAt), si.CreatedBy, dash(si.Comment))
	}, "no silence in force")
}

func runAlertsUnsilence(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "alerts unsilence", "Removes a silence: the rule's notifications are sent again from the next evaluation.\n\nUsage: hookwatch alerts unsilence [flags] SILENCE_ID")
	path := configFlag(fs, "for the store")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pos := fs.Args()
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("alerts unsilence needs one silence ID: %w", errUsage)
	}
	store, err := openCLIStore(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	si, err := store.RemoveSilence(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "removed %s (%s on %s)\n", si.ID, si.Rule, silenceSubject(si))
	return nil
}

// alertRules are the rules as the dashboard's alerts page lists them.
func alertRules(cfg *config.Config) []web.AlertRule {
	var out []web.AlertRule
	for _, r := range rulesOf(cfg) {
		info := alert.Describe(r)
		out = append(out, web.AlertRule{Name: info.Name, Kind: info.Kind, Scope: info.Scope, Condition: info.Condition,
			For: info.For, Cooldown: info.Cooldown, Channels: info.Channels})
	}
	return out
}
