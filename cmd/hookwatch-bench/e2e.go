package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/provider"
	"github.com/hookwatch/hookwatch/sqlite"
)

// sink is the user's app: it answers 200 and measures the delivery lag
// from the event's receive time, which its webhook-id (a ULID) carries to
// the millisecond.
type sink struct {
	delivered atomic.Int64
	measuring atomic.Bool
	mu        sync.Mutex
	lags      []time.Duration
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	now := time.Now()
	s.delivered.Add(1)
	if s.measuring.Load() {
		if at, ok := ulidTime(r.Header.Get("webhook-id")); ok {
			s.mu.Lock()
			s.lags = append(s.lags, now.Sub(at))
			s.mu.Unlock()
		}
	}
}

// ulidTime reads the millisecond timestamp of a Hookwatch ID ("evt_" + ULID).
func ulidTime(id string) (time.Time, bool) {
	_, u, ok := strings.Cut(id, "_")
	if !ok || len(u) != 26 {
		return time.Time{}, false
	}
	var ms int64
	for _, c := range u[:10] {
		i := strings.IndexRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", c)
		if i < 0 {
			return time.Time{}, false
		}
		ms = ms<<5 | int64(i)
	}
	return time.UnixMilli(ms), true
}

func runE2E(args []string) error {
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	rates := fs.String("rates", "1000,2000,4000,8000", "ingest rates to hold, events/s (comma-separated)")
	dur := fs.Duration("duration", 10*time.Second, "measured time per rate")
	conns := fs.Int("conns", 64, "concurrent ingest connections")
	size := fs.Int("size", 1024, "body size in bytes")
	inFlight := fs.Int("in-flight", 64, "the destination's max_in_flight")
	backlog := fs.Int("backlog", 200000, "deliveries queued for the backlog drain (0 skips it; SQLite only)")
	store := fs.String("store", "", "store URL (default: a fresh SQLite file); e.g. postgres://...&search_path=bench")
	instances := fs.Int("instances", 1, "hookwatch serve processes sharing the store (PostgreSQL), ingest spread across them")
	withTransform := fs.Bool("transform", false, "give the destination a JavaScript transform (reshape the body, add a header) run on every delivery")
	profile := fs.String("profile", "", "write a CPU profile of the first hookwatch serve over the last rate's measured window to this file (go tool pprof FILE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *instances < 1 || (*instances > 1 && !strings.HasPrefix(*store, "postgres")) {
		return fmt.Errorf("--instances > 1 needs a shared --store postgres://...")
	}
	dir, err := os.MkdirTemp("", "hookwatch-e2e-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := buildHookwatch(dir)
	if err != nil {
		return err
	}
	sk := &sink{}
	sinkAddr := freeAddr()
	sinkSrv := &http.Server{Addr: sinkAddr, Handler: sk}
	go sinkSrv.ListenAndServe()
	defer sinkSrv.Close()

	dbPath := filepath.Join(dir, "bench.db")
	storeURL := *store
	if storeURL == "" {
		storeURL = "sqlite:" + dbPath
	}
	transformLine := ""
	if *withTransform {
		js := `addHandler("transform", (request, context) => {
  const o = request.body.data.object;
  request.body = {type: context.type, id: request.body.id, amount: o.amount_paid, currency: o.currency, customer: o.customer};
  request.headers["x-event-type"] = context.type;
  return request;
});
`
		if err := os.WriteFile(filepath.Join(dir, "transform.js"), []byte(js), 0o600); err != nil {
			return err
		}
		transformLine = "\n    transform: transform.js"
	}
	var publics, admins, cfgPaths []string
	for i := 0; i < *instances; i++ {
		public, admin := freeAddr(), freeAddr()
		cfg := fmt.Sprintf(`listen: %q
admin_listen: %q
admin_token: %q
store: %q
log: {level: error}
sources:
  - name: stripe
    provider: stripe
    secrets: [%q]
destinations:
  - name: app
    url: "http://%s/webhooks"
    secret: "whsec_aG9va3dhdGNoLWRlbW8tZGVzdGluYXRpb24ta2V5ISE="
    max_in_flight: %d%s
routes:
  - source: stripe
    destinations: [app]
`, public, admin, benchAdminToken, storeURL, benchSecret, sinkAddr, *inFlight, transformLine)
		cfgPath := filepath.Join(dir, fmt.Sprintf("hookwatch%d.yaml", i))
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			return err
		}
		publics, admins, cfgPaths = append(publics, public), append(admins, admin), append(cfgPaths, cfgPath)
	}
	var procs []*exec.Cmd
	start := func() (*exec.Cmd, error) {
		procs = procs[:0]
		for i, cfgPath := range cfgPaths {
			hw := exec.Command(bin, "serve", "--config", cfgPath)
			hw.Stderr = os.Stderr
			if err := hw.Start(); err != nil {
				return nil, err
			}
			procs = append(procs, hw)
			if err := waitReady("http://" + publics[i] + "/readyz"); err != nil {
				return nil, err
			}
		}
		return procs[0], nil
	}
	hw, err := start()
	if err != nil {
		return err
	}
	defer func() {
		for _, p := range procs {
			p.Process.Kill()
		}
	}()

	fmt.Printf("e2e benchmark: %s store, %d instance(s), %d-byte Stripe events, destination max_in_flight %d, %d ingest connections, transform %v, %d CPUs\n",
		strings.SplitN(storeURL, ":", 2)[0], *instances, *size, *inFlight, *conns, *withTransform, numCPU())
	serverCPU := func() (t time.Duration) {
		for _, p := range procs {
			t += processCPU(p.Process.Pid)
		}
		return t
	}
	scheme, err := provider.New("stripe", provider.Config{Secrets: []string{benchSecret}})
	if err != nil {
		return err
	}
	signer := scheme.(provider.Signer)
	tr := &http.Transport{MaxIdleConns: *conns, MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var acked atomic.Int64
	prefix := fmt.Sprintf(`{"id":"evt_e2e_%d_`, time.Now().UnixNano())
	var seq atomic.Int64

	rateList := strings.Split(*rates, ",")
	for ri, rs := range rateList {
		rate, err := strconv.Atoi(strings.TrimSpace(rs))
		if err != nil || rate <= 0 {
			return fmt.Errorf("bad rate %q", rs)
		}
		// Open loop: tokens every 10 ms, whatever the answers' latency.
		tokens := make(chan struct{}, rate*int(*dur/time.Second+5))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < *conns; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range tokens {
					i := int(seq.Add(1))
					b := stripeBody(prefix, w, i, *size)
					req, _ := http.NewRequest(http.MethodPost, "http://"+publics[w%len(publics)]+"/in/stripe", bytes.NewReader(b))
					req.Header.Set("Content-Type", "application/json")
					signer.Sign(req.Header, "", b, time.Now())
					resp, err := client.Do(req)
					if err != nil {
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						acked.Add(1)
					}
				}
			}()
		}
		go func() {
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			perTick, carry := rate/100, rate%100
			acc := 0
			for {
				select {
				case <-stop:
					close(tokens)
					return
				case <-t.C:
					n := perTick
					if acc += carry; acc >= 100 {
						acc -= 100
						n++
					}
					for j := 0; j < n; j++ {
						select {
						case tokens <- struct{}{}:
						default: // the generator is saturated: the acked rate says so
						}
					}
				}
			}
		}()
		time.Sleep(2 * time.Second) // warm-up
		sk.mu.Lock()
		sk.lags = sk.lags[:0]
		sk.mu.Unlock()
		a0, d0, c0 := acked.Load(), sk.delivered.Load(), serverCPU()
		sk.measuring.Store(true)
		t0 := time.Now()
		profiled := make(chan struct{})
		if *profile != "" && ri == len(rateList)-1 {
			go func() {
				defer close(profiled)
				if err := captureProfile("http://"+admins[0], *dur, *profile); err != nil {
					fmt.Fprintln(os.Stderr, "hookwatch-bench: profile:", err)
				}
			}()
		} else {
			close(profiled)
		}
		var peak int64
		for time.Since(t0) < *dur {
			time.Sleep(250 * time.Millisecond)
			for _, p := range procs {
				peak = max(peak, currentRSS(p.Process.Pid))
			}
		}
		el := time.Since(t0)
		a1, d1, c1 := acked.Load(), sk.delivered.Load(), serverCPU()
		sk.measuring.Store(false)
		<-profiled
		close(stop)
		wg.Wait()
		sk.mu.Lock()
		lags := append([]time.Duration(nil), sk.lags...)
		sk.mu.Unlock()
		sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
		pct := func(p float64) time.Duration {
			if len(lags) == 0 {
				return 0
			}
			return lags[int(float64(len(lags)-1)*p)].Round(100 * time.Microsecond)
		}
		behind := acked.Load() - sk.delivered.Load()
		// Server CPU (ingest and delivery) per event delivered in the window.
		var cpuPer time.Duration
		if d1 > d0 {
			cpuPer = (c1 - c0) / time.Duration(d1-d0)
		}
		fmt.Printf("rate %6d/s: ingested %7.0f/s  delivered %7.0f/s  lag p50 %8s  p99 %8s  backlog at end %6d  peak RSS %s  server CPU/event %s\n",
			rate, float64(a1-a0)/el.Seconds(), float64(d1-d0)/el.Seconds(), pct(0.5), pct(0.99), behind, mib(peak), cpuPer.Round(time.Microsecond))
		// Let the backlog drain before the next rate.
		deadline := time.Now().Add(2 * time.Minute)
		for sk.delivered.Load() < acked.Load() && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
	}

	if *backlog <= 0 || *store != "" {
		return nil // the backlog is queued straight into a SQLite file
	}
	// Backlog: stop the server, queue N deliveries straight into the store
	// (faster than ingesting them), restart, and watch it drain.
	hw.Process.Signal(os.Interrupt)
	hw.Wait()
	fmt.Printf("backlog: queueing %d deliveries...\n", *backlog)
	if err := queueBacklog(dbPath, *backlog, *size); err != nil {
		return err
	}
	base := sk.delivered.Load()
	t0 := time.Now()
	if hw, err = start(); err != nil {
		return err
	}
	var peak int64
	for sk.delivered.Load()-base < int64(*backlog) {
		time.Sleep(250 * time.Millisecond)
		peak = max(peak, currentRSS(hw.Process.Pid))
		if time.Since(t0) > 30*time.Minute {
			return fmt.Errorf("backlog not drained after 30 minutes (%d of %d)", sk.delivered.Load()-base, *backlog)
		}
	}
	el := time.Since(t0)
	fmt.Printf("backlog %d: drained in %s (%.0f deliveries/s, including start-up), peak RSS while draining %s\n",
		*backlog, el.Round(100*time.Millisecond), float64(*backlog)/el.Seconds(), mib(peak))
	return nil
}

// queueBacklog inserts n events routed to "app" into the store.
func queueBacklog(path string, n, size int) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	body := stripeBody(`{"id":"evt_backlog_`, 0, 0, size)
	now := time.Now().UTC()
	for i := 0; i < n; i += 1000 {
		batch := make([]*hookwatch.Event, 0, 1000)
		for j := i; j < min(n, i+1000); j++ {
			batch = append(batch, &hookwatch.Event{ID: hookwatch.NewID("evt", now), Source: "stripe", Provider: "stripe",
				Type: "invoice.paid", Headers: http.Header{"Content-Type": {"application/json"}}, Body: body,
				ReceivedAt: now, Destinations: []string{"app"}})
		}
		if _, err := st.InsertEvents(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}
