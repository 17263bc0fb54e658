package hookwatch

// AlertKind is what an alert rule measures: the kind of a rule in the
// config's alerts.rules, evaluated by the alert package.
type AlertKind string

// Alert rule kinds.
const (
	AlertErrorRate   AlertKind = "error_rate"   // failed attempts / all attempts over window > threshold
	AlertFailures    AlertKind = "failures"     // failed attempts over window > threshold
	AlertLatency     AlertKind = "latency"      // processing time percentile over window > latency
	AlertDeadLetters AlertKind = "dead_letters" // dead letters over window > threshold (0: any)
	AlertRejected    AlertKind = "rejected"     // signature failures over window > threshold
	AlertCircuitOpen AlertKind = "circuit_open" // a destination's circuit breaker is open
	AlertBacklogAge  AlertKind = "backlog_age"  // the oldest waiting delivery is older than age
	AlertSLOBurn     AlertKind = "slo_burn"     // error budget burning faster than burn_rate over both windows
	AlertStoreSize   AlertKind = "store_size"   // the store's used size over size (or threshold × retention.max_store_size)
	AlertDiskFree    AlertKind = "disk_free"    // the store volume's free space under size (or threshold × the volume)
	// AlertOrderingBlocked: an ordered destination's key has been blocked
	// (its head failing, or dead under on_dead: block) longer than age.
	AlertOrderingBlocked AlertKind = "ordering_blocked"
)

// AlertKinds lists every alert rule kind, in the order the docs list them.
func AlertKinds() []AlertKind {
	return []AlertKind{AlertErrorRate, AlertFailures, AlertLatency, AlertDeadLetters, AlertRejected, AlertCircuitOpen, AlertBacklogAge, AlertSLOBurn, AlertStoreSize, AlertDiskFree, AlertOrderingBlocked}
}
