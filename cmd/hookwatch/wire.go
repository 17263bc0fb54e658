package main

// This file is where the configuration becomes the program: every
// translation from the config's YAML shape (package config) into the values
// the packages take (ingest sources, delivery destinations, the router,
// alert rules and notifiers, the quarantine's bounds, the monitor's
// options) is here, and nowhere else. config knows only the file; the
// packages know only their own types. Main.Open calls each of these once
// per start and hands the results to whatever needs them.

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/alert"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/encrypt"
	"github.com/hookwatch/hookwatch/expr"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/monitor"
	"github.com/hookwatch/hookwatch/provider"
	"github.com/hookwatch/hookwatch/quarantine"
	"github.com/hookwatch/hookwatch/readiness"
	"github.com/hookwatch/hookwatch/transform"
	"github.com/prometheus/client_golang/prometheus"
)

// ingestSources builds the configured sources, each with a scheme of its
// own: one set for the receive path, one for a releaser (see newReleaser).
//
// hs keeps the secrets of sources whose provider hands one over in a
// handshake (Asana) and whose config gives none; nil: such sources fail.
func ingestSources(cfg *config.Config, hs hookwatch.HandshakeStore) ([]ingest.Source, error) {
	sources := make([]ingest.Source, 0, len(cfg.Sources))
	for _, s := range cfg.Sources {
		pc := s.ProviderConfig()
		if info, _ := provider.Lookup(s.Provider); info.HandshakeSecret && len(pc.Secrets) == 0 && hs != nil {
			pc.Keeper = storeKeeper{store: hs, source: s.Name}
		}
		scheme, err := provider.New(s.Provider, pc)
		if err != nil {
			return nil, hookwatch.Errorf(hookwatch.EINVALID, "source %s: %v", s.Name, err)
		}
		subject, err := hookwatch.ParseSubjectPath(s.SubjectPath())
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", s.Name, err)
		}
		sources = append(sources, ingest.Source{
			Name: s.Name, Provider: s.Provider, Scheme: scheme,
			MaxBody: int64(s.MaxBody), PublicURL: s.PublicURL, DedupeHorizon: s.DedupeHorizon.D(),
			DedupeBody: s.DedupesBody(), Secrets: s.Secrets, Subject: subject,
		})
	}
	return sources, nil
}

// sourceNames lists the configured sources' names, in config order.
func sourceNames(cfg *config.Config) []string {
	names := make([]string, 0, len(cfg.Sources))
	for _, s := range cfg.Sources {
		names = append(names, s.Name)
	}
	return names
}

// destinations returns the destinations as the delivery engine takes them.
// config has filled every default already (config show prints them), so
// the engine's own defaults apply only to what a test builds by hand.
func destinations(cfg *config.Config) []deliver.Destination {
	out := make([]deliver.Destination, 0, len(cfg.Destinations))
	for _, d := range cfg.Destinations {
		p := deliver.Policy{
			MaxAttempts: d.Retry.MaxAttempts, MaxAge: d.Retry.MaxAge.D(),
			Initial: d.Retry.Initial.D(), MaxBackoff: d.Retry.MaxBackoff.D(),
		}
		if len(d.Retry.Classes) > 0 {
			defaults := hookwatch.DefaultClassPolicies()
			p.Classes = map[hookwatch.ErrorClass]hookwatch.ClassPolicy{}
			for name, cr := range d.Retry.Classes {
				class := hookwatch.ErrorClass(name)
				cp := defaults[class]
				if cr.Retry != nil {
					cp.Retry = *cr.Retry
				}
				if cr.MaxAttempts != 0 {
					cp.MaxAttempts = cr.MaxAttempts
				}
				p.Classes[class] = cp
			}
		}
		out = append(out, deliver.Destination{
			Name: d.Name, URL: d.URL, Timeout: d.Timeout.D(), Headers: d.Headers, Secret: d.Secret,
			MaxInFlight: d.MaxInFlight, RateLimit: d.RateLimit, KeepHeaders: d.KeepHeaders, Retry: p,
			CircuitFailures: d.Circuit.Failures, CircuitCooldown: d.Circuit.Cooldown.D(),
			Ordered: d.Ordering != nil, OnDead: orderingOnDead(d.Ordering),
		})
	}
	return out
}

