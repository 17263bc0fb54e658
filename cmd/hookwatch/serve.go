package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/deliver"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/maintain"
	"github.com/hookwatch/hookwatch/monitor"
	"github.com/hookwatch/hookwatch/postgres"
	"github.com/hookwatch/hookwatch/quarantine"
	"github.com/hookwatch/hookwatch/readiness"
	"github.com/hookwatch/hookwatch/server"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

func runServe(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "serve", `Runs the server: receives webhooks on POST /in/{source} (listen), and serves
health, metrics and the admin API on admin_listen. SIGTERM or Ctrl-C drains:
no new requests, in-flight commits finish, then it exits.`)
	path := configFlag(fs, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(env, *path)
	if err != nil {
		return err
	}
	m := &Main{Config: cfg, Logger: newLogger(env, cfg.Log)}
	if err := m.Open(ctx); err != nil {
		// Close after a partial Open stops only what was started: it
		// returns at once, and the cause is printed, not a hang.
		m.Close()
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted while starting: %w", err)
		}
		return err
	}
	select {
	case <-ctx.Done():
		m.Logger.Info("shutting down: draining in-flight requests")
		return m.Close()
	case err := <-m.served:
		m.Close()
		return fmt.Errorf("server stopped: %w", err)
	}
}

// loadConfig reads the config file; HOOKWATCH_STORE, when set, overrides
// the store (for containers and tests).
func loadConfig(env *Env, path string) (*config.Config, error) {
	cfg, err := config.Load(path, env.Getenv)
	if err != nil {
		return nil, err
	}
	applySentryEnv(env, cfg)
	if _, err := routeFilters(cfg); err != nil {
		return nil, err
	}
	if s, ok := env.Getenv("HOOKWATCH_STORE"); ok && s != "" {
		// The value is not in the file: a problem with it names the
		// variable, not a line.
		if _, _, err := config.ParseStore(s); err != nil {
			return nil, hookwatch.Errorf(hookwatch.EINVALID, "HOOKWATCH_STORE: %v", err)
		}
		cfg.Store = s
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("HOOKWATCH_STORE: %w", err)
		}
	}
	return cfg, nil
}

// openStore opens the configured store. Its error is one line that names
// the store (credentials redacted), the cause and what to fix.
func openStore(ctx context.Context, cfg *config.Config) (hookwatch.Store, error) {
	kind, loc, err := config.ParseStore(cfg.Store)
	if err != nil {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "store: %v", err)
	}
	cipher, err := newCipher(cfg.Encryption)
	if err != nil {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "%v", err)
	}
	var store hookwatch.Store
	switch kind {
	case "sqlite":
		store, err = sqlite.Open(ctx, loc, sqlite.WithCipher(cipher))
	case "postgres":
		store, err = postgres.Open(ctx, loc, postgres.WithCipher(cipher))
	default:
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "store: %s is not supported by this build yet", kind)
	}
	if err != nil {
		return nil, storeOpenError(cfg.Store, kind, loc, err)
	}
	return store, nil
}

// Main is the running server. Open starts it; Close drains and stops it.
// Tests run the real program through it with listeners on ":0".
type Main struct {
	Config *config.Config
	Logger *slog.Logger

	Store hookwatch.Store
	// Engine delivers stored events to the destinations.
	Engine    *deliver.Engine
	committer *ingest.Committer
	public    *http.Server
	admin     *http.Server
	publicLn  net.Listener
	adminLn   net.Listener
	served    chan error

	// routes are the routes both listeners serve (docs/api.md lists them).
	routes []server.Route

	// quarantine keeps the requests that fail verification.
	quarantine *quarantine.Writer
	// Readiness is what /readyz, the dashboard and the quarantine know of
	// the store: last commit, write probe, free space.
	Readiness *readiness.Watcher
	// Monitor reports to Sentry; disabled without a DSN.
	Monitor *monitor.Monitor
	// alerting groups failures into issues and evaluates alert rules.
	alerting *alerting
	// maintenance runs the periodic jobs on the instance that leads.
	maintenance *maintain.Runner
}

