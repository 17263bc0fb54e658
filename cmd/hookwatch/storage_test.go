package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/config"
)

// mountTmpfs mounts a tmpfs of size bytes under a fresh directory and
// unmounts it at cleanup. It skips the test where mounting is refused (not
// root, or a sandbox without CAP_SYS_ADMIN): the store-level flood tests
// in quarantine/ cover the byte budget without a filesystem of their own.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vol")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a %d-byte tmpfs to play a small disk (needs root and mount permission): %v: %s", size, err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// startOn runs the real server with its SQLite store on dir and the given
// extra config (a YAML fragment).
func startOn(t *testing.T, dir, extra string) *Main {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hookwatch.yaml")
	cfg := fmt.Sprintf(`listen: "127.0.0.1:0"
admin_listen: "127.0.0.1:0"
store: %q
log: {level: error}
%s
sources:
  - name: stripe
    provider: stripe
    secrets: [%q]
`, "sqlite:"+filepath.Join(dir, "hw.db"), extra, crashSecret)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: c}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// flood posts n unsigned requests of size bytes to /in/stripe from a few
// connections, and fails unless each is answered 401.
func flood(t *testing.T, addr string, n, size int) {
	t.Helper()
	body := bytes.Repeat([]byte("x"), size)
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, n)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				resp, err := http.Post("http://"+addr+"/in/stripe", "application/json", bytes.NewReader(body))
				if err != nil {
					errs <- err
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					errs <- fmt.Errorf("unsigned request answered %d, want 401", resp.StatusCode)
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// sumMetric returns the sum of every sample of the counter or gauge name
// on the admin listener's /metrics.
func sumMetric(t *testing.T, adminAddr, name string) float64 {
	t.Helper()
	mfs, _ := scrape(t, adminAddr)
	sum := 0.0
	for _, m := range mfs[name].GetMetric() {
		sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return sum
}

// waitQuarantineSettled waits until the quarantine has dealt with n
// rejected requests: kept or dropped (for any reason).
func waitQuarantineSettled(t *testing.T, adminAddr string, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got := sumMetric(t, adminAddr, "hookwatch_quarantine_kept_total") + sumMetric(t, adminAddr, "hookwatch_quarantine_dropped_total")
		if got >= float64(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the quarantine dealt with %v of %d rejected requests", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The finding, on a genuinely small disk: 800 unsigned POSTs of 300 KB to
// a 64 MiB volume used to fill it through the quarantine, after which every
// correctly signed webhook was answered 503. With the default config the
// quarantine's intake rate, byte budget and free-space floor leave room
// for the events.
func TestQuarantineFloodOnSmallDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs and floods it")
	}
	for _, tc := range []struct {
		name, config string
	}{
		// Defaults only.
		{"defaults", ""},
		// No intake rate to speak of and a byte budget larger than the
		// volume: the free-space floor alone must hold.
		{"floor alone", "quarantine: {rate: 100000, burst: 100000, max_body: 256KiB}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vol := mountTmpfs(t, 64<<20)
			m := startOn(t, vol, tc.config)
			flood(t, m.PublicAddr(), 800, 300_000)
			waitQuarantineSettled(t, m.AdminAddr(), 800)
			for i := range 20 {
				code, _, err := sendStripe(http.DefaultClient, m.PublicAddr(), fmt.Sprintf("evt_after_flood_%d", i))
				if err != nil || code != http.StatusOK {
					t.Fatalf("signed webhook %d after the flood: %d, %v; want 200", i, code, err)
				}
			}
			t.Logf("kept %v, dropped %v", sumMetric(t, m.AdminAddr(), "hookwatch_quarantine_kept_total"),
				sumMetric(t, m.AdminAddr(), "hookwatch_quarantine_dropped_total"))
		})
	}
}