// orderingOnDead is an ordering's on_dead (skip when unset or unordered).
func orderingOnDead(o *config.Ordering) hookwatch.OnDead {
	if o == nil || o.OnDead == "" {
		return hookwatch.OnDeadSkip
	}
	return hookwatch.OnDead(o.OnDead)
}

// orderingModes returns the ordered destinations and their on_dead, for
// the blocked-keys gauges and the ordering_blocked alert.
func orderingModes(cfg *config.Config) map[string]hookwatch.OnDead {
	out := map[string]hookwatch.OnDead{}
	for _, d := range cfg.Destinations {
		if d.Ordering != nil {
			out[d.Name] = orderingOnDead(d.Ordering)
		}
	}
	return out
}

// orderer compiles every ordered destination's key and returns the
// function that sets an event's Orders once it is routed
// (hookwatch.Orderer); onError (nil: nothing) hears each delivery whose key
// could not be computed. It runs where deliveries are made from events:
// the receive path (ingest.Options.Orderer) and the quarantine's release.
func orderer(cfg *config.Config, onError func(destination string)) (func(*hookwatch.Event), error) {
	keys := map[string]hookwatch.OrderKeyFunc{}
	for i, d := range cfg.Destinations {
		if d.Ordering == nil {
			continue
		}
		f, err := orderKey(d.Ordering.Key)
		if err != nil {
			return nil, hookwatch.Errorf(hookwatch.EINVALID, "destinations[%d].ordering.key (%s): %v", i, d.Name, err)
		}
		keys[d.Name] = f
	}
	return hookwatch.Orderer(keys, onError), nil
}

// orderKey compiles an ordering key: a CEL expression over the event
// (expr.CompileKey: a string or an int, body.data.object.id). The compile
// error names the column of each problem.
func orderKey(src string) (hookwatch.OrderKeyFunc, error) {
	p, err := expr.CompileKey(src)
	if err != nil {
		return nil, err
	}
	return func(e *hookwatch.Event) (string, error) { return p.String(expr.NewInput(e)) }, nil
}

// destinationNames lists the configured destinations' names, in config
// order.
func destinationNames(cfg *config.Config) []string {
	names := make([]string, 0, len(cfg.Destinations))
	for _, d := range cfg.Destinations {
		names = append(names, d.Name)
	}
	return names
}

// router returns the function that picks an event's destinations from the
// config's routes (hookwatch.Router says how), their filters compiled.
func router(cfg *config.Config) (ingest.Router, error) {
	filters, err := routeFilters(cfg)
	if err != nil {
		return nil, err
	}
	routes := make([]hookwatch.Route, 0, len(cfg.Routes))
	for i, r := range cfg.Routes {
		routes = append(routes, hookwatch.Route{Source: r.Source, Destinations: r.Destinations, Types: r.Types, Filter: filters[i]})
	}
	return hookwatch.Router(routes), nil
}

// routeFilters compiles each route's filter (nil for a route without
// one). The error is the config's (config.Invalid): every filter that does
// not compile, with its line in the file and CEL's words with the column
// in the expression. loadConfig calls it, so config check reports them and
// no command starts with a filter that would not compile.
func routeFilters(cfg *config.Config) ([]hookwatch.Filter, error) {
	filters := make([]hookwatch.Filter, len(cfg.Routes))
	var problems []config.Problem
	for i, r := range cfg.Routes {
		if strings.TrimSpace(r.Filter) == "" {
			continue
		}
		p, err := expr.CompileFilter(r.Filter)
		if err != nil {
			problems = append(problems, config.Problem{Path: fmt.Sprintf("routes[%d].filter", i), Message: err.Error()})
			continue
		}
		filters[i] = expr.RouteFilter(p)
	}
	if err := cfg.Invalid(problems); err != nil {
		return nil, err
	}
	return filters, nil
}

