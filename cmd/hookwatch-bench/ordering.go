package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookwatch/hookwatch/provider"
)

// orderSink answers 200 after delay and counts deliveries, checking each
// key's order (seq per key) for the ordered run.
type orderSink struct {
	delay     time.Duration
	delivered atomic.Int64
	mu        sync.Mutex
	next      map[string]int
	outOfOrd  int
}

func (s *orderSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev struct {
		Data struct {
			Object struct {
				ID  string `json:"id"`
				Seq int    `json:"seq"`
			} `json:"object"`
		} `json:"data"`
	}
	json.Unmarshal(body, &ev)
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	k := ev.Data.Object.ID
	s.mu.Lock()
	if ev.Data.Object.Seq != s.next[k] {
		s.outOfOrd++
	}
	s.next[k] = ev.Data.Object.Seq + 1
	s.mu.Unlock()
	s.delivered.Add(1)
}

func runOrdering(args []string) error {
	fs := flag.NewFlagSet("ordering", flag.ContinueOnError)
	keys := fs.Int("keys", 1000, "ordering keys")
	per := fs.Int("per-key", 10, "events per key, sent in order (each once the previous was acknowledged)")
	conns := fs.Int("conns", 32, "concurrent ingest connections (keys are spread over them)")
	inFlight := fs.Int("in-flight", 64, "the destination's max_in_flight")
	delay := fs.Duration("app-delay", 0, "how long the app takes to answer each delivery")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "hookwatch-ordering-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := buildHookwatch(dir)
	if err != nil {
		return err
	}
	fmt.Printf("ordering benchmark: SQLite, %d keys x %d events (%d), %d ingest connections, max_in_flight %d, app delay %s, %d CPUs\n",
		*keys, *per, *keys**per, *conns, *inFlight, *delay, numCPU())
	for _, ordered := range []bool{false, true} {
		if err := orderingRun(bin, dir, ordered, *keys, *per, *conns, *inFlight, *delay); err != nil {
			return err
		}
	}
	return nil
}

func orderingRun(bin, dir string, ordered bool, keys, per, conns, inFlight int, delay time.Duration) error {
	sk := &orderSink{delay: delay, next: map[string]int{}}
	sinkAddr := freeAddr()
	sinkSrv := &http.Server{Addr: sinkAddr, Handler: sk}
	go sinkSrv.ListenAndServe()
	defer sinkSrv.Close()
	name := "unordered"
	ordering := ""
	if ordered {
		name, ordering = "ordered", "\n    ordering: {key: 'body.data.object.id'}"
	}
	public, adminAddr := freeAddr(), freeAddr()
	db := filepath.Join(dir, name+".db")
	cfg := fmt.Sprintf(`listen: %q
admin_listen: %q
admin_token: %q
store: "sqlite:%s"
log: {level: error}
sources:
  - name: stripe
    provider: stripe
    secrets: [%q]
destinations:
  - name: app
    url: "http://%s/webhooks"
    max_in_flight: %d%s
routes:
  - source: stripe
    destinations: [app]
`, public, adminAddr, benchAdminToken, db, benchSecret, sinkAddr, inFlight, ordering)
	cfgPath := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	hw := exec.Command(bin, "serve", "--config", cfgPath)
	hw.Stderr = os.Stderr
	if err := hw.Start(); err != nil {
		return err
	}
	defer func() { hw.Process.Kill(); hw.Wait() }()
	if err := waitReady("http://" + public + "/readyz"); err != nil {
		return err
	}
	scheme, err := provider.New("stripe", provider.Config{Secrets: []string{benchSecret}})
	if err != nil {
		return err
	}
	signer := scheme.(provider.Signer)
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	send := func(base int) error {
		stamp := time.Now().UnixNano()
		var wg sync.WaitGroup
		var failed atomic.Int64
		for w := range conns {
			wg.Go(func() {
				for k := w; k < keys; k += conns {
					key := fmt.Sprintf("k%05d", k)
					for seq := base; seq < base+per; seq++ {
						b := []byte(fmt.Sprintf(`{"id":"evt_o%d_%s_%d","object":"event","type":"invoice.updated","data":{"object":{"id":%q,"seq":%d}}}`,
							stamp, key, seq, key, seq))
						req, _ := http.NewRequest(http.MethodPost, "http://"+public+"/in/stripe", bytes.NewReader(b))
						req.Header.Set("Content-Type", "application/json")
						signer.Sign(req.Header, "", b, time.Now())
						resp, err := client.Do(req)
						if err != nil {
							failed.Add(1)
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							failed.Add(1)
						}
					}
				}
			})
		}
		wg.Wait()
		if n := failed.Load(); n > 0 {
			return fmt.Errorf("%s: %d events not acknowledged", name, n)
		}
		return nil
	}
	total := int64(keys * per)
	wait := func(want int64) error {
		deadline := time.Now().Add(5 * time.Minute)
		for sk.delivered.Load() < want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := sk.delivered.Load(); got < want {
			return fmt.Errorf("%s: %d of %d delivered after 5 minutes", name, got, want)
		}
		return nil
	}
	admin := func(action string) error {
		req, _ := http.NewRequest(http.MethodPost, "http://"+adminAddr+"/api/destinations/app/"+action, nil)
		req.Header.Set("Authorization", "Bearer "+benchAdminToken)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s app: HTTP %d", action, resp.StatusCode)
		}
		return nil
	}

	// End to end: events sent per key in order while they are delivered.
	cpu0 := processCPU(hw.Process.Pid)
	t0 := time.Now()
	if err := send(0); err != nil {
		return err
	}
	ingested := time.Since(t0)
	if err := wait(total); err != nil {
		return err
	}
	el := time.Since(t0)
	cpu := processCPU(hw.Process.Pid) - cpu0
	fmt.Printf("%-9s end to end: %d events ingested in %s, all delivered in %s: %5.0f delivered/s, serve CPU %s per event\n",
		name, total, ingested.Round(10*time.Millisecond), el.Round(10*time.Millisecond), float64(total)/el.Seconds(),
		(cpu / time.Duration(total)).Round(time.Microsecond))

	// Drain: the same again queued while the destination is paused, then
	// resumed: every key's 10 deliveries wait at once, as after an outage.
	if err := admin("pause"); err != nil {
		return err
	}
	if err := send(per); err != nil {
		return err
	}
	cpu0 = processCPU(hw.Process.Pid)
	t0 = time.Now()
	if err := admin("resume"); err != nil {
		return err
	}
	if err := wait(2 * total); err != nil {
		return err
	}
	el = time.Since(t0)
	cpu = processCPU(hw.Process.Pid) - cpu0
	sk.mu.Lock()
	ooo := sk.outOfOrd
	sk.mu.Unlock()
	fmt.Printf("%-9s drain:      %d queued deliveries drained in %s: %5.0f delivered/s, serve CPU %s per delivery; %d deliveries out of key order\n",
		name, total, el.Round(10*time.Millisecond), float64(total)/el.Seconds(), (cpu / time.Duration(total)).Round(time.Microsecond), ooo)
	return nil
}
