package main

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads /metrics from the admin listener as Prometheus would.
func scrape(t *testing.T, adminAddr string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	resp, err := http.Get("http://" + adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	return mfs, string(raw)
}

// metric returns the sample of family name whose labels include want, and
// whether there is one.
func metric(mfs map[string]*dto.MetricFamily, name string, want ...string) (*dto.Metric, bool) {
	mf, ok := mfs[name]
	if !ok {
		return nil, false
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if have[want[i]] != want[i+1] {
				continue next
			}
		}
		return m, true
	}
	return nil, false
}

// value is a counter's or gauge's value, -1 when absent.
func value(mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m, ok := metric(mfs, name, labels...)
	switch {
	case !ok:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return -1
}

// TestDeliveryMetrics delivers real events to an app that succeeds, then
// fails until its circuit opens, and scrapes /metrics through the real
// admin listener: attempt counters by class and outcome, latency and
// processing histograms, dead letters, the circuit state and the backlog
// read from the store.
func TestDeliveryMetrics(t *testing.T) {
	t.Parallel()
	s := startAlertMain(t, 3, "")
	s.appStatus.Store(http.StatusOK)
	s.post(t, stripeEvent{id: "evt_m_ok_1", livemode: true})
	s.post(t, stripeEvent{id: "evt_m_ok_2", livemode: true})
	waitScrape := func(what string, ok func(map[string]*dto.MetricFamily) bool) (map[string]*dto.MetricFamily, string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			mfs, raw := scrape(t, s.m.AdminAddr())
			if ok(mfs) {
				return mfs, raw
			}
			if time.Now().After(deadline) {
				t.Fatalf("/metrics never showed %s:\n%s", what, grepHookwatch(raw))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitScrape("2 successes", func(mfs map[string]*dto.MetricFamily) bool {
		return value(mfs, "hookwatch_delivery_attempts_total", "destination", "app", "class", "none", "outcome", "succeeded") == 2
	})

	// The app breaks: one delivery is dead-lettered after its 2 attempts,
	// the next one's first failure is the third in a row and opens the
	// circuit (it waits for the probe), and a new event waits behind it.
	s.appStatus.Store(http.StatusInternalServerError)
	s.post(t, stripeEvent{id: "evt_m_bad_1", livemode: true})
	waitScrape("a dead letter", func(mfs map[string]*dto.MetricFamily) bool {
		return value(mfs, "hookwatch_delivery_dead_letters_total", "destination", "app") == 1
	})
	s.post(t, stripeEvent{id: "evt_m_bad_2", livemode: true})
	waitScrape("the circuit open", func(mfs map[string]*dto.MetricFamily) bool {
		return value(mfs, "hookwatch_destination_circuit_transitions_total", "destination", "app", "state", "open") == 1
	})
	s.post(t, stripeEvent{id: "evt_m_waiting", livemode: true})
	mfs, raw := waitScrape("a backlog of 2", func(mfs map[string]*dto.MetricFamily) bool {
		return value(mfs, "hookwatch_delivery_backlog", "destination", "app") == 2 &&
			value(mfs, "hookwatch_destination_circuit_state", "destination", "app", "state", "open") == 1
	})

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hookwatch_delivery_attempts_total", []string{"destination", "app", "class", "server_error", "outcome", "retry"}, 2},
		{"hookwatch_delivery_attempts_total", []string{"destination", "app", "class", "server_error", "outcome", "dead"}, 1},
		{"hookwatch_delivery_dead_letters_total", []string{"destination", "app"}, 1},
		{"hookwatch_destination_circuit_state", []string{"destination", "app", "state", "closed"}, 0},
		{"hookwatch_destination_circuit_state", []string{"destination", "app", "state", "half-open"}, 0},
		{"hookwatch_destination_paused", []string{"destination", "app"}, 0},
		{"hookwatch_destination_disabled", []string{"destination", "app"}, 0},
		{"hookwatch_delivery_backlog_up", nil, 1},
		// The receive path's metrics are still there, registered once.
		{"hookwatch_ingest_requests_total", []string{"source", "stripe", "outcome", "accepted"}, 5},
	} {
		if got := value(mfs, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if age := value(mfs, "hookwatch_delivery_backlog_oldest_age_seconds", "destination", "app"); age <= 0 || age > 60 {
		t.Errorf("oldest waiting age = %v s", age)
	}
	if m, _ := metric(mfs, "hookwatch_delivery_attempt_duration_seconds", "destination", "app"); m.GetHistogram().GetSampleCount() != 5 {
		t.Errorf("attempt duration histogram: %v, want 5 attempts", m)
	}
	m, _ := metric(mfs, "hookwatch_delivery_processing_seconds", "destination", "app")
	if h := m.GetHistogram(); h.GetSampleCount() != 2 || h.GetSampleSum() <= 0 || h.GetSampleSum() > 20 {
		t.Errorf("processing histogram: %v, want the 2 delivered", m)
	}
	// Low cardinality: no event, delivery or instance IDs in labels.
	if id := regexp.MustCompile(`(evt|dlv|ins)_[0-9A-Z]{10,}`).FindString(raw); id != "" {
		t.Errorf("an ID in /metrics: %s", id)
	}
	// /metrics needs no token (Prometheus scrapes it), unlike /api/.
	resp, err := http.Get("http://" + s.m.AdminAddr() + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/health without a token: %d, want 401", resp.StatusCode)
	}
}

// grepHookwatch keeps Hookwatch's own metrics of a scrape, for messages.
func grepHookwatch(raw string) string {
	var keep []string
	for _, l := range strings.Split(raw, "\n") {
		if strings.HasPrefix(l, "hookwatch_") && !strings.Contains(l, "_bucket") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
