package readiness

import "github.com/prometheus/client_golang/prometheus"

// Collector returns the Prometheus side of w, read from the cached state on
// scrape: hookwatch_ready, hookwatch_unready{reason}, and, when the free
// space is known, hookwatch_store_free_bytes, hookwatch_store_min_free_bytes
// and hookwatch_store_low_disk; when the store is measured,
// hookwatch_store_size_bytes, hookwatch_store_used_bytes and
// hookwatch_store_oldest_finished_age_seconds.
// hookwatch_store_probe_failures_total counts failed write probes.
func (w *Watcher) Collector() prometheus.Collector { return collector{w} }

var (
	readyDesc    = prometheus.NewDesc("hookwatch_ready", "1 when /readyz answers 200: the store commits and has free space above storage.min_free.", nil, nil)
	unreadyDesc  = prometheus.NewDesc("hookwatch_unready", "1 for each reason /readyz answers 503 now (commit_failed, probe_failed, low_disk).", []string{"reason"}, nil)
	freeDesc     = prometheus.NewDesc("hookwatch_store_free_bytes", "Free space on the SQLite store's volume, sampled every few seconds (absent when it cannot be seen, as on PostgreSQL).", nil, nil)
	minFreeDesc  = prometheus.NewDesc("hookwatch_store_min_free_bytes", "The free-space floor (storage.min_free) of the store's volume.", nil, nil)
	lowDesc      = prometheus.NewDesc("hookwatch_store_low_disk", "1 when the store's volume is under storage.min_free: the quarantine keeps nothing.", nil, nil)
	sizeDesc     = prometheus.NewDesc("hookwatch_store_size_bytes", "The store's size on disk: SQLite's database file and WAL, PostgreSQL's tables with their indexes (sampled every 30s).", nil, nil)
	usedDesc     = prometheus.NewDesc("hookwatch_store_used_bytes", "What the store's live rows take: SQLite's pages in use; on PostgreSQL an estimate from the planner's statistics (retention.max_store_size counts it).", nil, nil)
	oldestDesc   = prometheus.NewDesc("hookwatch_store_oldest_finished_age_seconds", "Age of the oldest finished event kept: how far back retention reaches (absent when none is kept).", nil, nil)
	failuresDesc = prometheus.NewDesc("hookwatch_store_probe_failures_total", "Write probes of the store that failed.", nil, nil)
)

type collector struct{ w *Watcher }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{readyDesc, unreadyDesc, freeDesc, minFreeDesc, lowDesc, sizeDesc, usedDesc, oldestDesc, failuresDesc} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.w.Status()
	ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, bool01(s.Ready))
	for _, r := range Reasons {
		ch <- prometheus.MustNewConstMetric(unreadyDesc, prometheus.GaugeValue, bool01(s.Has(r)), r)
	}
	if s.Storage.Known() {
		ch <- prometheus.MustNewConstMetric(freeDesc, prometheus.GaugeValue, float64(*s.Storage.FreeBytes))
		ch <- prometheus.MustNewConstMetric(minFreeDesc, prometheus.GaugeValue, float64(*s.Storage.MinFreeBytes))
		ch <- prometheus.MustNewConstMetric(lowDesc, prometheus.GaugeValue, bool01(s.Storage.Low))
	}
	if st := s.Storage.Store; st != nil {
		ch <- prometheus.MustNewConstMetric(sizeDesc, prometheus.GaugeValue, float64(st.Bytes))
		ch <- prometheus.MustNewConstMetric(usedDesc, prometheus.GaugeValue, float64(st.Used))
		if st.Oldest != nil {
			ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, st.OldestAgeSeconds)
		}
	}
	ch <- prometheus.MustNewConstMetric(failuresDesc, prometheus.CounterValue, float64(c.w.failed.Load()))
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
