package ingest

import (
	"time"

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
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.rejects, m.duration, m.batchSize, m.commit, m.commitErr)
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

// ObserveCommit records one group commit; pass it to NewCommitter.
func (m *Metrics) ObserveCommit(size int, took time.Duration, err error) {
	m.batchSize.Observe(float64(size))
	m.commit.Observe(took.Seconds())
	if err != nil {
		m.commitErr.Inc()
	}
}
