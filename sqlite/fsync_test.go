package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/storetest"
)

// These tests fail fsync through the walSyncer's seam (the syncer's own
// fsync of the WAL, and the reopen's fsyncs of the rewritten WAL and its
// directory). What they can show: how the store reacts to a failed fsync —
// which commits are refused, that it stays down until it has reopened the
// file, that it retries a reopen that fails, and that what it acknowledged
// before and after is what SQLite recovers from the files. With lose set,
// the failing fsync also zeroes what was written to the WAL since the last
// fsync that succeeded: the pages a kernel may drop after a failed
// writeback. What they cannot show: the kernel's own behaviour (a real
// writeback error leaves clean-but-unwritten pages in the page cache, which
// no test here can produce), nor failures of SQLite's own fsyncs (a
// synchronous=FULL commit, a checkpoint), which only the strace test in
// cmd/hookwatch injects.

// faultyFsync is a walSyncer.fsync that fails with EIO while failing is set.
type faultyFsync struct {
	wal string

	mu      sync.Mutex
	failing bool
	lose    bool  // zero the WAL since good at the first failure
	lost    bool  // done
	good    int64 // WAL size when the last fsync that succeeded started
	failed  int   // calls failed
}

func (f *faultyFsync) sync(file *os.File) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	isWAL := file.Name() == f.wal
	var size int64
	if isWAL {
		fi, err := file.Stat()
		if err != nil {
			return err
		}
		size = fi.Size()
	}
	if f.failing {
		f.failed++
		if f.lose && isWAL && !f.lost {
			f.lost = true
			if err := zeroRange(f.wal, f.good, size); err != nil {
				return err
			}
		}
		return &os.PathError{Op: "fsync", Path: file.Name(), Err: syscall.EIO}
	}
	if err := file.Sync(); err != nil {
		return err
	}
	if isWAL {
		f.good = size
	}
	return nil
}

func (f *faultyFsync) set(failing, lose bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing, f.lose = failing, lose
}

func (f *faultyFsync) failedCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func zeroRange(path string, from, to int64) error {
	if to <= from {
		return nil
	}
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer w.Close()
	_, err = w.WriteAt(make([]byte, to-from), from)
	return err
}

