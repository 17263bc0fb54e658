package readiness_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/readiness"
	"github.com/prometheus/client_golang/prometheus"
)

// commits plays the committer: the latest batch's number and error.
type commits struct {
	mu  sync.Mutex
	seq uint64
	err error
}

func (c *commits) LastCommit() (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq, c.err
}

func (c *commits) commit(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	c.err = err
}

// probe plays the store's write probe.
type probe struct {
	mu  sync.Mutex
	err error
}

func (p *probe) write(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *probe) set(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
}

var errDisk = &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store cannot commit"}

func reasons(s readiness.Status) string {
	var rs []string
	for _, p := range s.Problems {
		rs = append(rs, p.Reason)
	}
	if s.Ready != (len(rs) == 0) {
		return "inconsistent: ready=" + map[bool]string{true: "true", false: "false"}[s.Ready] + " with " + strings.Join(rs, ",")
	}
	if len(rs) == 0 {
		return "ready"
	}
	return strings.Join(rs, ",")
}

// A failed commit makes the instance unready at once (no check needed),
// and a later good commit or a later good probe makes it ready again.
func TestCommitOutcome(t *testing.T) {
	c, p := &commits{}, &probe{}
	w := readiness.New(readiness.Options{Commits: c, Probe: p.write})
	w.Check(context.Background())
	if got := reasons(w.Status()); got != "ready" {
		t.Fatalf("fresh: %s", got)
	}
	c.commit(errDisk)
	st := w.Status()
	if got := reasons(st); got != readiness.CommitFailed {
		t.Fatalf("after a failed commit: %s, want %s", got, readiness.CommitFailed)
	}
	if !strings.Contains(st.Problems[0].Message, "store cannot commit") {
		t.Errorf("message %q does not say why", st.Problems[0].Message)
	}
	c.commit(nil)
	if got := reasons(w.Status()); got != "ready" {
		t.Errorf("after a good commit: %s", got)
	}
	// No traffic after the failure (a load balancer sends none to an
	// unready instance): the next good probe clears it.
	c.commit(errDisk)
	if got := reasons(w.Status()); got != readiness.CommitFailed {
		t.Fatalf("after a second failed commit: %s", got)
	}
	w.Check(context.Background())
	if got := reasons(w.Status()); got != "ready" {
		t.Errorf("after a good probe: %s", got)
	}
	// A commit that fails after that probe counts again.
	c.commit(errDisk)
	if got := reasons(w.Status()); got != readiness.CommitFailed {
		t.Errorf("failed commit after the probe: %s", got)
	}
}

// A failed probe makes the instance unready until a probe or a commit
// succeeds after it.
func TestProbeOutcome(t *testing.T) {
	c, p := &commits{}, &probe{}
	w := readiness.New(readiness.Options{Commits: c, Probe: p.write})
	p.set(&hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store cannot write: no space left on the database's volume"})
	w.Check(context.Background())
	st := w.Status()
	if got := reasons(st); got != readiness.ProbeFailed {
		t.Fatalf("after a failed probe: %s", got)
	}
	if !strings.Contains(st.Problems[0].Message, "no space left") {
		t.Errorf("message %q does not say why", st.Problems[0].Message)
	}
	c.commit(nil)
	if got := reasons(w.Status()); got != "ready" {
		t.Errorf("after a good commit: %s", got)
	}
	w.Check(context.Background())
	if got := reasons(w.Status()); got != readiness.ProbeFailed {
		t.Errorf("after a second failed probe: %s", got)
	}
	p.set(nil)
	w.Check(context.Background())
	if got := reasons(w.Status()); got != "ready" {
		t.Errorf("after a good probe: %s", got)
	}
}

// A probe that hangs (an fsync on a dying disk) fails the check, and the
// next check does not start a second one beside it.
func TestProbeTimeout(t *testing.T) {
	release := make(chan struct{})
	var started int
	var mu sync.Mutex
	w := readiness.New(readiness.Options{Timeout: 10 * time.Millisecond, Probe: func(context.Context) error {
		mu.Lock()
		started++
		mu.Unlock()
		<-release // ignores its context, as a stuck syscall does
		return nil
	}})
	w.Check(context.Background())
	st := w.Status()
	if got := reasons(st); got != readiness.ProbeFailed || !strings.Contains(st.Problems[0].Message, "timed out") {
		t.Fatalf("hung probe: %s %v", got, st.Problems)
	}
	w.Check(context.Background())
	st = w.Status()
	if got := reasons(st); got != readiness.ProbeFailed || !strings.Contains(st.Problems[0].Message, "has not returned") {
		t.Errorf("second check while the probe hangs: %s %v", got, st.Problems)
	}
	close(release)
	// Once the stuck probe returned, a check probes again.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		w.Check(context.Background())
		if reasons(w.Status()) == "ready" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready again after the probe returned: %v", w.Status().Problems)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if started < 2 {
		t.Errorf("probe started %d times", started)
	}
}

const mib = int64(1) << 20