// newReleaser returns a releaser with the config's secrets and routes. Its
// sources have schemes of their own, not the receive path's
// (quarantine.Releaser says why). The server builds one per start, shared
// by the admin API and the dashboard; the CLI one per command.
func newReleaser(cfg *config.Config, store hookwatch.Store) (*quarantine.Releaser, error) {
	sources, err := ingestSources(cfg, store)
	if err != nil {
		return nil, err
	}
	route, err := router(cfg)
	if err != nil {
		return nil, err
	}
	order, err := orderer(cfg, nil)
	if err != nil {
		return nil, err
	}
	return &quarantine.Releaser{Store: store, Sources: sources, Router: route, Orderer: order}, nil
}

// newQuarantineWriter starts the writer that keeps rejected requests, with
// the config's bounds and per-source switches; room tells it when the
// store's volume is under its floor.
func newQuarantineWriter(cfg *config.Config, store hookwatch.QuarantineStore, room quarantine.Room, reg prometheus.Registerer, logger *slog.Logger) *quarantine.Writer {
	skip := map[string]bool{}
	for _, s := range cfg.Sources {
		if !s.Quarantined() {
			skip[s.Name] = true
		}
	}
	return quarantine.NewWriter(quarantine.Options{
		Store: store, MaxCount: cfg.Quarantine.MaxCount, MaxBytes: int64(cfg.Quarantine.MaxBytes), MaxAge: cfg.Quarantine.MaxAge.D(),
		MaxBody: int(cfg.Quarantine.MaxBody), Rate: cfg.Quarantine.Rate, Burst: cfg.Quarantine.Burst, Room: room,
		Skip: skip, Logger: logger, Registerer: reg,
	})
}

// rejectHooks composes ingest.Options.Reject hooks (quarantine, error
// tracker, issues): each is called in turn, and none may block for long.
func rejectHooks(hooks ...func(context.Context, ingest.Rejection)) func(context.Context, ingest.Rejection) {
	var hs []func(context.Context, ingest.Rejection)
	for _, h := range hooks {
		if h != nil {
			hs = append(hs, h)
		}
	}
	if len(hs) == 0 {
		return nil
	}
	return func(ctx context.Context, r ingest.Rejection) {
		for _, h := range hs {
			h(ctx, r)
		}
	}
}

// rulesOf returns the config's alert rules (defaults filled by config) as
// the evaluator takes them.
func rulesOf(cfg *config.Config) []alert.Rule {
	out := make([]alert.Rule, 0, len(cfg.Alerts.Rules))
	for _, r := range cfg.Alerts.Rules {
		out = append(out, alert.Rule{Name: r.Name, Kind: hookwatch.AlertKind(r.Kind), Source: r.Source, Destination: r.Destination,
			Per: r.Per, Threshold: r.Threshold, Window: r.Window.D(), MinVolume: r.MinVolume,
			Percentile: r.Percentile, Latency: r.Latency.D(), Age: r.Age.D(), Size: int64(r.Size),
			Objective: r.Objective, Within: r.Within.D(), LongWindow: r.LongWindow.D(), ShortWindow: r.ShortWindow.D(), BurnRate: r.BurnRate,
			For: r.For.D(), Cooldown: r.Cooldown.D(), SkipResolved: !r.Resolved(), Channels: r.Channels})
	}
	return out
}

// notifiers builds every configured channel's notifier, by name.
func notifiers(channels []config.AlertChannel) (map[string]alert.Notifier, error) {
	out := make(map[string]alert.Notifier, len(channels))
	for _, c := range channels {
		var n alert.Notifier
		switch c.Type {
		case config.ChannelSlack:
			n = &alert.Slack{URL: c.URL}
		case config.ChannelWebhook:
			w, err := alert.NewWebhook(c.URL, c.Secret)
			if err != nil {
				return nil, err
			}
			n = w
		case config.ChannelPagerDuty:
			n = &alert.PagerDuty{RoutingKey: c.RoutingKey, EventsURL: c.EventsURL}
		case config.ChannelEmail:
			n = &alert.Email{Addr: c.SMTP.Addr, Username: c.SMTP.Username, Password: c.SMTP.Password, TLS: c.SMTP.TLS,
				From: c.SMTP.From, To: c.SMTP.To}
		default:
			return nil, hookwatch.Errorf(hookwatch.EINVALID, "alert channel %s: unknown type %q", c.Name, c.Type)
		}
		out[c.Name] = n
	}
	return out, nil
}

