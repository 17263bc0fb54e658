package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Helpers for end-to-end tests that run the real binary as a separate
// process (so it can be killed with SIGKILL).

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/hookwatch once per test run and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hookwatch-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "hookwatch")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freeAddr returns a loopback address with a port that was free just now.
func freeAddr(t *testing.T) string {
	t.Helper()
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
	public string
	admin  string
	logs   *bytes.Buffer
	exited chan struct{}
}

// startServe runs `hookwatch serve --config path` and waits until /readyz
// answers on the public address. env is added to the process environment.
func startServe(t *testing.T, configPath, public, admin string, env ...string) *proc {
	t.Helper()
	p := &proc{public: public, admin: admin, logs: &bytes.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(binary(t), "serve", "--config", configPath)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			t.Fatalf("hookwatch serve exited early:\n%s", p.logs)
		default:
		}
		resp, err := http.Get("http://" + public + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("hookwatch serve not ready after 20s:\n%s", p.logs)
	return nil
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