// space plays statfs.
type space struct {
	mu          sync.Mutex
	free, total int64
	err         error
	calls       int
}

func (s *space) measure() (readiness.Space, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return readiness.Space{Free: s.free, Total: s.total}, s.err
}

func (s *space) set(free int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.free = free
}

// Under the floor the instance is unready with low_disk, the storage says
// why, and it recovers once space is freed. Free space is measured by
// Check only, never by Status.
func TestFreeSpaceFloor(t *testing.T) {
	sp := &space{free: 500 * mib, total: 10 * 1024 * mib}
	floor := func(total int64) int64 { return min(1024*mib, total*5/100) }
	w := readiness.New(readiness.Options{Space: sp.measure, Floor: floor})
	w.Check(context.Background())
	st := w.Status()
	if got := reasons(st); got != readiness.LowDisk {
		t.Fatalf("500 MiB free, floor 512 MiB: %s", got)
	}
	if !st.Storage.Low || *st.Storage.FreeBytes != 500*mib || *st.Storage.MinFreeBytes != 512*mib || *st.Storage.TotalBytes != 10*1024*mib {
		t.Errorf("storage: %+v", st.Storage)
	}
	if !strings.Contains(st.Problems[0].Message, "500 MiB free") || !strings.Contains(st.Problems[0].Message, "storage.min_free (512 MiB)") ||
		!strings.Contains(st.Problems[0].Message, "quarantine keeps nothing") {
		t.Errorf("message: %q", st.Problems[0].Message)
	}
	if !strings.Contains(st.Storage.Summary(), "under the floor") {
		t.Errorf("summary: %q", st.Storage.Summary())
	}
	if !w.LowDisk() {
		t.Errorf("LowDisk false under the floor")
	}
	for range 100 {
		w.Status()
	}
	if sp.calls != 1 {
		t.Errorf("free space measured %d times for one check and 100 Status calls", sp.calls)
	}
	sp.set(2048 * mib)
	if got := reasons(w.Status()); got != readiness.LowDisk {
		t.Errorf("before the next check: %s (still the cached sample)", got)
	}
	w.Check(context.Background())
	if got := reasons(w.Status()); got != "ready" || w.LowDisk() {
		t.Errorf("after space was freed: %s, LowDisk %v", got, w.LowDisk())
	}

	// A volume that cannot be measured is unknown, not under the floor.
	sp.err = errors.New("statfs: no such file or directory")
	w.Check(context.Background())
	if st := w.Status(); !st.Ready || st.Storage.Known() || !strings.Contains(st.Storage.Unknown, "cannot measure") {
		t.Errorf("statfs failing: %+v", st)
	}
}

// Room grants the quarantine's writes while the free space, less twice
// what it granted since the last sample, stays above the floor; a new
// sample starts the count again.
func TestRoom(t *testing.T) {
	sp := &space{free: 100 * mib, total: 1000 * mib}
	w := readiness.New(readiness.Options{Space: sp.measure, Floor: func(int64) int64 { return 10 * mib }})
	if !w.Room(1<<40) || w.LowDisk() {
		t.Fatalf("before any sample: Room must grant (nothing is known yet)")
	}
	w.Check(context.Background())
	if !w.Room(40 * mib) { // 100 - 2*40 = 20 >= 10
		t.Fatalf("40 MiB refused with 100 MiB free and a 10 MiB floor")
	}
	if w.Room(10 * mib) { // 100 - 2*50 = 0 < 10
		t.Errorf("10 MiB more granted")
	}
	if !w.Room(5*mib) || w.LowDisk() { // 100 - 2*45 = 10: at the floor, not under
		t.Errorf("5 MiB refused, or LowDisk at the floor")
	}
	if w.Room(1) {
		t.Errorf("1 byte past the floor granted")
	}
	// The sample now sees what was written: 100 - 45 = 55 MiB.
	sp.set(55 * mib)
	w.Check(context.Background())
	if w.LowDisk() || !w.Room(20*mib) || w.Room(5*mib) { // 55 - 2*20 = 15; 55 - 2*25 = 5
		t.Errorf("after a new sample: LowDisk %v", w.LowDisk())
	}

	// Unknown free space (PostgreSQL): always granted, never low.
	u := readiness.New(readiness.Options{Unknown: "PostgreSQL"})
	u.Check(context.Background())
	if !u.Room(1<<50) || u.LowDisk() || u.Status().Storage.Known() || u.Status().Storage.Unknown != "PostgreSQL" {
		t.Errorf("unknown space: %+v", u.Status())
	}
}