// Open opens the store, builds the receive path and starts both listeners.
func (m *Main) Open(ctx context.Context) error {
	cfg := m.Config
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	// Both listeners are bound first: a port in use, the commonest
	// start-up failure, is reported before the store is opened or migrated.
	var err error
	if m.publicLn, err = server.Listen(cfg.Listen); err != nil {
		return listenError("listen", cfg.Listen, err)
	}
	if m.adminLn, err = server.Listen(cfg.AdminListen); err != nil {
		return listenError("admin_listen", cfg.AdminListen, err)
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	m.Store = store
	// The monitor reaches the packages only as values handed out here: the
	// slog handler, the error reporter, check-ins, the tracer, the delivery
	// observer and the rejection hook (all nil or no-ops without a DSN).
	if m.Monitor, err = newMonitor(cfg, monitor.Options{History: store}); err != nil {
		return err
	}
	// Records go to the configured output and, when enabled, to Sentry.
	m.Logger = m.Monitor.Logger(m.Logger.Handler())
	// The SQLite store logs fsync failures and its reopen after one.
	if l, ok := store.(interface{ SetLogger(*slog.Logger) }); ok {
		l.SetLogger(m.Logger)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := ingest.NewMetrics(reg)
	// Delivery counters come from the engine; backlog and circuit gauges
	// are read from the store on scrape (cached 5s).
	deliveryMetrics := deliver.NewMetrics(reg, deliver.MetricsOptions{Store: store, Destinations: destinationNames(cfg),
		Ordering: orderingModes(cfg)})

	// The config, translated once for this start (wire.go): the receive
	// path's sources, the routes, and the releaser (with schemes of its
	// own) that the admin API and the dashboard share.
	sources, err := ingestSources(cfg, store)
	if err != nil {
		return err
	}
	route, err := router(cfg)
	if err != nil {
		return err
	}
	order, err := orderer(cfg, deliveryMetrics.Unordered)
	if err != nil {
		return err
	}
	rel, err := newReleaser(cfg, store)
	if err != nil {
		return err
	}
	// Rejected requests' token headers are sealed under it for the quarantine.
	key, err := store.InstallationKey(ctx)
	if err != nil {
		return err
	}
	if m.alerting, err = newAlerting(cfg, store, m.Logger); err != nil {
		return err
	}
	dests := destinations(cfg)
	if err := withTransforms(cfg, dests); err != nil {
		return err
	}
	m.Engine, err = deliver.New(deliver.Options{Store: store, Destinations: dests,
		Owner: hookwatch.NewID("ins", time.Now()), Logger: m.Logger, Waker: sharedWaker(store),
		Observer: hookwatch.DeliveryObservers{m.Monitor.Observer(), m.alerting.recorder, deliveryMetrics}, Tracer: m.Monitor.Tracer()})
	if err != nil {
		return hookwatch.Errorf(hookwatch.EINVALID, "%v", err)
	}
	// Every committed batch wakes the destinations it created deliveries
	// for: no polling delay, and the others are left alone.
	// It also wakes the event streams (hookwatch forward, tail): one
	// non-blocking notify; each stream reads the store itself.
	events := new(hookwatch.Broadcaster)
	observe := func(b ingest.Batch) {
		metrics.ObserveCommit(b.Size, b.Took, b.Err)
		if len(b.Destinations) > 0 {
			m.Engine.Wake(b.Destinations...)
		}
		if b.Err == nil {
			events.Notify()
		}
	}
	// Several batches in flight (config.Config.IngestWriters says why).
	m.committer = ingest.NewCommitterN(store, cfg.Ingest.MaxBatch, cfg.IngestWriters(), observe)
	m.Readiness = newReadiness(cfg, store, m.committer, m.Logger)
	reg.MustRegister(m.Readiness.Collector())
	m.Readiness.Start()
	m.alerting.evaluator.MeasureStorage(storageFigures(cfg, m.Readiness))
	m.quarantine = newQuarantineWriter(cfg, store, m.Readiness, reg, m.Logger)
	handler := ingest.NewHandler(ingest.Options{
		Sources:    sources,
		Committer:  m.committer,
		Router:     route,
		Orderer:    order,
		RetryAfter: cfg.Ingest.RetryAfter.D(),
		Logger:     m.Logger,
		Metrics:    metrics,
		Reject:     rejectHooks(m.quarantine.Keep, sentryReject(m.Monitor), m.alerting.recorder.Reject),
		Tracer:     m.Monitor.Tracer(),
		Key:        key,
	})
	opts := server.Options{Ingest: m.Monitor.Ingest(handler), Readiness: m.Readiness, AdminToken: cfg.AdminToken, Gatherer: reg, Logger: m.Logger, Events: events}
	withAPI(&opts, cfg, store, m.Engine, m.alerting.evaluator, rel, m.Monitor)
	if err := withDashboard(&opts, cfg, store, m.Engine, rel, m.Logger); err != nil {
		return err
	}
	srv := server.New(opts)
	m.routes = srv.Routes()
	m.public = server.HTTPServer(cfg.Listen, m.Monitor.Recover(srv.Public(), m.Logger), m.Logger)
	m.admin = server.HTTPServer(cfg.AdminListen, m.Monitor.Recover(srv.Admin(), m.Logger), m.Logger)
	// Open event streams end at shutdown (their clients resume): Shutdown
	// would otherwise wait for them.
	m.admin.RegisterOnShutdown(srv.CloseStreams)
	m.served = make(chan error, 2)
	for _, s := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{m.public, m.publicLn}, {m.admin, m.adminLn}} {
		go func() {
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.served <- err
			}
		}()
	}
	if err := m.Engine.Start(ctx); err != nil {
		return err
	}
	m.maintenance = newMaintenance(cfg, store, m.quarantine, m.alerting.evaluator, m.Monitor, m.Logger)
	m.maintenance.Start()
	names := make([]string, 0, len(sources))
	for _, s := range sources {
		names = append(names, s.Name)
	}
	m.Logger.Info("hookwatch started", "version", hookwatch.Version, "listen", m.publicLn.Addr().String(),
		"admin_listen", m.adminLn.Addr().String(), "store", storeKind(cfg.Store), "sources", sourceNames(cfg))
	return nil
}

