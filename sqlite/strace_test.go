package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
)

// straceChildDir names the environment variable that makes
// TestFullCommitFsyncFailureChild run (in a process under strace).
const straceChildDir = "HOOKWATCH_TEST_STRACE_CHILD_DIR"

// SQLite's own fsyncs cannot go through a Go seam: a synchronous=FULL
// commit syncs the WAL inside the library. So this test runs the child
// below in a process under strace, which fails some fsync(2) calls on the
// WAL with EIO (modernc.org/sqlite syncs with fsync(2), not fdatasync). It
// shows that an fsync failure SQLite reports (SQLITE_IOERR_FSYNC) takes the
// store down and that the store comes back; like every strace test, not
// what the kernel does to the pages (strace fails the call, nothing is
// lost).
func TestFullCommitFsyncFailureUnderStrace(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the test binary under strace")
	}
	stracePath, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed: it injects the fsync failures")
	}
	if out, err := exec.Command(stracePath, "-f", "-qq", "-e", "trace=none", "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here (ptrace refused by the sandbox?): %v: %s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "strace.log")
	// Each thread's 40th to 42nd fsync of the WAL fail: after Open, whose
	// migrations commit one by one (synchronous=FULL, an fsync each), so
	// that the failures hit the users' commits below, however many
	// migrations there are.
	cmd := exec.Command(stracePath, "-f", "-qq", "--seccomp-bpf", "-o", log, "-P", filepath.Join(dir, "hw.db-wal"),
		"-e", "trace=fsync", "-e", "inject=fsync:error=EIO:when=40..42",
		self, "-test.run", "^TestFullCommitFsyncFailureChild$", "-test.v")
	cmd.Env = append(os.Environ(), straceChildDir+"="+dir)
	out, err := cmd.CombinedOutput()
	strace, _ := os.ReadFile(log)
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("child under strace: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestFullCommitFsyncFailureChild") {
		t.Fatal("the child test did not run")
	}
	if n := strings.Count(string(strace), "(INJECTED)"); n == 0 {
		t.Fatal("strace injected no fault")
	}
	// The store is checked by this process, outside strace: a fresh open
	// under strace could run on a thread whose 40th fsync is still due.
	names, err := os.ReadFile(filepath.Join(dir, "committed"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "hw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	committed := strings.Fields(string(names))
	if len(committed) < 2 {
		t.Fatalf("the child committed %d users, want the ones before the fault and after", len(committed))
	}
	for _, name := range committed {
		if _, err := s.GetUser(ctx, name); err != nil {
			t.Errorf("user %s, whose commit succeeded under strace, is gone after reopening: %v", name, err)
		}
	}
}

// TestFullCommitFsyncFailureChild commits synchronous=FULL writes (users)
// until one fails, then checks the store is down, waits for it to come back,
// commits again and writes the names of every user whose commit succeeded
// to the file "committed", for the parent to check.
func TestFullCommitFsyncFailureChild(t *testing.T) {
	dir := os.Getenv(straceChildDir)
	if dir == "" {
		t.Skip("run under strace by TestFullCommitFsyncFailureUnderStrace")
	}
	ctx := context.Background()
	path := filepath.Join(dir, "hw.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var created []string
	failedAt := -1
	for i := 0; i < 200 && failedAt < 0; i++ {
		name := fmt.Sprintf("user%d", i)
		err := s.CreateUser(ctx, &hookwatch.User{Name: name, PasswordHash: []byte("x"), CreatedAt: time.Now()})
		if err == nil {
			created = append(created, name)
			continue
		}
		if hookwatch.ErrorCode(err) != hookwatch.EUNAVAILABLE {
			t.Fatalf("%s: %v, want EUNAVAILABLE", name, err)
		}
		failedAt = i
		// SQLite's failed fsync took the store down before the error
		// came back.
		if err := s.Recovering(); !errors.Is(err, sqlite.ErrReopening) {
			t.Fatalf("after SQLite's fsync failed (%v), Recovering() = %v", err, s.Recovering())
		}
		t.Logf("%s: %v", name, err)
	}
	if failedAt < 0 {
		t.Fatal("no commit failed")
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.Recovering() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("still down after 30s: %v", s.Recovering())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The failed commit's frames were written; the reopen may keep them, so
	// its retry may find the user already there.
	// strace counts fsyncs per thread, and Go runs the store on whichever
	// thread is free: another thread's 40th to 42nd fsync may still be due
	// and take the store down again, which must end the same way (down,
	// back, commit). Three injected faults per thread, and few threads, bound the retries. A
	// commit may find its user there: the failed commit's frames were
	// written and the reopen may keep them.
	create := func(name string) {
		for try := 1; ; try++ {
			err := s.CreateUser(ctx, &hookwatch.User{Name: name, PasswordHash: []byte("x"), CreatedAt: time.Now()})
			if err == nil || hookwatch.ErrorCode(err) == hookwatch.ECONFLICT && (try > 1 || name != "after") {
				return
			}
			if hookwatch.ErrorCode(err) != hookwatch.EUNAVAILABLE || try == 20 {
				t.Fatalf("commit of %s after the reopen (try %d): %v", name, try, err)
			}
			t.Logf("a commit after the reopen met another injected fault: %v", err)
			for deadline := time.Now().Add(30 * time.Second); s.Recovering() != nil; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("still down 30s after the fault: %v", s.Recovering())
				}
			}
		}
	}
	create(fmt.Sprintf("user%d", failedAt))
	create("after")
	if err := s.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	committed := strings.Join(append(created, "after"), "\n")
	if err := os.WriteFile(filepath.Join(dir, "committed"), []byte(committed), 0o600); err != nil {
		t.Fatal(err)
	}
}