// alerting is issue grouping and alert evaluation, started with Main.
type alerting struct {
	recorder  *alert.Recorder
	evaluator *alert.Evaluator
}

// newEvaluator builds the alert evaluator (the maintenance runner ticks it).
func newEvaluator(cfg *config.Config, store hookwatch.Store, logger *slog.Logger) (*alert.Evaluator, error) {
	return newEvaluatorFlushing(cfg, store, logger, nil)
}

// newEvaluatorWith builds the evaluator and the failure recorder it
// flushes before each evaluation (serve's pair).
func newEvaluatorWith(cfg *config.Config, store hookwatch.Store, logger *slog.Logger) (*alert.Evaluator, *alert.Recorder, error) {
	if _, err := notifiers(cfg.Alerts.Channels); err != nil {
		return nil, nil, err
	}
	rec := alert.NewRecorder(store, logger)
	ev, err := newEvaluatorFlushing(cfg, store, logger, rec.Flush)
	if err != nil {
		rec.Close()
		return nil, nil, err
	}
	return ev, rec, nil
}

func newEvaluatorFlushing(cfg *config.Config, store hookwatch.Store, logger *slog.Logger, flush func(context.Context) error) (*alert.Evaluator, error) {
	channels, err := notifiers(cfg.Alerts.Channels)
	if err != nil {
		return nil, err
	}
	dests := map[string]string{}
	for _, d := range cfg.Destinations {
		dests[d.Name] = d.URL
	}
	return alert.New(alert.Options{Store: store, Rules: rulesOf(cfg), Channels: channels, Interval: cfg.Alerts.Interval.D(),
		GroupWindow: cfg.Alerts.GroupWindow.D(), BaseURL: cfg.Alerts.BaseURL, Destinations: dests, Logger: logger,
		Ordering: orderingModes(cfg), Flush: flush,
		Retention: alert.Retention{MaxAge: cfg.Alerts.Retention.MaxAge.D(), MaxCount: cfg.Alerts.Retention.MaxCount, Every: cfg.Alerts.Retention.Every.D()}}), nil
}

func newAlerting(cfg *config.Config, store hookwatch.Store, logger *slog.Logger) (*alerting, error) {
	ev, rec, err := newEvaluatorWith(cfg, store, logger)
	if err != nil {
		return nil, err
	}
	return &alerting{recorder: rec, evaluator: ev}, nil
}

// close stops evaluating, then writes the failures still queued.
func (a *alerting) close() {
	if a != nil {
		a.evaluator.Close()
		a.recorder.Close()
	}
}

// newMonitor builds the Sentry monitor from the config on top of base
// (History...); it is disabled, and costs nothing, without a DSN. What the
// packages get from it are values (its Logger handler, Reporter, CheckIns,
// Tracer, Observer and rejection hook), handed out by Main.Open.
func newMonitor(cfg *config.Config, base monitor.Options) (*monitor.Monitor, error) {
	s := cfg.Sentry
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	o := base
	o.DSN = s.DSN
	o.Environment = s.Environment
	o.Release = s.Release
	o.SampleRate = s.SentrySampleRate()
	o.TracesSampleRate = s.TracesSampleRate
	o.TracesBySource = s.TracesBySource
	o.SendPayload = s.SendPayload
	o.Logs = s.Logs
	o.LogLevel = level
	o.UserPaths = s.Users
	o.Tags = s.Tags
	o.RejectInterval = s.SignatureFailureInterval.D()
	o.Secrets = configSecrets(cfg)
	if kind, _, _ := config.ParseStore(cfg.Store); kind == "postgres" {
		o.DBSystem = "postgresql" // OpenTelemetry's name, which Sentry reads
	} else {
		o.DBSystem = "sqlite"
	}
	o.DestinationURLs = map[string]string{}
	for _, d := range cfg.Destinations {
		o.DestinationURLs[d.Name] = d.URL
	}
	m, err := monitor.New(o)
	if err != nil {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "sentry: %v", err)
	}
	return m, nil
}

