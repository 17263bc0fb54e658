package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/postgres/pgtest"
	"github.com/hookwatch/hookwatch/readiness"
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

// serveOn runs `hookwatch serve` (the built binary, not this race-built
// test process: the flood below pushes 240 MB through the receive path and
// the quarantine, which costs minutes of CPU under -race) with its SQLite
// store on dir and the given extra config (a YAML fragment).
func serveOn(t *testing.T, dir, extra string) *proc {
	t.Helper()
	return serve(t, t.TempDir(), fmt.Sprintf(`store: %q
log: {level: error}
%s
sources:
  - name: stripe
    provider: stripe
    secrets: [%q]
`, "sqlite:"+filepath.Join(dir, "hw.db"), extra, crashSecret))
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
	t.Parallel()
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
			t.Parallel()
			vol := mountTmpfs(t, 64<<20)
			p := serveOn(t, vol, tc.config)
			flood(t, p.public, 800, 300_000)
			waitQuarantineSettled(t, p.admin, 800)
			for i := range 20 {
				code, answer, err := sendStripe(http.DefaultClient, p.public, fmt.Sprintf("evt_after_flood_%d", i))
				if err != nil || code != http.StatusOK {
					t.Fatalf("signed webhook %d after the flood: %d %s, %v; want 200; serve (exited: %v) logged %d bytes:\n%s\nreadyz: %s", i, code, answer, err, p.hasExited(), p.logs.Len(), p.logs, readyzBody(p.public))
				}
			}
			t.Logf("kept %v, dropped %v", sumMetric(t, p.admin, "hookwatch_quarantine_kept_total"),
				sumMetric(t, p.admin, "hookwatch_quarantine_dropped_total"))
		})
	}
}

// writeStoreConfig writes a config with the given store and extra YAML.
func writeStoreConfig(t *testing.T, store, extra string) string {
	t.Helper()
	return writeYAML(t, t.TempDir(), fmt.Sprintf("store: %q\nlog: {level: error}\n%s\nsources:\n  - {name: stripe, provider: stripe, secrets: [%q]}\n", store, extra, crashSecret))
}

// `hookwatch health` says whether the store can write and how much room its
// volume has against storage.min_free, in text and in JSON; on PostgreSQL
// it says the free space is unknown, with no number.
func TestHealthReportsStorage(t *testing.T) {
	t.Parallel()
	db := "sqlite:" + filepath.Join(t.TempDir(), "hw.db")
	path := writeStoreConfig(t, db, "")
	out, _, err := run(t, nil, "health", "--config", path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Store:   ready (write probe passed)") || !regexp.MustCompile(`Volume:  [0-9.]+ [KMGT]iB free of [0-9.]+ [KMGT]iB \(floor [0-9.]+ [KMGT]?i?B\)`).MatchString(out) {
		t.Errorf("health with room:\n%s", out)
	}
	out, _, err = run(t, nil, "health", "--config", path, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Windows   []any            `json:"windows"`
		Readiness readiness.Status `json:"readiness"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("health --json: %v\n%s", err, out)
	}
	if len(rep.Windows) == 0 || !rep.Readiness.Ready || !rep.Readiness.Storage.Known() || *rep.Readiness.Storage.FreeBytes <= 0 {
		t.Errorf("health --json with room: %s", out)
	}

	// A floor the volume cannot meet: the reason, in both forms.
	path = writeStoreConfig(t, db, "storage: {min_free: 99.9%}")
	out, _, err = run(t, nil, "health", "--config", path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Store:   NOT READY") || !strings.Contains(out, "low_disk: ") || !strings.Contains(out, "under storage.min_free") ||
		!strings.Contains(out, "the quarantine keeps nothing; verified events are still accepted") {
		t.Errorf("health under the floor:\n%s", out)
	}
	out, _, err = run(t, nil, "health", "--config", path, "--json")
	if err != nil || !strings.Contains(out, `"reason":"low_disk"`) || !strings.Contains(out, `"low":true`) {
		t.Errorf("health --json under the floor: %v\n%s", err, out)
	}

	if pg := os.Getenv("HOOKWATCH_TEST_POSTGRES"); pg != "" {
		path = writeStoreConfig(t, pgtest.URL(t), "")
		out, _, err = run(t, nil, "health", "--config", path)
		if err != nil || !strings.Contains(out, "Store:   ready") || !strings.Contains(out, "Volume:  free space unknown: the store is PostgreSQL") {
			t.Errorf("health on PostgreSQL: %v\n%s", err, out)
		}
		out, _, err = run(t, nil, "health", "--config", path, "--json")
		if err != nil || !strings.Contains(out, `"free_bytes":null`) || !strings.Contains(out, `"unknown":"the store is PostgreSQL`) {
			t.Errorf("health --json on PostgreSQL: %v\n%s", err, out)
		}
	}
}

func (p *proc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

func readyzBody(addr string) string {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status + " " + string(b)
}
