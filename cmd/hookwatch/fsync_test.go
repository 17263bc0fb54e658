package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch/sqlite"
)

// TestFsyncFailureUnderStrace runs the real binary under strace, which makes
// some fsync(2) calls on the WAL fail with EIO while signed webhooks arrive
// concurrently, then kills it with SIGKILL and restarts it without faults.
// Both Go's (*os.File).Sync and SQLite's own syncs in modernc.org/sqlite are
// fsync(2) on Linux (not fdatasync), so every sync of the WAL is a candidate:
// the WAL syncer's, a checkpoint's, a synchronous=FULL commit's, and the
// reopen's own.
//
// What it shows: how Hookwatch reacts to a failed fsync. Requests of the
// batch whose fsync failed, and those that arrive while the store reopens,
// are answered 503 (never 2xx); the server accepts again once it has
// reopened the store; and every request answered 2xx is stored exactly
// once after a kill -9. What it cannot show: strace fails the system call
// but the kernel did not fail a writeback, so no page was really dropped or
// left unwritten. That the store does the right thing when the kernel does
// lose pages is the subject of the sqlite package's tests, which simulate
// the loss.
func TestFsyncFailureUnderStrace(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	stracePath, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed: it injects the fsync failures")
	}
	if out, err := exec.Command(stracePath, "-f", "-qq", "-e", "trace=none", "true").CombinedOutput(); err != nil {
		t.Skipf("strace cannot trace here (ptrace refused by the sandbox?): %v: %s", err, out)
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "hw.db")
	cfgPath, public, admin := serveConfig(t, dir, stripeYAML("sqlite:"+dbPath))
	straceLog := filepath.Join(dir, "strace.log")
	// Injection counts each thread's fsyncs of the WAL apart: each thread's
	// 60th and every 300th after it fail, a few faults over the run, each
	// followed by a reopen (whose own fsync may fail too and be retried).
	p, pid := startServeStrace(t, cfgPath, public, admin, stracePath,
		"-f", "-qq", "--seccomp-bpf", "-o", straceLog, "-P", dbPath+"-wal",
		"-e", "trace=fsync", "-e", "inject=fsync:error=EIO:when=60+300")

	type answer struct {
		providerID, id string
		status, order  int
	}
	var answers []answer
	// Run until a fault was answered 503 and the server accepted again
	// well after it.
	summary := func() (ok, refused, okAfter int) {
		first := 0
		for _, a := range answers {
			if a.status == http.StatusServiceUnavailable && (first == 0 || a.order < first) {
				first = a.order
			}
		}
		for _, a := range answers {
			switch {
			case a.status == http.StatusOK:
				ok++
				if first > 0 && a.order > first {
					okAfter++
				}
			case a.status == http.StatusServiceUnavailable:
				refused++
			default:
				t.Errorf("%s answered %d, want 200 or 503", a.providerID, a.status)
			}
		}
		return ok, refused, okAfter
	}
	floodUntilKill(t, public, "evt_fsync", 90*time.Second, func(providerID, id string, status int) {
		answers = append(answers, answer{providerID, id, status, len(answers) + 1})
	}, func() bool {
		_, refused, okAfter := summary()
		return refused > 0 && okAfter >= 300
	}, func() {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill -9 %d: %v", pid, err)
		}
		select {
		case <-p.exited:
		case <-time.After(60 * time.Second):
			ps, _ := exec.Command("ps", "-o", "pid,ppid,stat,wchan:30,args", "-p", fmt.Sprint(pid), "-p", fmt.Sprint(p.cmd.Process.Pid)).CombinedOutput()
			st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			t.Fatalf("strace or hookwatch still running 60s after kill -9:\n%s\n%s", ps, st)
		}
	})
	ok, refused, okAfter := summary()
	injected := strings.Count(readFile(t, straceLog), "(INJECTED)")
	t.Logf("%d answers: %d 200, %d 503 (%d fsync failures injected); %d 200 after the first 503", len(answers), ok, refused, injected, okAfter)
	logs := p.logs.String()
	if injected == 0 {
		t.Fatalf("strace injected no fault:\n%s", logs)
	}
	if refused == 0 {
		t.Fatalf("%d fsyncs failed and no request was answered 503:\n%s", injected, logs)
	}
	if okAfter == 0 {
		t.Fatalf("nothing was accepted after the first 503:\n%s", logs)
	}
	for _, want := range []string{"sqlite: fsync failed", "store reopened after fsync failure"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the server did not log %q:\n%s", want, logs)
		}
	}

	// Restart without faults: every request answered 200 is there, once.
	p2 := p.restart(t)
	store, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	stored := storedIDs(t, store, "stripe")
	for _, a := range answers {
		if a.status != http.StatusOK {
			continue
		}
		if got := stored[a.providerID]; len(got) != 1 || got[0] != a.id {
			t.Fatalf("acknowledged %s (%s): %d copies in the store after the fsync failures and kill -9 (%v)", a.providerID, a.id, len(got), got)
		}
	}
	// The provider retries what was refused: each is accepted, and stored
	// once (a refused event the reopen kept is answered as a duplicate).
	client := &http.Client{Timeout: 10 * time.Second}
	retried := map[string]string{}
	for _, a := range answers {
		if a.status != http.StatusServiceUnavailable {
			continue
		}
		status, id, err := sendStripe(client, public, a.providerID)
		if err != nil || status != http.StatusOK {
			t.Fatalf("retry of refused %s: %d %v, want 200", a.providerID, status, err)
		}
		retried[a.providerID] = id
	}
	stored = storedIDs(t, store, "stripe")
	for pid, id := range retried {
		if got := stored[pid]; len(got) != 1 || got[0] != id {
			t.Fatalf("retried %s: %d copies (%v), want one with ID %s", pid, len(got), got, id)
		}
	}
	p2.stop(t)
}

// startServeStrace runs `strace args... hookwatch serve --config path`,
// waits until /readyz answers, and returns the proc (of strace) and the pid
// of hookwatch itself, for kill -9.
func startServeStrace(t *testing.T, configPath, public, admin, stracePath string, args ...string) (*proc, int) {
	t.Helper()
	p := launch(t, exec.Command(stracePath, append(args, binary(t), "serve", "--config", configPath)...), configPath, public, admin)
	pid := 0
	t.Cleanup(func() {
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	p.waitReady(t, "hookwatch serve under strace", 30*time.Second, func() bool {
		pid = tracee(p.cmd.Process.Pid, binary(t))
		return pid > 0
	})
	return p, pid
}

// tracee returns the pid of strace's child running bin, or 0. strace forks
// short-lived children of its own at startup (to probe ptrace and seccomp),
// so the child is recognised by its executable.
func tracee(stracePid int, bin string) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", stracePid, stracePid))
	for _, f := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(f)
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == bin {
			return pid
		}
	}
	return 0
}
