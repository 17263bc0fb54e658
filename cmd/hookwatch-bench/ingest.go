package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch/provider"
)

const benchSecret = "whsec_bench_secret"

func runIngest(args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	conns := fs.Int("conns", 64, "concurrent connections")
	dur := fs.Duration("duration", 10*time.Second, "measured time per server")
	warm := fs.Duration("warmup", 2*time.Second, "warm-up before measuring")
	size := fs.Int("size", 1024, "body size in bytes")
	store := fs.String("store", "", "Hookwatch store (default: a fresh SQLite file in a temp dir); e.g. postgres://...")
	sentryMode := fs.String("sentry", "", "also report to a local Sentry receiver that answers: ok, 429 or hang (every request traced)")
	profile := fs.String("profile", "", "write a CPU profile of hookwatch serve over the measured window to this file (go tool pprof FILE)")
	writers := fs.Int("writers", 0, "ingest.writers: group commits in flight (0: the store's default)")
	skipCeiling := fs.Bool("no-ceiling", false, "skip the bare net/http ceiling (when only CPU per event matters)")
	encrypted := fs.Bool("encrypt", false, "encrypt event payloads at rest (encryption.keys with a random key)")
	routed := fs.Bool("destination", false, "route every event to one destination, paused: each event is owed a delivery row (written by the fan-out, inside the figure), none is sent")
	routes := fs.Int("routes", 0, "N routes from the source, each to a destination of its own, paused like --destination's")
	filter := fs.String("filter", "", "a CEL filter on every route (with --routes), e.g. 'body.livemode == true'")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *filter != "" && *routes == 0 {
		return fmt.Errorf("--filter needs --routes")
	}
	if *routed && *routes > 0 {
		return fmt.Errorf("--destination and --routes: choose one")
	}
	dir, err := os.MkdirTemp("", "hookwatch-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := buildHookwatch(dir)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("ingest benchmark: %d connections, %d-byte bodies, %s warm-up + %s measured per server, GOMAXPROCS=%s, %d CPUs\n",
		*conns, *size, *warm, *dur, os.Getenv("GOMAXPROCS"), numCPU())

	// The ceiling: a bare net/http server that reads the body and answers 200.
	bareAddr := freeAddr()
	bare := exec.Command(self, "bare-server", bareAddr)
	bare.Stderr = os.Stderr
	if err := bare.Start(); err != nil {
		return err
	}
	defer bare.Process.Kill()
	if err := waitReady("http://" + bareAddr + "/"); err != nil {
		return err
	}
	body := bytes.Repeat([]byte("x"), *size)
	var ceiling result
	if !*skipCeiling {
		ceiling = load("bare net/http (ceiling)", bare.Process.Pid, *conns, *warm, *dur, func(w, i int) *http.Request {
			req, _ := http.NewRequest(http.MethodPost, "http://"+bareAddr+"/in/x", bytes.NewReader(body))
			return req
		}, nil)
		ceiling.peakRSS = peakRSS(bare.Process.Pid)
		fmt.Println(ceiling)
	}
	bare.Process.Kill()
	bare.Wait()

	// Hookwatch: signed Stripe events, each with a unique ID, durable commit.
	storeURL := *store
	if storeURL == "" {
		storeURL = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	var pg *pgBackends
	if isPostgres(storeURL) {
		// The server's backends, told apart from other users of the
		// database by their application_name.
		var app string
		storeURL, app = withAppName(storeURL, fmt.Sprintf("hookwatch-bench-%d", os.Getpid()))
		if pg, err = openPGBackends(storeURL, app); err != nil {
			return fmt.Errorf("watch PostgreSQL's CPU: %w", err)
		}
		defer pg.close()
	}
	public, admin := freeAddr(), freeAddr()
	cfg := fmt.Sprintf("listen: %q\nadmin_listen: %q\nadmin_token: %q\nstore: %q\nlog: {level: error}\nsources:\n  - name: stripe\n    provider: stripe\n    secrets: [%q]\n",
		public, admin, benchAdminToken, storeURL, benchSecret)
	if *writers > 0 {
		cfg += fmt.Sprintf("ingest: {writers: %d}\n", *writers)
	}
	if *routed {
		// Paused through the admin API before the load starts; its URL
		// is a closed port all the same.
		cfg += fmt.Sprintf("destinations:\n  - name: app\n    url: \"http://%s/webhooks\"\n    secret: \"whsec_aG9va3dhdGNoLWRlbW8tZGVzdGluYXRpb24ta2V5ISE=\"\nroutes:\n  - source: stripe\n    destinations: [app]\n", freeAddr())
	}
	if *routes > 0 {
		closed := freeAddr()
		cfg += "destinations:\n"
		for i := range *routes {
			cfg += fmt.Sprintf("  - {name: d%d, url: %q}\n", i, "http://"+closed+"/webhooks")
		}
		cfg += "routes:\n"
		for i := range *routes {
			cfg += fmt.Sprintf("  - {source: stripe, destinations: [d%d]", i)
			if *filter != "" {
				cfg += fmt.Sprintf(", filter: %q", *filter)
			}
			cfg += "}\n"
		}
	}
	if *encrypted {
		key := make([]byte, 32)
		rand.Read(key)
		cfg += fmt.Sprintf("encryption: {keys: [%q]}\n", base64.StdEncoding.EncodeToString(key))
	}
	if *sentryMode != "" {
		dsn, stop, err := sentryReceiver(*sentryMode)
		if err != nil {
			return err
		}
		defer stop()
		cfg += fmt.Sprintf("sentry: {dsn: %q, environment: bench, traces_sample_rate: 1.0, logs: true}\n", dsn)
	}
	cfgPath := filepath.Join(dir, "hookwatch.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	hw := exec.Command(bin, "serve", "--config", cfgPath)
	hw.Stderr = os.Stderr
	if err := hw.Start(); err != nil {
		return err
	}
	defer hw.Process.Kill()
	if err := waitReady("http://" + public + "/readyz"); err != nil {
		return err
	}
	if *routed {
		if err := adminPost("http://" + admin + "/api/destinations/app/pause"); err != nil {
			return fmt.Errorf("pause the destination: %w", err)
		}
	}
	for i := range *routes {
		if err := adminPost(fmt.Sprintf("http://%s/api/destinations/d%d/pause", admin, i)); err != nil {
			return fmt.Errorf("pause destination d%d: %w", i, err)
		}
	}
	scheme, err := provider.New("stripe", provider.Config{Secrets: []string{benchSecret}})
	if err != nil {
		return err
	}
	signer := scheme.(provider.Signer)
	prefix := fmt.Sprintf(`{"id":"evt_bench_%d_`, time.Now().UnixNano())
	name := "hookwatch ingest (" + strings.SplitN(storeURL, ":", 2)[0] + ")"
	if *sentryMode != "" {
		name = "hookwatch ingest, Sentry " + *sentryMode
	}
	if *encrypted {
		name += ", encrypted"
	}
	if *routed {
		name += ", 1 destination"
	}
	if *routes > 0 {
		name += fmt.Sprintf(", %d routes", *routes)
		if *filter != "" {
			name += " filtered"
		}
	}
	var (
		pgDone      = make(chan struct{})
		pgOwn, pgBG time.Duration
		pgN         int
		pgErr       error
	)
	during := func(d time.Duration) {
		if pg != nil {
			go func() {
				defer close(pgDone)
				pgOwn, pgBG, pgN, pgErr = pg.measure(d)
			}()
		} else {
			close(pgDone)
		}
		if *profile != "" {
			if err := captureProfile("http://"+admin, d, *profile); err != nil {
				fmt.Fprintln(os.Stderr, "hookwatch-bench: profile:", err)
			}
		}
	}
	hook := load(name, hw.Process.Pid, *conns, *warm, *dur, func(w, i int) *http.Request {
		b := stripeBody(prefix, w, i, *size)
		req, _ := http.NewRequest(http.MethodPost, "http://"+public+"/in/stripe", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		signer.Sign(req.Header, "", b, time.Now())
		return req
	}, during)
	hook.peakRSS = peakRSS(hw.Process.Pid)
	fmt.Println(hook)
	if pg != nil {
		<-pgDone
		if pgErr != nil {
			fmt.Fprintln(os.Stderr, "hookwatch-bench: PostgreSQL CPU:", pgErr)
		} else {
			fmt.Println(pgReport(pgOwn, pgBG, pgN, hook.accepted(), hook.elapsed))
		}
	}
	if size, took, err := commitStats("http://" + admin); err == nil {
		fmt.Printf("group commits (whole run): %.1f events per batch, %.2f ms per commit\n", size, took*1000)
	}
	if ceiling.requests > 0 {
		fmt.Printf("ratio: %.2f of the ceiling's throughput\n", hook.rps()/ceiling.rps())
	}
	if *profile != "" {
		// The capture ends with the measured window; give it a moment.
		time.Sleep(time.Second)
	}
	return nil
}

// commitStats reads the mean batch size and commit time of the whole run
// from the server's /metrics.
func commitStats(admin string) (size, took float64, err error) {
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	v := map[string]float64{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && strings.HasPrefix(f[0], "hookwatch_ingest_commit_") {
			var x float64
			fmt.Sscan(f[1], &x)
			v[f[0]] = x
		}
	}
	n := v["hookwatch_ingest_commit_batch_size_count"]
	if n == 0 {
		return 0, 0, fmt.Errorf("no group commit in /metrics")
	}
	return v["hookwatch_ingest_commit_batch_size_sum"] / n, v["hookwatch_ingest_commit_duration_seconds_sum"] / n, nil
}

// adminPost posts to Hookwatch's admin API and checks for a 200.
func adminPost(url string) error {
	resp, err := adminDo(http.MethodPost, url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// benchAdminToken authenticates the bench on the admin listener.
const benchAdminToken = "bench-admin-token"

// adminDo sends a request with the bench's admin token and returns the
// response, or an error naming the URL and status unless it is a 200.
func adminDo(method, url string) (*http.Response, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+benchAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, b)
	}
	return resp, nil
}

// captureProfile fetches a CPU profile of d from the admin listener's
// /debug/pprof/profile into path.
func captureProfile(admin string, d time.Duration, path string) error {
	secs := int(d / time.Second)
	if secs < 1 {
		secs = 1
	}
	resp, err := adminDo(http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", admin, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// stripeBody builds a Stripe-shaped event of about size bytes with a unique ID.
func stripeBody(prefix string, w, i, size int) []byte {
	head := fmt.Sprintf(`%s%d_%d","object":"event","type":"invoice.paid","livemode":true,"data":{"object":{"pad":"`, prefix, w, i)
	tail := `"}}}`
	pad := size - len(head) - len(tail)
	if pad < 0 {
		pad = 0
	}
	return []byte(head + strings.Repeat("a", pad) + tail)
}

func runBareServer(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("bare-server ADDR")
	}
	srv := &http.Server{
		Addr:              args[0],
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 1<<20))
			w.WriteHeader(http.StatusOK)
		}),
	}
	return srv.ListenAndServe()
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(url string) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after 20s", url)
}

// sentryReceiver starts a local stand-in for Sentry's ingest endpoint that
// answers every envelope with 200 ("ok"), 429 with Retry-After ("429"), or
// never ("hang"), and returns a DSN pointing at it.
func sentryReceiver(mode string) (dsn string, stop func(), err error) {
	quit := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		switch mode {
		case "429":
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusTooManyRequests)
		case "hang":
			<-quit
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	switch mode {
	case "ok", "429", "hang":
	default:
		return "", nil, fmt.Errorf("--sentry %q: use ok, 429 or hang", mode)
	}
	addr := freeAddr()
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.ListenAndServe()
	return "http://public@" + addr + "/1", func() { close(quit); srv.Close() }, nil
}
