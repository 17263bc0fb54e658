package ingest

import (
	"strconv"
	"time"

	"github.com/hookwatch/hookwatch"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the receive path's Prometheus collectors. Labels are
// low-cardinality: source names, outcomes and reasons, never event IDs.
type Metrics struct {
	requests  *prometheus.CounterVec
	rejects   *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	batchSize prometheus.Histogram
	commit    prometheus.Histogram
	commitErr prometheus.Counter
	filtered  *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them on reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookwatch_ingest_requests_total",
			Help: "Webhook requests received, by source and outcome (accepted, duplicate, rejected, too_large, unavailable...).",
		}, []string{"source", "outcome"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookwatch_ingest_rejected_total",
			Help: "Webhook requests that failed verification, by source and reason.",
		}, []string{"source", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookwatch_ingest_duration_seconds",
			Help:    "Time from request to answer, including the durable commit.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
		}, []string{"source"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookwatch_ingest_commit_batch_size",
			Help:    "Events per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookwatch_ingest_commit_duration_seconds",
			Help:    "Time of one group commit (transaction and fsync).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1},
		}),
		commitErr: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookwatch_ingest_commit_errors_total",
			Help: "Group commits that failed (their requests were answered 503).",
		}),
		filtered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookwatch_ingest_filtered_total",
			Help: "Events a route's filter left out of destinations, by source, route (its number in the config, from 1) and result: false, or error (the filter failed on the event: a missing field...; shown on the event's page).",
		}, []string{"source", "route", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.rejects, m.duration, m.batchSize, m.commit, m.commitErr, m.filtered)
	}
	return m
}

func (m *Metrics) request(source, outcome string, start time.Time) {
	m.requests.WithLabelValues(source, outcome).Inc()
	m.duration.WithLabelValues(source).Observe(time.Since(start).Seconds())
}

func (m *Metrics) rejected(source, reason string, start time.Time) {
	m.rejects.WithLabelValues(source, reason).Inc()
	m.request(source, "rejected", start)
}

// Filtered counts the routes whose filters left an event out
// (hookwatch.Router).
func (m *Metrics) Filtered(source string, fs []hookwatch.Filtered) {
	if m == nil {
		return
	}
	for _, f := range fs {
		result := "false"
		if f.Err != "" {
			result = "error"
		}
		m.filtered.WithLabelValues(source, strconv.Itoa(f.Route), result).Inc()
	}
}

// ObserveCommit records one group commit; pass it to NewCommitter.
func (m *Metrics) ObserveCommit(size int, took time.Duration, err error) {
	m.batchSize.Observe(float64(size))
	m.commit.Observe(took.Seconds())
	if err != nil {
		m.commitErr.Inc()
	}
}
