package alert

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// space plays the readiness watcher for the store_size and disk_free rules.
type space struct {
	mu sync.Mutex
	st Storage
}

func (s *space) set(free, total, used int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.FreeBytes, s.st.TotalBytes, s.st.UsedBytes = &free, &total, &used
}

func (s *space) measure(context.Context) (Storage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st, nil
}

// TestStorageRules: the seed rules disk-free (under 10% of the volume free)
// and store-size (over 90% of retention.max_store_size) fire after their
// 5 minutes and resolve; a rule with a size uses it.
func TestStorageRules(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	c := &clock{}
	n := &recorder{}
	var rules []Rule
	for _, r := range defaults(t) {
		if r.Kind == hookwatch.AlertDiskFree || r.Kind == hookwatch.AlertStoreSize {
			rules = append(rules, r)
		}
	}
	if len(rules) != 2 {
		t.Fatalf("seed rules of the store: %d, want disk-free and store-size", len(rules))
	}
	rules = append(rules, Rule{Name: "store-over-1g", Kind: hookwatch.AlertStoreSize, Size: 1 << 30})
	e := newEvaluator(s, c, n, applyDefaults(rules)...)
	sp := &space{st: Storage{Budget: 10 << 30}}
	e.MeasureStorage(sp.measure)
	const gib = 1 << 30

	// Plenty of room: nothing.
	sp.set(50*gib, 100*gib, 512<<20)
	tick(t, e, c, t0)
	if got := n.take(); len(got) != 0 {
		t.Fatalf("notified with room to spare: %+v", got)
	}
	// 8 GiB free of 100 and 9.5 GiB used of a 10 GiB budget: pending,
	// then firing after 5 minutes; the sized rule fires at once.
	sp.set(8*gib, 100*gib, 9*gib+gib/2)
	tick(t, e, c, t0.Add(time.Minute))
	first := n.take()
	if len(first) != 1 || len(first[0].Items) != 1 || first[0].Items[0].Rule != "store-over-1g" {
		t.Fatalf("first tick notified %+v; want only store-over-1g (no for)", first)
	}
	tick(t, e, c, t0.Add(7*time.Minute))
	got := map[string]Item{}
	for _, m := range n.take() {
		for _, it := range m.Items {
			got[it.Rule] = it
		}
	}
	if it, ok := got["disk-free"]; !ok || it.Subject != StorageSubject || it.Kind != hookwatch.NotifyFiring ||
		!strings.Contains(it.Summary, "8.0 GiB free of 100.0 GiB on the store's volume (threshold 10.0 GiB)") {
		t.Errorf("disk-free: %+v", it)
	}
	if it, ok := got["store-size"]; !ok || it.Kind != hookwatch.NotifyFiring ||
		!strings.Contains(it.Summary, "the store uses 9.5 GiB (threshold 9.0 GiB, 90% of retention.max_store_size 10.0 GiB)") {
		t.Errorf("store-size: %+v", it)
	}
	// Space freed: both resolve.
	sp.set(60*gib, 100*gib, 2*gib)
	tick(t, e, c, t0.Add(8*time.Minute))
	resolved := map[string]bool{}
	for _, m := range n.take() {
		for _, it := range m.Items {
			resolved[it.Rule] = it.Kind == hookwatch.NotifyResolved
		}
	}
	if !resolved["disk-free"] || !resolved["store-size"] {
		t.Errorf("resolved: %v; want disk-free and store-size", resolved)
	}
	// The free space unknown (PostgreSQL) and no budget: nothing measured.
	sp.mu.Lock()
	sp.st = Storage{UsedBytes: sp.st.UsedBytes}
	sp.mu.Unlock()
	tick(t, e, c, t0.Add(60*time.Minute))
	if got := n.take(); len(got) != 0 {
		t.Errorf("notified without figures: %+v", got)
	}
}
