package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/provider"
)

// Helpers shared by the package's tests: the config files they write, the
// signed Stripe requests most of them send, and the load the kill -9 tests
// put on the server. Building and running the binary is in proc_test.go.

// crashSecret is the Stripe signing secret of the configs below.
const crashSecret = "whsec_crash_test"

// writeYAML writes cfg to dir/hookwatch.yaml, readable by its owner only
// (a config holds secrets), and returns the file's path.
func writeYAML(t *testing.T, dir, cfg string) string {
	t.Helper()
	path := filepath.Join(dir, "hookwatch.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// listenYAML is the head of a config: the public and admin addresses.
func listenYAML(public, admin string) string {
	return fmt.Sprintf("listen: %q\nadmin_listen: %q\n", public, admin)
}

// anyPortsYAML is the head of a config for a server run in-process: it
// listens on ports the kernel picks, and the test asks Main for them.
const anyPortsYAML = "listen: \"127.0.0.1:0\"\nadmin_listen: \"127.0.0.1:0\"\n"

// stripeYAML is a config body with store and one stripe source signed with
// crashSecret.
func stripeYAML(store string) string {
	return fmt.Sprintf(`store: %q
log: {level: warn}
sources:
  - name: stripe
    provider: stripe
    secrets: [%q]
`, store, crashSecret)
}

// writeConfig writes a config with one stripe source on the given addresses.
func writeConfig(t *testing.T, dir, public, admin, store string) string {
	t.Helper()
	return writeYAML(t, dir, listenYAML(public, admin)+stripeYAML(store))
}

// serveConfig writes dir/hookwatch.yaml for a `hookwatch serve` process:
// listen and admin_listen on two addresses from freeAddr, then body. It
// returns the file's path and the two addresses.
func serveConfig(t *testing.T, dir, body string) (path, public, admin string) {
	t.Helper()
	public, admin = freeAddr(t), freeAddr(t)
	return writeYAML(t, dir, listenYAML(public, admin)+body), public, admin
}

// serve writes the config of serveConfig and starts `hookwatch serve` on
// it (env added to its environment), ready; p.config is the file's path.
func serve(t *testing.T, dir, body string, env ...string) *proc {
	t.Helper()
	path, public, admin := serveConfig(t, dir, body)
	return startServe(t, path, public, admin, env...)
}

// stripeRequest is a POST of body to addr's stripe source, signed with
// secret the way Stripe signs it.
func stripeRequest(addr, secret, body string) (*http.Request, error) {
	scheme, err := provider.New("stripe", provider.Config{Secrets: []string{secret}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/in/stripe", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := scheme.(provider.Signer).Sign(req.Header, "", []byte(body), time.Now()); err != nil {
		return nil, err
	}
	return req, nil
}

// mustStripeRequest is stripeRequest for a test that stops at an error.
func mustStripeRequest(t *testing.T, addr, secret, body string) *http.Request {
	t.Helper()
	req, err := stripeRequest(addr, secret, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// sendStripe posts a signed Stripe event and returns the status and the
// Hookwatch event ID of the answer.
func sendStripe(client *http.Client, addr, providerID string) (int, string, error) {
	body := fmt.Sprintf(`{"id":%q,"object":"event","type":"invoice.paid","livemode":true,"data":{"object":{"amount":%d}}}`, providerID, len(providerID))
	req, err := stripeRequest(addr, crashSecret, body)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var a struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a.ID, nil
}

// stripeFlood is the load of the tests that stop the server mid-stream:
// workers send signed Stripe events (provider IDs prefix_w<worker>_<i>)
// to one address as fast as it answers, each until a request of its own
// fails. A request that fails before the stop is a test error; after it,
// it is how a worker learns of the stop.
type stripeFlood struct {
	mu      sync.Mutex // held while answered and enough run
	stopped atomic.Bool
	sent    atomic.Int64
	wg      sync.WaitGroup
}

// startFlood starts workers goroutines sending to addr. Each answer is
// handed to answered (status and the Hookwatch event ID of the answer),
// one at a time. A worker answered 503 pauses briefly before its next
// request, as a provider honouring Retry-After would.
func startFlood(t *testing.T, addr, prefix string, workers int, answered func(providerID, id string, status int)) *stripeFlood {
	f := &stripeFlood{}
	// A test that fails before stop leaves the workers running until the
	// server is killed: their failed requests are no error then.
	t.Cleanup(func() { f.stopped.Store(true) })
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range workers {
		f.wg.Go(func() {
			for i := 0; ; i++ {
				pid := fmt.Sprintf("%s_w%d_%d", prefix, w, i)
				status, id, err := sendStripe(client, addr, pid)
				f.sent.Add(1)
				if err != nil {
					if !f.stopped.Load() {
						t.Errorf("request failed before the stop: %v", err)
					}
					return
				}
				f.mu.Lock()
				answered(pid, id, status)
				f.mu.Unlock()
				if status == http.StatusServiceUnavailable {
					time.Sleep(5 * time.Millisecond) // Retry-After, shortened
				}
			}
		})
	}
	return f
}

// waitUntil polls enough, one at a time with answered, until it reports
// true or within has passed; it says which.
func (f *stripeFlood) waitUntil(within time.Duration, enough func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		f.mu.Lock()
		ok := enough()
		f.mu.Unlock()
		if ok || time.Now().After(deadline) {
			return ok
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop marks the flood stopped, runs stopServer (a kill -9, a SIGTERM),
// waits until every worker has returned, and returns how many requests
// were sent, failed ones included.
func (f *stripeFlood) stop(stopServer func()) int64 {
	f.stopped.Store(true)
	stopServer()
	f.wg.Wait()
	return f.sent.Load()
}

// floodUntilKill is the kill -9 tests' load: 16 workers of startFlood
// until enough (or within has passed), then kill. It returns the requests
// sent.
func floodUntilKill(t *testing.T, addr, prefix string, within time.Duration, answered func(providerID, id string, status int), enough func() bool, kill func()) int64 {
	f := startFlood(t, addr, prefix, 16, answered)
	f.waitUntil(within, enough)
	return f.stop(kill)
}

// readFile returns the contents of the file at path.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