// A sample taken between a burst of writes and its checkpoint sees the
// WAL's bytes once, but a checkpoint will write them again into the
// database file: Room counts the WAL (Options.Pending, SQLiteWAL) as spent.
func TestRoomCountsTheWAL(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "hw.db")
	sp := &space{free: 100 * mib, total: 1000 * mib}
	w := readiness.New(readiness.Options{Space: sp.measure, Floor: func(int64) int64 { return 10 * mib },
		Pending: readiness.SQLiteWAL(db)})
	w.Check(context.Background())
	if !w.Room(40 * mib) { // no WAL yet: 100 - 2*40 = 20 >= 10
		t.Fatalf("40 MiB refused without a WAL")
	}
	if err := os.WriteFile(db+"-wal", make([]byte, 30*mib), 0o600); err != nil {
		t.Fatal(err)
	}
	if w.Room(1 * mib) { // 100 - 30 - 2*41 < 10
		t.Errorf("1 MiB granted though the 30 MiB WAL has not been copied into the database file")
	}
	if err := os.Remove(db + "-wal"); err != nil {
		t.Fatal(err)
	}
	if !w.Room(1 * mib) { // 100 - 2*41 = 18
		t.Errorf("1 MiB refused once the WAL is gone")
	}
}

// The metrics are read from the cached state, and the free-space gauges
// are absent when the free space is unknown (no made-up number).
func TestMetrics(t *testing.T) {
	sp := &space{free: 300 * mib, total: 1000 * mib}
	c := &commits{}
	w := readiness.New(readiness.Options{Space: sp.measure, Commits: c, Floor: func(int64) int64 { return 400 * mib }})
	w.Check(context.Background())
	c.commit(errDisk)
	got := gather(t, w)
	for name, want := range map[string]float64{
		"hookwatch_ready":                         0,
		"hookwatch_unready{reason=commit_failed}": 1,
		"hookwatch_unready{reason=probe_failed}":  0,
		"hookwatch_unready{reason=low_disk}":      1,
		"hookwatch_store_free_bytes":              float64(300 * mib),
		"hookwatch_store_min_free_bytes":          float64(400 * mib),
		"hookwatch_store_low_disk":                1,
		"hookwatch_store_probe_failures_total":    0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	u := readiness.New(readiness.Options{Unknown: "PostgreSQL"})
	u.Check(context.Background())
	got = gather(t, u)
	if _, ok := got["hookwatch_store_free_bytes"]; ok {
		t.Errorf("free bytes reported while unknown")
	}
	if got["hookwatch_ready"] != 1 {
		t.Errorf("hookwatch_ready = %v, want 1", got["hookwatch_ready"])
	}
}

func gather(t *testing.T, w *readiness.Watcher) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(w.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			out[name] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return out
}

// The real statfs, on the test's own directory.
func TestVolumeSpace(t *testing.T) {
	measure := readiness.VolumeSpace(t.TempDir())
	if measure == nil {
		t.Skip("this platform cannot measure a volume")
	}
	sp, err := measure()
	if err != nil {
		t.Fatal(err)
	}
	if sp.Free <= 0 || sp.Total < sp.Free {
		t.Errorf("statfs: %+v", sp)
	}
	if _, err := readiness.VolumeSpace("/nonexistent/dir")(); err == nil {
		t.Errorf("statfs of a missing directory succeeded")
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 512: "512 B", 64 << 10: "64 KiB", 1536 << 20: "1.5 GiB", 1 << 30: "1 GiB"} {
		if got := readiness.FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// The store's size and its oldest finished event are gauges, sampled at
// most every SizeEvery of the watcher's clock.
func TestStoreSizeMetrics(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	size := hookwatch.StoreSize{Bytes: 900 * mib, Used: 700 * mib}
	oldest := &hookwatch.FinishedEvent{ID: "evt_1", Source: "stripe", ReceivedAt: now.Add(-48 * time.Hour), Size: 1024}
	sizes := 0
	w := readiness.New(readiness.Options{Now: func() time.Time { return now }, SizeEvery: time.Minute,
		Size:   func(context.Context) (hookwatch.StoreSize, error) { sizes++; return size, nil },
		Oldest: func(context.Context) (*hookwatch.FinishedEvent, error) { return oldest, nil }})
	w.Check(context.Background())
	got := gather(t, w)
	for name, want := range map[string]float64{
		"hookwatch_store_size_bytes":                  float64(900 * mib),
		"hookwatch_store_used_bytes":                  float64(700 * mib),
		"hookwatch_store_oldest_finished_age_seconds": 48 * 3600,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	if s := w.Status().Storage.Store.Summary(); s != "900 MiB on disk (700 MiB used); oldest finished event 2d 0h old (evt_1, 1 KiB)" {
		t.Errorf("summary %q", s)
	}
	// Within SizeEvery the sample is kept; after it, measured again.
	size.Used = 100 * mib
	w.Check(context.Background())
	if sizes != 1 || gather(t, w)["hookwatch_store_used_bytes"] != float64(700*mib) {
		t.Errorf("measured %d times within SizeEvery", sizes)
	}
	now = now.Add(time.Minute)
	oldest = nil
	w.Check(context.Background())
	got = gather(t, w)
	if got["hookwatch_store_used_bytes"] != float64(100*mib) {
		t.Errorf("after SizeEvery used = %v", got["hookwatch_store_used_bytes"])
	}
	if _, ok := got["hookwatch_store_oldest_finished_age_seconds"]; ok {
		t.Errorf("oldest finished age reported with no finished event")
	}
}