// configSecrets lists every secret value of the config, for the monitor to
// scrub from whatever it sends.
func configSecrets(cfg *config.Config) []string {
	out := []string{cfg.AdminToken}
	for _, s := range cfg.Sources {
		out = append(out, s.Secrets...)
		for k, v := range s.Options {
			if isSecretOption(k) {
				out = append(out, v)
			}
		}
	}
	for _, d := range cfg.Destinations {
		out = append(out, d.Secret)
		for _, v := range d.Headers {
			out = append(out, v)
		}
		if u, err := url.Parse(d.URL); err == nil {
			if p, ok := u.User.Password(); ok {
				out = append(out, p)
			}
		}
	}
	if u, err := url.Parse(cfg.Store); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	return out
}

func isSecretOption(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"secret", "token", "password", "key"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// sentryReject reports verification failures to Sentry (rate-limited per
// source by the monitor); nil when Sentry is off.
func sentryReject(m *monitor.Monitor) func(context.Context, ingest.Rejection) {
	if !m.Enabled() {
		return nil
	}
	return func(ctx context.Context, r ingest.Rejection) {
		m.Rejected(ctx, r.Source, r.Provider, string(r.Reason), r.Err)
	}
}

// newLogger writes records to stderr in the configured format and level,
// with credentials redacted (logredact.go).
func newLogger(env *Env, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(redactHandler{slog.NewTextHandler(env.Stderr, opts)})
	}
	return slog.New(redactHandler{slog.NewJSONHandler(env.Stderr, opts)})
}

// newReadiness returns the watcher of the store's readiness: the write
// probe, the committer's last outcome (commits may be nil, as in the CLI)
// and, for SQLite, the free space of the database's volume against
// storage.min_free.
func newReadiness(cfg *config.Config, store hookwatch.Store, commits readiness.Commits, logger *slog.Logger) *readiness.Watcher {
	o := readiness.Options{Probe: store.ProbeWrite, Commits: commits, Floor: cfg.Storage.MinFree.Of, Logger: logger,
		Size: store.StoreSize, Oldest: store.OldestFinished}
	switch kind, loc, _ := config.ParseStore(cfg.Store); kind {
	case "sqlite":
		o.Space = readiness.VolumeSpace(filepath.Dir(loc))
		o.Pending = readiness.SQLiteWAL(loc)
	case "postgres":
		o.Unknown = unknownOnPostgres
	}
	return readiness.New(o)
}

// newCipher returns the cipher the stores are opened with: nil without
// keys (plaintext). The config was validated, so the keys parse.
func newCipher(e config.Encryption) (*encrypt.Cipher, error) {
	if len(e.Keys) == 0 {
		return nil, nil
	}
	keys := make([][]byte, len(e.Keys))
	for i, s := range e.Keys {
		k, err := encrypt.ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("encryption.keys[%d]: %w", i, err)
		}
		keys[i] = k
	}
	return encrypt.New(keys, e.DecryptOnly)
}

// withTransforms loads every destination's transform file into dests
// (destinations(cfg)'s, in config order), once per start: the engine then
// reloads a file when it changes. The error names the config line and the
// file's own line for a syntax error.
func withTransforms(cfg *config.Config, dests []deliver.Destination) error {
	var problems []string
	for i, d := range cfg.Destinations {
		if d.Transform == "" {
			continue
		}
		f, err := transform.Load(cfg.Path(d.Transform), transform.Limits{Timeout: d.TransformTimeout.D()})
		if err != nil {
			problems = append(problems, fmt.Sprintf("line %d: destinations[%d].transform: %v", cfg.Line(fmt.Sprintf("destinations[%d].transform", i)), i, err))
			continue
		}
		dests[i].Transform = f
	}
	if len(problems) > 0 {
		return hookwatch.Errorf(hookwatch.EINVALID, "config: %s", strings.Join(problems, "\n  "))
	}
	return nil
}
