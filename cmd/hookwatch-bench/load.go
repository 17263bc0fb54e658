package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one load run measured.
type result struct {
	name      string
	requests  int
	errors    int
	non2xx    int
	elapsed   time.Duration
	latencies []time.Duration
	peakRSS   int64 // bytes, of the server process
	// cpu is the server process's CPU time (user + system) over the
	// measured window; 0 when no process was watched.
	cpu time.Duration
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// accepted is the number of requests answered 2xx.
func (r result) accepted() int { return r.requests - r.errors - r.non2xx }

// cpuPerEvent is the server's CPU time per accepted request: far steadier
// than req/s on a shared machine, where other processes take the cores.
func (r result) cpuPerEvent() time.Duration {
	if r.accepted() <= 0 || r.cpu <= 0 {
		return 0
	}
	return r.cpu / time.Duration(r.accepted())
}

// cpuShare formats a CPU time per event beside the share of a core that the
// whole CPU time over window is: "192 µs (1.04 cores)".
func cpuShare(per, cpu, window time.Duration) string {
	return fmt.Sprintf("%.0f µs (%.2f cores)", float64(per)/float64(time.Microsecond), cpu.Seconds()/window.Seconds())
}

func (r result) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.latencies)-1) * p)
	return r.latencies[i]
}

func (r result) String() string {
	cpu := "n/a"
	if per := r.cpuPerEvent(); per > 0 {
		cpu = cpuShare(per, r.cpu, r.elapsed)
	}
	return fmt.Sprintf("%-28s %9.0f req/s   p50 %7s   p99 %7s   errors %d   non-2xx %d   peak RSS %s   CPU/event %s",
		r.name, r.rps(), r.pct(0.50).Round(10*time.Microsecond), r.pct(0.99).Round(10*time.Microsecond),
		r.errors, r.non2xx, mib(r.peakRSS), cpu)
}

func mib(b int64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

// load runs `conns` closed-loop clients for d (after a warm-up of warm),
// each sending the requests mk builds, and measures every answer and, when
// pid is not 0, that server process's CPU time over the measured window.
// during, if not nil, runs in its own goroutine when measuring starts (a
// profile capture).
func load(name string, pid, conns int, warm, d time.Duration, mk func(worker, i int) *http.Request, during func(d time.Duration)) result {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	var (
		measuring atomic.Bool
		stop      atomic.Bool
		wg        sync.WaitGroup
		mu        sync.Mutex
		res       = result{name: name}
	)
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var errs, non2xx, n int
			for i := 0; !stop.Load(); i++ {
				req := mk(w, i)
				start := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				took := time.Since(start)
				if !measuring.Load() {
					continue
				}
				n++
				switch {
				case err != nil:
					errs++
				case resp.StatusCode/100 != 2:
					non2xx++
				}
				lat = append(lat, took)
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.errors += errs
			res.non2xx += non2xx
			res.requests += n
			mu.Unlock()
		}()
	}
	time.Sleep(warm)
	cpu0 := processCPU(pid)
	measuring.Store(true)
	start := time.Now()
	if during != nil {
		go during(d)
	}
	time.Sleep(d)
	measuring.Store(false)
	res.elapsed = time.Since(start)
	if pid != 0 {
		res.cpu = processCPU(pid) - cpu0
	}
	stop.Store(true)
	wg.Wait()
	sort.Slice(res.latencies, func(i, j int) bool { return res.latencies[i] < res.latencies[j] })
	return res
}

// processCPU reads a process's CPU time so far (user + system, all its
// threads) from /proc/PID/stat, in clock ticks of 10 ms.
func processCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its ")".
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// peakRSS reads a process's peak resident set size (VmHWM) from /proc.
func peakRSS(pid int) int64 {
	return procStatus(pid, "VmHWM:")
}

// currentRSS reads a process's resident set size (VmRSS) from /proc.
func currentRSS(pid int) int64 {
	return procStatus(pid, "VmRSS:")
}

func procStatus(pid int, key string) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, key) {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func numCPU() int { return runtime.NumCPU() }