// openFaulty opens a store whose fsyncs go through a faultyFsync, that
// checkpoints only at Close (so the WAL holds everything written), and whose
// reopen retries within milliseconds.
func openFaulty(t *testing.T, path string) (*Store, *faultyFsync) {
	t.Helper()
	s, err := open(context.Background(), path, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ff := &faultyFsync{wal: path + "-wal"}
	s.wal.fsync = ff.sync
	s.retryMin, s.retryMax = time.Millisecond, 5*time.Millisecond
	t.Cleanup(func() { s.Close() })
	return s, ff
}

var testNow = time.Now().UTC().Truncate(time.Microsecond)

func batch(prefix string, n int) []*hookwatch.Event {
	out := make([]*hookwatch.Event, n)
	for i := range out {
		out[i] = storetest.NewEvent("stripe", fmt.Sprintf("%s_%d", prefix, i), testNow)
	}
	return out
}

// wantUnavailable fails unless err is the reopening error: code
// EUNAVAILABLE (so ingest answers 503) and ErrReopening in its chain.
func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded while the store is down after an fsync failure", what)
	}
	if hookwatch.ErrorCode(err) != hookwatch.EUNAVAILABLE || !errors.Is(err, ErrReopening) {
		t.Fatalf("%s: %v (code %s), want EUNAVAILABLE with ErrReopening", what, err, hookwatch.ErrorCode(err))
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after 10s for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// crashCopy copies the database and its WAL (not the wal-index) elsewhere
// and opens the copy: what SQLite recovers from the files alone, as after a
// crash.
func crashCopy(t *testing.T, path string) *Store {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy.db")
	for _, suffix := range []string{"", "-wal"} {
		src, err := os.Open(path + suffix)
		if errors.Is(err, os.ErrNotExist) && suffix != "" {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(dst + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, src); err != nil {
			t.Fatal(err)
		}
		src.Close()
		out.Close()
	}
	s, err := Open(context.Background(), dst)
	if err != nil {
		t.Fatalf("open the crash copy: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	var check string
	if err := s.r.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of the crash copy: %q %v", check, err)
	}
	return s
}

// wantStoredOnce fails unless each event is stored exactly once, with its
// ID. It lists each source once, a thousand events a page, rather than
// querying per event: the same question, without seconds of CPU under -race.
func wantStoredOnce(t *testing.T, s *Store, what string, events []*hookwatch.Event) {
	t.Helper()
	stored := map[string]map[string][]string{} // source -> provider ID -> IDs
	for _, e := range events {
		if stored[e.Source] != nil {
			continue
		}
		ids := map[string][]string{}
		for before := ""; ; {
			page, err := s.ListEvents(context.Background(), hookwatch.EventFilter{Source: e.Source, Before: before, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, p := range page {
				ids[p.ProviderEventID] = append(ids[p.ProviderEventID], p.ID)
			}
			before = page[len(page)-1].ID
		}
		stored[e.Source] = ids
	}
	for _, e := range events {
		if got := stored[e.Source][e.ProviderEventID]; len(got) != 1 || got[0] != e.ID {
			t.Fatalf("%s: %s (%s) stored %d times (%v), want once", what, e.ProviderEventID, e.ID, len(got), got)
		}
	}
}

func TestFsyncFailureTakesStoreDownUntilReopened(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hw.db")
	s, ff := openFaulty(t, path)

	before := batch("before", 3)
	if _, err := s.InsertEvents(ctx, before); err != nil {
		t.Fatal(err)
	}

	// The disk starts failing. The batch whose fsync fails is refused.
	ff.set(true, false)
	_, err := s.InsertEvents(ctx, batch("failed", 3))
	wantUnavailable(t, "the batch whose fsync failed", err)

	// While the fault lasts the reopen cannot finish (its fsync of the
	// rewritten WAL fails too): everything is refused at once, reads too,
	// and Ping says why (what /readyz shows).
	wantUnavailable(t, "Recovering", s.Recovering())
	err = s.Ping(ctx)
	wantUnavailable(t, "Ping", err)
	if msg := hookwatch.ErrorMessage(err); msg != "store reopening after fsync failure" {
		t.Errorf("Ping message %q", msg)
	}
	_, err = s.InsertEvents(ctx, batch("during", 3))
	wantUnavailable(t, "a batch while the store is down", err)
	_, err = s.GetEvent(ctx, before[0].ID)
	wantUnavailable(t, "a read while the store is down", err)
	err = s.CreateUser(ctx, &hookwatch.User{Name: "ann", PasswordHash: []byte("x"), CreatedAt: testNow})
	wantUnavailable(t, "a synchronous=FULL write while the store is down", err)
	// The reopen retries: its fsync failed more than once.
	waitFor(t, "the reopen to retry", func() bool { return ff.failedCalls() >= 3 })
	if s.Recovering() == nil {
		t.Fatal("the store came up while every fsync fails")
	}

	// The disk recovers: so does the store, and it acknowledges again.
	ff.set(false, false)
	waitFor(t, "the store to reopen", func() bool { return s.Recovering() == nil })
	after := batch("after", 3)
	if _, err := s.InsertEvents(ctx, after); err != nil {
		t.Fatalf("a batch after the reopen: %v", err)
	}
	if err := s.CreateUser(ctx, &hookwatch.User{Name: "ann", PasswordHash: []byte("x"), CreatedAt: testNow}); err != nil {
		t.Fatalf("a write after the reopen: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after the reopen: %v", err)
	}
	wantStoredOnce(t, s, "acknowledged before the failure", before)
	wantStoredOnce(t, s, "acknowledged after the reopen", after)

	c := crashCopy(t, path)
	wantStoredOnce(t, c, "after a crash, acknowledged before the failure", before)
	wantStoredOnce(t, c, "after a crash, acknowledged after the reopen", after)
}

// The failed fsync lost what it was writing (the kernel dropped the dirty
// pages: here, zeroed). SQLite's recovery at the reopen decides what is
// there, so what is acknowledged after it follows the last good frame, not
// the hole, and survives a crash.
func TestFsyncFailureLostPagesRecoveredFromDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hw.db")
	s, ff := openFaulty(t, path)

	before := batch("before", 3)
	if _, err := s.InsertEvents(ctx, before); err != nil {
		t.Fatal(err)
	}
	ff.set(true, true)
	failed := batch("failed", 3)
	_, err := s.InsertEvents(ctx, failed)
	wantUnavailable(t, "the batch whose fsync failed", err)
	ff.set(false, false)
	waitFor(t, "the store to reopen", func() bool { return s.Recovering() == nil })

	after := batch("after", 3)
	if _, err := s.InsertEvents(ctx, after); err != nil {
		t.Fatalf("a batch after the reopen: %v", err)
	}
	wantStoredOnce(t, s, "acknowledged before the failure", before)
	wantStoredOnce(t, s, "acknowledged after the reopen", after)
	if got, _ := s.ListEvents(ctx, hookwatch.EventFilter{ProviderEventID: failed[0].ProviderEventID}); len(got) != 0 {
		t.Errorf("the lost batch is back after the reopen: %d copies", len(got))
	}
	c := crashCopy(t, path)
	wantStoredOnce(t, c, "after a crash, acknowledged before the failure", before)
	wantStoredOnce(t, c, "after a crash, acknowledged after the reopen", after)
}

// Batches commit concurrently (as ingest's writers do) while an fsync fails
// and loses what it was writing; each batch is retried until acknowledged,
// as a provider does after a 503. Every acknowledged event survives a
// crash, once.
func TestConcurrentCommitsAcrossFsyncFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hw.db")
	s, ff := openFaulty(t, path)

	var (
		mu       sync.Mutex
		acked    []*hookwatch.Event
		ackedN   atomic.Int64
		refused  atomic.Int64
		wg       sync.WaitGroup
		badError = make(chan error, 8)
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				b := batch(fmt.Sprintf("w%d_%d", w, i), 4)
				for {
					res, err := s.InsertEvents(ctx, b)
					if err == nil {
						mu.Lock()
						for j, e := range b {
							e.ID = res[j].ID // a retry may be a duplicate of a kept copy
							acked = append(acked, e)
						}
						mu.Unlock()
						ackedN.Add(1)
						break
					}
					if hookwatch.ErrorCode(err) != hookwatch.EUNAVAILABLE {
						badError <- err
						return
					}
					refused.Add(1)
					time.Sleep(time.Millisecond) // the provider's retry
				}
			}
		}()
	}
	waitFor(t, "some batches acknowledged", func() bool { return ackedN.Load() >= 20 })
	ff.set(true, true)
	waitFor(t, "the reopen to fail twice", func() bool { return ff.failedCalls() >= 3 })
	ff.set(false, false)
	wg.Wait()
	close(badError)
	for err := range badError {
		t.Fatalf("a commit failed with a non-retryable error: %v", err)
	}
	if refused.Load() == 0 {
		t.Fatal("no commit was refused")
	}
	t.Logf("%d batches acknowledged, %d attempts refused", ackedN.Load(), refused.Load())
	wantStoredOnce(t, s, "acknowledged", acked)
	wantStoredOnce(t, crashCopy(t, path), "after a crash, acknowledged", acked)
}

// A commit whose transaction began before the reopen is not acknowledged,
// even by a sync that comes after the reopen.
func TestCommitOfOldEpochNotAcknowledged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hw.db")
	s, ff := openFaulty(t, path)
	epoch := s.wal.epoch.Load()
	seq := s.wal.committed()

	ff.set(true, false)
	_, err := s.InsertEvents(ctx, batch("failed", 1))
	wantUnavailable(t, "the batch whose fsync failed", err)
	ff.set(false, false)
	waitFor(t, "the store to reopen", func() bool { return s.Recovering() == nil })

	if err := s.wal.sync(epoch, seq); !errors.Is(err, ErrReopening) || hookwatch.ErrorCode(err) != hookwatch.EUNAVAILABLE {
		t.Fatalf("sync of a commit from before the reopen: %v, want EUNAVAILABLE", err)
	}
	if _, err := s.InsertEvents(ctx, batch("after", 1)); err != nil {
		t.Fatalf("a batch after the reopen: %v", err)
	}
}

// Closing while the reopen cannot finish returns, and leaves a file that
// opens with what was acknowledged.
func TestCloseWhileReopening(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hw.db")
	s, ff := openFaulty(t, path)
	before := batch("before", 3)
	if _, err := s.InsertEvents(ctx, before); err != nil {
		t.Fatal(err)
	}
	ff.set(true, true)
	_, err := s.InsertEvents(ctx, batch("failed", 3))
	wantUnavailable(t, "the batch whose fsync failed", err)
	waitFor(t, "the reopen to fail", func() bool { return ff.failedCalls() >= 2 })
	if err := s.Close(); err != nil {
		t.Logf("close: %v", err)
	}

	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	wantStoredOnce(t, s2, "acknowledged before the failure", before)
	if _, err := s2.InsertEvents(ctx, batch("next", 3)); err != nil {
		t.Fatalf("insert after reopening the file: %v", err)
	}
}