// PublicAddr is the address the public listener is bound to.
func (m *Main) PublicAddr() string { return m.publicLn.Addr().String() }

// AdminAddr is the address the admin listener is bound to.
func (m *Main) AdminAddr() string { return m.adminLn.Addr().String() }

// Close stops accepting requests, waits for in-flight ones (their commits
// finish), then closes the committer and the store.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, s := range []*http.Server{m.public, m.admin} {
		if s != nil {
			if err := s.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("shutdown %s: %w", s.Addr, err))
			}
		}
	}
	// Listeners bound by an Open that failed before serving on them
	// (Shutdown closed the others; closing twice is harmless).
	for _, ln := range []net.Listener{m.publicLn, m.adminLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if m.committer != nil {
		m.committer.Close()
	}
	if m.Readiness != nil {
		m.Readiness.Close()
	}
	// Periodic jobs stop before what they use (the evaluator's lease is
	// given up in alerting.close).
	if m.maintenance != nil {
		m.maintenance.Close()
	}
	// Rejections already queued are written before the store closes.
	if m.quarantine != nil {
		m.quarantine.Close()
	}
	// In-flight deliveries finish (bounded) or their leases are released.
	if m.Engine != nil {
		errs = append(errs, m.Engine.Close(ctx))
	}
	// After the engine: its last failures are recorded into issues.
	m.alerting.close()
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	// Last: what the shutdown reported is sent too (bounded wait).
	if err := m.Monitor.Close(); err != nil {
		m.Logger.Warn("sentry: not everything was sent before exiting", "error", err)
	}
	return errors.Join(errs...)
}

func storeKind(s string) string {
	kind, _, _ := config.ParseStore(s)
	return kind
}
