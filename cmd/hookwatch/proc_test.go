package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Helpers for end-to-end tests that run the real binary as a separate
// process (so it can be killed with SIGKILL).

// The binary is built once per test run, in the background from TestMain
// while the in-process tests run, and shared by every test that starts a
// process. It is built without -race: the processes are the system under
// test seen from outside, and under the race detector the floods and crash
// loops below cost several times the CPU.
var (
	binDir   string
	binPath  string
	buildErr error
	built    = make(chan struct{})
	// stopBuild cancels a build no test waited for.
	stopBuild context.CancelFunc = func() {}
)

// startBuild builds cmd/hookwatch into a temporary directory; built is
// closed when it is done.
func startBuild() {
	ctx, cancel := context.WithCancel(context.Background())
	stopBuild = cancel
	go func() {
		defer close(built)
		dir, err := os.MkdirTemp("", "hookwatch-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binDir, binPath = dir, filepath.Join(dir, "hookwatch")
		out, err := exec.CommandContext(ctx, "go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	}()
}

// binary waits for the shared build and returns the binary's path.
func binary(t *testing.T) string {
	t.Helper()
	<-built
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Ports for processes that must be told their address in advance come from
// below the kernel's ephemeral range (where :0 listeners and the local end
// of every outgoing connection are placed), so that a port found free here
// is not taken by a parallel test's connection before the process binds it;
// each is handed out once per test run.
var (
	portMu    sync.Mutex
	portsUsed = map[int]bool{}
)

// freeAddr returns a loopback address with a port that was free just now
// and that no other test of this run was given.
func freeAddr(t *testing.T) string {
	t.Helper()
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				lo = n
			}
		}
	}
	portMu.Lock()
	defer portMu.Unlock()
	if lo > 11000 {
		for range 1000 {
			port := 10000 + rand.IntN(lo-10000)
			if portsUsed[port] {
				continue
			}
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				continue
			}
			ln.Close()
			portsUsed[port] = true
			return ln.Addr().String()
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running `hookwatch serve`.
type proc struct {
	cmd    *exec.Cmd
	config string // the config file's path
	env    []string
	public string
	admin  string
	logs   *bytes.Buffer
	exited chan struct{}
}

// startServe runs `hookwatch serve --config path` and waits until /readyz
// answers on the public address. env is added to the process environment.
func startServe(t *testing.T, configPath, public, admin string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--config", configPath)
	cmd.Env = append(os.Environ(), env...)
	p := launch(t, cmd, configPath, public, admin)
	p.env = env
	p.waitReady(t, "hookwatch serve", 20*time.Second, func() bool { return true })
	return p
}

// restart runs `hookwatch serve` again (p has exited) with p's config,
// environment and addresses, and waits until it is ready.
func (p *proc) restart(t *testing.T) *proc {
	t.Helper()
	return startServe(t, p.config, p.public, p.admin, p.env...)
}

// launch starts cmd, a server on the config at configPath listening on
// public and admin, with its output in p.logs; the process is killed at
// the end of the test.
func launch(t *testing.T, cmd *exec.Cmd, configPath, public, admin string) *proc {
	t.Helper()
	p := &proc{cmd: cmd, config: configPath, public: public, admin: admin, logs: &bytes.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout = p.logs
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.kill() })
	return p
}

// waitReady waits until /readyz answers 200 on p.public and ready agrees,
// and fails the test if the process exits first or within passes.
func (p *proc) waitReady(t *testing.T, what string, within time.Duration, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			t.Fatalf("%s exited early:\n%s", what, p.logs)
		default:
		}
		resp, err := http.Get("http://" + p.public + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 && ready() {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %v:\n%s", what, within, p.logs)
}

// kill sends SIGKILL (no chance to clean up) and waits for the exit.
func (p *proc) kill() {
	if p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.exited
}

// stop sends SIGTERM and waits for a graceful exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit 30s after SIGTERM:\n%s", p.logs)
	}
}

// storedIDs lists every event of source in s, a thousand at a time, and
// returns the Hookwatch event IDs stored under each provider event ID. The
// crash tests check thousands of acknowledged events: one query per event
// costs seconds of CPU under -race, one listing costs milliseconds, and the
// question asked of each event (how many copies, with which ID) is the same.
func storedIDs(t *testing.T, s hookwatch.Store, source string) map[string][]string {
	t.Helper()
	ids := map[string][]string{}
	for before := ""; ; {
		page, err := s.ListEvents(context.Background(), hookwatch.EventFilter{Source: source, Before: before, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return ids
		}
		for _, e := range page {
			ids[e.ProviderEventID] = append(ids[e.ProviderEventID], e.ID)
		}
		before = page[len(page)-1].ID
	}
}

// runBinary runs the built binary with args and an empty environment (as
// run does in-process with no variables) and returns stdout, stderr and
// the exit error. For commands whose work under -race would cost the test
// seconds of CPU, such as copying a thousand events between stores.
func runBinary(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(binary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// serveToExit runs `serve --config path` with env added to the test's
// environment, for a start-up that must fail, and returns its exit error
// and combined output. A serve still running after 20 s fails the test:
// it hung instead of saying what is wrong.
func serveToExit(t *testing.T, path string, env ...string) (error, string) {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--config", path)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case werr := <-done:
		return werr, out.String()
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("serve still running 20s after start (hung):\n%s", out.String())
		return nil, ""
	}
}
