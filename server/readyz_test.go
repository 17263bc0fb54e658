package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/readiness"
	"github.com/hookwatch/hookwatch/server"
	"github.com/hookwatch/hookwatch/sqlite"
)

// failingStore is a real SQLite store whose event commits fail while fail
// is set, as they do on a full disk.
type failingStore struct {
	*sqlite.Store
	fail atomic.Bool
}

func (f *failingStore) InsertEvents(ctx context.Context, es []*hookwatch.Event) ([]hookwatch.InsertResult, error) {
	if f.fail.Load() {
		return nil, &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store cannot commit", Err: errors.New("sqlite: database or disk is full")}
	}
	return f.Store.InsertEvents(ctx, es)
}

type ready struct {
	Status, Reason, Message string
	Problems                []readiness.Problem
	Storage                 *readiness.Storage
}

func getReady(t *testing.T, url string) (int, ready) {
	t.Helper()
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r ready
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("/readyz body is not JSON: %v", err)
	}
	return resp.StatusCode, r
}

// /readyz on both listeners: 503 with the reason after a failed commit,
// 200 again after a good one; 503 under the free-space floor, 200 once
// space is freed. The public listener says the reason, not the figures.
func TestReadyz(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	store := &failingStore{Store: st}
	committer := ingest.NewCommitter(store, 8, nil)
	defer committer.Close()
	var mu sync.Mutex
	free := int64(10 << 30)
	w := readiness.New(readiness.Options{Probe: store.ProbeWrite, Commits: committer,
		Space: func() (readiness.Space, error) {
			mu.Lock()
			defer mu.Unlock()
			return readiness.Space{Free: free, Total: 100 << 30}, nil
		},
		Floor: func(total int64) int64 { return 1 << 30 }})
	w.Check(context.Background())
	opts := server.Options{Store: store, Readiness: w, Ingest: http.NotFoundHandler()}
	public := httptest.NewServer(server.Public(opts))
	defer public.Close()
	admin := httptest.NewServer(server.New(opts).Admin())
	defer admin.Close()

	expect := func(step string, code int, reason string) {
		t.Helper()
		for _, srv := range []*httptest.Server{public, admin} {
			got, r := getReady(t, srv.URL)
			if got != code || r.Reason != reason {
				t.Errorf("%s: %s/readyz = %d %+v, want %d %q", step, srv.URL, got, r, code, reason)
			}
			if code == http.StatusServiceUnavailable && r.Message == "" {
				t.Errorf("%s: 503 without a message", step)
			}
			if srv == public && (r.Storage != nil || strings.Contains(r.Message, "MiB")) {
				t.Errorf("%s: the public listener shows figures: %+v", step, r)
			}
			if srv == admin && r.Storage == nil {
				t.Errorf("%s: the admin listener shows no storage", step)
			}
		}
	}
	commit := func(id string) error {
		_, err := committer.Commit(context.Background(), &hookwatch.Event{ID: hookwatch.NewID("evt", time.Now()), Source: "s",
			Provider: "stripe", ProviderEventID: id, Body: []byte("{}"), Headers: http.Header{}, ReceivedAt: time.Now()})
		return err
	}

	expect("fresh", http.StatusOK, "")
	store.fail.Store(true)
	if err := commit("evt_1"); err == nil {
		t.Fatal("commit succeeded on a failing store")
	}
	expect("after a failed commit", http.StatusServiceUnavailable, readiness.CommitFailed)
	if _, r := getReady(t, admin.URL); len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Message, "store cannot commit") {
		t.Errorf("admin problems: %+v", r.Problems)
	}
	store.fail.Store(false)
	if err := commit("evt_2"); err != nil {
		t.Fatal(err)
	}
	expect("after a good commit", http.StatusOK, "")

	mu.Lock()
	free = 200 << 20
	mu.Unlock()
	expect("under the floor, before the next check", http.StatusOK, "")
	w.Check(context.Background())
	expect("under the floor", http.StatusServiceUnavailable, readiness.LowDisk)
	if _, r := getReady(t, admin.URL); r.Storage == nil || !r.Storage.Low || *r.Storage.FreeBytes != 200<<20 || !strings.Contains(r.Message, "200 MiB free") {
		t.Errorf("admin under the floor: %+v", r)
	}
	mu.Lock()
	free = 5 << 30
	mu.Unlock()
	w.Check(context.Background())
	expect("space freed", http.StatusOK, "")
	// /healthz is liveness only: it never looked at any of it.
	resp, err := http.Get(public.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %v %v", resp, err)
	}
}

// A genuinely full disk: a SQLite store on a small tmpfs, the volume filled
// up by another file. The write probe fails, /readyz says so, and it is
// ready again by itself once the space is freed.
func TestReadyzFullDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(8<<20), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to play a full disk (needs root and mount permission): %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// No floor: only the probe can tell.
	w := readiness.New(readiness.Options{Probe: store.ProbeWrite, Space: readiness.VolumeSpace(dir)})
	w.Check(context.Background())
	srv := httptest.NewServer(server.New(server.Options{Store: store, Readiness: w}).Admin())
	defer srv.Close()
	if code, r := getReady(t, srv.URL); code != http.StatusOK {
		t.Fatalf("before filling the disk: %d %+v", code, r)
	}

	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break // ENOSPC
		}
	}
	f.Close()
	w.Check(context.Background())
	code, r := getReady(t, srv.URL)
	if code != http.StatusServiceUnavailable || r.Reason != readiness.ProbeFailed || !(strings.Contains(r.Message, "no space left") || strings.Contains(r.Message, "is full")) {
		t.Errorf("full disk: %d %+v, want 503 %s saying the volume is full", code, r, readiness.ProbeFailed)
	}
	if r.Storage == nil || r.Storage.FreeBytes == nil || *r.Storage.FreeBytes > 64<<10 {
		t.Errorf("full disk: storage %+v, want about 0 free", r.Storage)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	w.Check(context.Background())
	if code, r := getReady(t, srv.URL); code != http.StatusOK {
		t.Errorf("after freeing the disk: %d %+v", code, r)
	}
}
