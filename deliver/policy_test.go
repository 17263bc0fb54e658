package deliver_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
)

func TestRetryTiming(t *testing.T) {
	t.Parallel()
	p := deliver.Policy{Initial: 5 * time.Second, MaxBackoff: time.Minute}.WithDefaults()
	queued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	maxJitter := func() float64 { return 0.5 }
	now := queued
	// Full jitter at 0.5: half of the ceiling, which doubles to the cap.
	for i, want := range []time.Duration{2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, 20 * time.Second, 30 * time.Second, 30 * time.Second} {
		o, next := p.Decide(hookwatch.ClassServer, i+1, queued, now, 0, maxJitter)
		if o != hookwatch.OutcomeRetry || next.Sub(now) != want {
			t.Errorf("after attempt %d: %s in %v, want retry in %v", i+1, o, next.Sub(now), want)
		}
		now = next
	}
	// Jitter spans [0, ceiling).
	if _, next := p.Decide(hookwatch.ClassServer, 3, queued, queued, 0, func() float64 { return 0 }); !next.Equal(queued) {
		t.Errorf("jitter 0: next = %v, want now", next)
	}
	// Max age: the last attempt is at the deadline, then dead.
	late := queued.Add(72*time.Hour - 10*time.Second)
	if o, next := p.Decide(hookwatch.ClassServer, 50, queued, late, 0, maxJitter); o != hookwatch.OutcomeRetry || !next.Equal(queued.Add(72*time.Hour)) {
		t.Errorf("near max age: %s at %v, want one last retry at the deadline", o, next)
	}
	if o, _ := p.Decide(hookwatch.ClassServer, 51, queued, queued.Add(72*time.Hour), 0, maxJitter); o != hookwatch.OutcomeDead {
		t.Errorf("at max age: %s, want dead", o)
	}
	// Retry-After is honoured for 429 and 503, not for other classes.
	if _, next := p.Decide(hookwatch.ClassRateLimit, 1, queued, queued, 90*time.Second, maxJitter); next.Sub(queued) != 90*time.Second {
		t.Errorf("429 Retry-After 90s: next in %v", next.Sub(queued))
	}
	if _, next := p.Decide(hookwatch.ClassTimeout, 1, queued, queued, 90*time.Second, maxJitter); next.Sub(queued) != 2500*time.Millisecond {
		t.Errorf("timeout ignores Retry-After: next in %v", next.Sub(queued))
	}
	// 4xx: three tries by default, then dead.
	for _, c := range []hookwatch.ErrorClass{hookwatch.ClassValidation, hookwatch.ClassPermission} {
		if o, _ := p.Decide(c, 2, queued, queued, 0, maxJitter); o != hookwatch.OutcomeRetry {
			t.Errorf("%s after 2 attempts: %s, want retry", c, o)
		}
		if o, _ := p.Decide(c, 3, queued, queued, 0, maxJitter); o != hookwatch.OutcomeDead {
			t.Errorf("%s after 3 attempts: %s, want dead", c, o)
		}
	}
	// Configurable per class, and by attempt count.
	q := deliver.Policy{MaxAttempts: 5, Classes: map[hookwatch.ErrorClass]deliver.ClassPolicy{hookwatch.ClassValidation: {Retry: false}}}.WithDefaults()
	if o, _ := q.Decide(hookwatch.ClassValidation, 1, queued, queued, 0, maxJitter); o != hookwatch.OutcomeDead {
		t.Errorf("validation with retry off: %s, want dead", o)
	}
	if o, _ := q.Decide(hookwatch.ClassConnection, 5, queued, queued, 0, maxJitter); o != hookwatch.OutcomeDead {
		t.Errorf("connection after max attempts: %s, want dead", o)
	}
}

func TestClassifyStatus(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]hookwatch.ErrorClass{
		200: hookwatch.ClassNone, 204: hookwatch.ClassNone, 301: hookwatch.ClassUnknown, 400: hookwatch.ClassValidation,
		422: hookwatch.ClassValidation, 404: hookwatch.ClassValidation, 401: hookwatch.ClassPermission, 403: hookwatch.ClassPermission,
		408: hookwatch.ClassTimeout, 410: hookwatch.ClassGone, 429: hookwatch.ClassRateLimit, 500: hookwatch.ClassServer,
		502: hookwatch.ClassServer, 503: hookwatch.ClassServer,
	} {
		if got := deliver.ClassifyStatus(status); got != want {
			t.Errorf("ClassifyStatus(%d) = %q, want %q", status, got, want)
		}
	}
}

func TestClassifyError(t *testing.T) {
	t.Parallel()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String()
	ln.Close()
	// A server that accepts and resets the connection.
	rl, _ := net.Listen("tcp", "127.0.0.1:0")
	defer rl.Close()
	go func() {
		for {
			c, err := rl.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsSrv.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer slow.Close()

	for _, tc := range []struct {
		name, url string
		want      hookwatch.ErrorClass
	}{
		{"refused", refused, hookwatch.ClassConnection},
		{"reset", "http://" + rl.Addr().String(), hookwatch.ClassConnection},
		{"dns", "http://no-such-host.invalid", hookwatch.ClassConnection},
		{"tls", tlsSrv.URL, hookwatch.ClassConnection},
		{"timeout", slow.URL, hookwatch.ClassTimeout},
	} {
		limit := 10 * time.Second
		if tc.want == hookwatch.ClassTimeout {
			limit = 300 * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		req, _ := http.NewRequestWithContext(ctx, "POST", tc.url, nil)
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}
		_, err := client.Do(req)
		cancel()
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		got, msg := deliver.ClassifyError(err)
		if got != tc.want {
			t.Errorf("%s: ClassifyError(%v) = %q, want %q", tc.name, err, got, tc.want)
		}
		if msg == "" || (tc.name != "dns" && containsURL(msg, tc.url)) {
			t.Errorf("%s: message %q (must say why, without the URL)", tc.name, msg)
		}
	}
	if got, _ := deliver.ClassifyError(errors.New("weird")); got != hookwatch.ClassUnknown {
		t.Errorf("unknown error class = %q", got)
	}
}

func containsURL(msg, url string) bool {
	return len(url) > 0 && len(msg) >= len(url) && (func() bool {
		for i := 0; i+len(url) <= len(msg); i++ {
			if msg[i:i+len(url)] == url {
				return true
			}
		}
		return false
	})()
}
