package alert

import (
	"fmt"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Rule is an alert rule: what it measures, over which scope, and when it
// fires and notifies. The binary builds them from the config's
// alerts.rules, defaults applied (docs/alerting.md lists the fields).
type Rule struct {
	Name string
	Kind hookwatch.AlertKind
	// Source and Destination narrow the scope; both empty: all traffic.
	Source      string
	Destination string
	// Per evaluates the rule separately for each "source" or "destination"
	// in scope (one alert each); empty evaluates the scope as a whole.
	Per string
	// Threshold: a fraction for error_rate (0.05), a count for failures,
	// dead_letters and rejected (the rule holds when above it).
	Threshold float64
	// Window is the sliding window measured.
	Window time.Duration
	// MinVolume is the fewest attempts (error_rate) or deliveries (latency)
	// in the window for the rule to judge.
	MinVolume int
	// Percentile and Latency: a latency rule holds when that percentile of
	// processing time is over Latency.
	Percentile float64
	Latency    time.Duration
	// Age: backlog_age holds when the oldest waiting delivery is older.
	Age time.Duration
	// Size: store_size holds when the store's used size is over it,
	// disk_free when the volume's free space is under it (bytes); 0 means
	// Threshold as a fraction instead.
	Size int64
	// SLO: Objective of deliveries within Within of receipt; slo_burn holds
	// when the error budget burns faster than BurnRate over both LongWindow
	// and ShortWindow.
	Objective   float64
	Within      time.Duration
	LongWindow  time.Duration
	ShortWindow time.Duration
	BurnRate    float64
	// For is how long the condition must hold before the alert fires.
	For time.Duration
	// Cooldown is the least time between two firing notifications of one
	// alert.
	Cooldown time.Duration
	// SkipResolved sends no "resolved" notification when the alert clears
	// (notify_resolved: false).
	SkipResolved bool
	// Channels are the channel names notified; empty means all.
	Channels []string
}

// Resolved reports whether the rule notifies when it clears.
func (r Rule) Resolved() bool { return !r.SkipResolved }

// measurement is a rule's verdict on one subject.
type measurement struct {
	value     float64
	threshold float64
	holds     bool
	summary   string
}

// inputs is what one evaluation reads from the store.
type inputs struct {
	now      time.Time
	windows  map[windowKey]*data
	circuits map[string]hookwatch.DestinationState
	backlogs []hookwatch.Backlog
	// blocked is the blocked ordering keys by ordered destination.
	blocked  map[string]hookwatch.Blocked
	silences []*hookwatch.Silence
	// storage is the store's space (nil: not measured).
	storage *Storage
}

// Storage is what the store_size and disk_free rules measure
// (Evaluator.MeasureStorage).
type Storage struct {
	// FreeBytes and TotalBytes are the store volume's; nil when it cannot
	// be seen (PostgreSQL).
	FreeBytes, TotalBytes *int64
	// UsedBytes is what the store's rows take (nil: not measured yet).
	UsedBytes *int64
	// Budget is retention.max_store_size (0: none).
	Budget int64
}

// StorageSubject is the subject of the store_size and disk_free alerts.
const StorageSubject = "store"

// measureStorage evaluates a store_size or disk_free rule; nothing is
// measured when the figure is unknown (or, for store_size as a fraction,
// when there is no budget).
func measureStorage(r Rule, st *Storage) map[string]measurement {
	out := map[string]measurement{}
	if st == nil {
		return out
	}
	switch r.Kind {
	case hookwatch.AlertStoreSize:
		limit := int64(r.Size)
		if limit == 0 {
			limit = int64(r.Threshold * float64(st.Budget))
		}
		if st.UsedBytes == nil || limit <= 0 {
			return out
		}
		used := *st.UsedBytes
		summary := fmt.Sprintf("the store uses %s (threshold %s", bytesText(used), bytesText(limit))
		if r.Size == 0 {
			summary += fmt.Sprintf(", %s of retention.max_store_size %s", pctText(r.Threshold), bytesText(st.Budget))
		}
		out[StorageSubject] = measurement{value: float64(used), threshold: float64(limit), holds: used > limit, summary: summary + ")"}
	case hookwatch.AlertDiskFree:
		if st.FreeBytes == nil || st.TotalBytes == nil {
			return out
		}
		free, total := *st.FreeBytes, *st.TotalBytes
		limit := int64(r.Size)
		if limit == 0 {
			limit = int64(r.Threshold * float64(total))
		}
		out[StorageSubject] = measurement{value: float64(free), threshold: float64(limit), holds: free < limit,
			summary: fmt.Sprintf("%s free of %s on the store's volume (threshold %s)", bytesText(free), bytesText(total), bytesText(limit))}
	}
	return out
}

// bytesText prints a byte count in binary units: "1.5 GiB".
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// circuitOpen reports whether the destination's breaker is open or
// half-open (probing): it receives nothing else meanwhile.
func (in *inputs) circuitOpen(dest string) bool {
	st, ok := in.circuits[dest]
	return ok && (st.Circuit == hookwatch.CircuitOpen || st.Circuit == hookwatch.CircuitHalfOpen)
}

// draining reports whether a destination whose circuit is closed still has
// deliveries waiting that were queued before it closed: the outage's
// backlog, delivered late.
func (in *inputs) draining(dest string) bool {
	st, ok := in.circuits[dest]
	if !ok || in.circuitOpen(dest) {
		return false
	}
	for _, b := range in.backlogs {
		if b.Destination == dest && b.Pending > 0 && b.Oldest.Before(st.UpdatedAt) {
			return true
		}
	}
	return false
}

type windowKey struct{ window, within time.Duration }

// windowsOf lists the windows a rule reads.
func windowsOf(r Rule) []windowKey {
	switch r.Kind {
	case hookwatch.AlertCircuitOpen, hookwatch.AlertStoreSize, hookwatch.AlertDiskFree, hookwatch.AlertOrderingBlocked:
		return nil
	case hookwatch.AlertBacklogAge:
		return []windowKey{{window: time.Minute}} // only its backlogs are read
	case hookwatch.AlertSLOBurn:
		return []windowKey{{r.LongWindow, r.Within}, {r.ShortWindow, r.Within}}
	}
	return []windowKey{{window: r.Window}}
}

// keyFunc maps a (source, destination) pair to the rule's subject, or ""
// when the pair is out of its scope.
func keyFunc(r Rule) func(source, destination string) string {
	return func(src, dst string) string {
		if r.Source != "" && src != r.Source {
			return ""
		}
		if r.Destination != "" && dst != r.Destination {
			return ""
		}
		switch r.Per {
		case "source":
			return "source:" + src
		case "destination":
			if dst == "" {
				return ""
			}
			return "destination:" + dst
		}
		if r.Destination != "" && dst == "" {
			return "" // a source row, not about this destination
		}
		return scopeSubject(r)
	}
}

// scopeSubject names a rule's whole scope.
func scopeSubject(r Rule) string {
	switch {
	case r.Destination != "":
		return "destination:" + r.Destination
	case r.Source != "":
		return "source:" + r.Source
	}
	return "all"
}

// measureOrdering evaluates an ordering_blocked rule: per subject, the
// blocked keys of its ordered destinations and how long the oldest has
// waited; it holds when that is longer than the rule's age.
func measureOrdering(r Rule, in *inputs, key func(src, dst string) string) map[string]measurement {
	type agg struct {
		keys   int
		oldest time.Time
	}
	subjects := map[string]*agg{}
	for _, dest := range sortedKeys(in.blocked) {
		b := in.blocked[dest]
		k := key("", dest)
		if k == "" {
			continue
		}
		a := subjects[k]
		if a == nil {
			a = &agg{}
			subjects[k] = a
		}
		if b.Keys > 0 && (a.keys == 0 || b.Oldest.Before(a.oldest)) {
			a.oldest = b.Oldest
		}
		a.keys += b.Keys
	}
	out := map[string]measurement{}
	for k, a := range subjects {
		var age time.Duration
		if a.keys > 0 {
			age = max(0, in.now.Sub(a.oldest))
		}
		out[k] = measurement{value: round(age.Seconds(), 0), threshold: r.Age.Seconds(), holds: a.keys > 0 && age > r.Age,
			summary: fmt.Sprintf("%d ordering keys blocked behind a failing delivery, the oldest for %s (threshold %s)", a.keys, shortDur(age), shortDur(r.Age))}
	}
	return out
}

// measure evaluates r against in, by subject. Pairs whose destination is
// in skip are left out: the rule measured without the destinations whose
// outage is already paged (see hold).
func measure(r Rule, in *inputs, skip map[string]bool) map[string]measurement {
	out := map[string]measurement{}
	scoped := keyFunc(r)
	key := func(src, dst string) string {
		if dst != "" && skip[dst] {
			return ""
		}
		return scoped(src, dst)
	}
	window := shortDur(r.Window)
	switch r.Kind {
	case hookwatch.AlertStoreSize, hookwatch.AlertDiskFree:
		return measureStorage(r, in.storage)
	case hookwatch.AlertOrderingBlocked:
		return measureOrdering(r, in, key)
	case hookwatch.AlertCircuitOpen:
		for _, name := range sortedKeys(in.circuits) {
			st := in.circuits[name]
			k := key("", name)
			if r.Per == "" && r.Destination == "" && !skip[name] {
				k = scopeSubject(r)
			}
			if k == "" {
				continue
			}
			m := out[k]
			if in.circuitOpen(name) {
				if !m.holds {
					m.summary = ""
				}
				m.value++
				m.holds = true
				m.summary = strings.TrimPrefix(m.summary+", ", ", ") + fmt.Sprintf("circuit of %s is %s after %d consecutive failures", name, st.Circuit, st.Failures)
			} else if !m.holds {
				m.summary = fmt.Sprintf("circuit of %s is closed", name)
				if k == "all" {
					m.summary = "every circuit is closed"
				}
			}
			out[k] = m
		}
		return out
	case hookwatch.AlertSLOBurn:
		long := in.windows[windowKey{r.LongWindow, r.Within}].group(key)
		short := in.windows[windowKey{r.ShortWindow, r.Within}].group(key)
		budget := 1 - r.Objective
		within := r.Within
		for k, lf := range long {
			lt, lg := lf.SLO()
			// Deliveries still waiting past the objective are bad even when
			// no event arrived in a window to judge (traffic stopped during
			// an outage): such a window counts as all bad, not as no burn.
			overdue := lf.Backlog > 0 && lf.OldestWaiting > within.Seconds()
			if lt == 0 && !overdue {
				continue
			}
			var st, sg int
			if sf := short[k]; sf != nil {
				st, sg = sf.SLO()
			}
			burn := func(total, good int) float64 {
				if total == 0 {
					return 1 / budget // only overdue deliveries: all bad
				}
				return float64(total-good) / float64(total) / budget
			}
			lburn, sburn := burn(lt, lg), 0.0
			if st > 0 || overdue {
				sburn = burn(st, sg)
			}
			summary := fmt.Sprintf("error budget of %s delivered within %s burning %.1fx over %s and %.1fx over %s (threshold %.1fx); %d of %d late or undelivered over %s",
				pctText(r.Objective), shortDur(within), lburn, shortDur(r.LongWindow), sburn, shortDur(r.ShortWindow), r.BurnRate,
				lt-lg, lt, shortDur(r.LongWindow))
			if overdue && (lt == 0 || st == 0) {
				summary += fmt.Sprintf("; no delivery to judge over %s while %d wait, the oldest for %s: counted as undelivered",
					shortDur(r.ShortWindow), lf.Backlog, shortDur(time.Duration(lf.OldestWaiting)*time.Second))
			}
			out[k] = measurement{value: round(min(lburn, sburn), 2), threshold: r.BurnRate, holds: lburn > r.BurnRate && sburn > r.BurnRate,
				summary: summary}
		}
		return out
	}
	d := in.windows[windowsOf(r)[0]]
	for k, f := range d.group(key) {
		var m measurement
		switch r.Kind {
		case hookwatch.AlertErrorRate:
			n := f.FailedTotal() + f.Delivered
			m = measurement{value: round(f.ErrorRate, 4), threshold: r.Threshold, holds: n >= r.MinVolume && n > 0 && f.ErrorRate > r.Threshold,
				summary: fmt.Sprintf("error rate %.1f%% over %s (%d failed of %d attempts; threshold %s, minimum %d)",
					f.ErrorRate*100, window, f.FailedTotal(), n, pctText(r.Threshold), r.MinVolume)}
		case hookwatch.AlertFailures:
			n := f.FailedTotal()
			m = measurement{value: float64(n), threshold: r.Threshold, holds: float64(n) > r.Threshold,
				summary: fmt.Sprintf("%d failed attempts over %s (threshold %g)%s", n, window, r.Threshold, classes(f.Failed))}
		case hookwatch.AlertDeadLetters:
			m = measurement{value: float64(f.DeadLetters), threshold: r.Threshold, holds: float64(f.DeadLetters) > r.Threshold,
				summary: fmt.Sprintf("%d dead letters over %s (threshold %g)", f.DeadLetters, window, r.Threshold)}
		case hookwatch.AlertRejected:
			n := f.RejectedTotal()
			m = measurement{value: float64(n), threshold: r.Threshold, holds: float64(n) > r.Threshold,
				summary: fmt.Sprintf("%d requests failed verification over %s (threshold %g)%s", n, window, r.Threshold, classes(f.Rejected))}
		case hookwatch.AlertLatency:
			q := f.Quantile(r.Percentile)
			m = measurement{value: round(q.Seconds(), 3), threshold: r.Latency.Seconds(), holds: f.Delivered >= r.MinVolume && f.Delivered > 0 && q > r.Latency,
				summary: fmt.Sprintf("p%g processing time %s over %s (%d delivered; threshold %s)", r.Percentile*100, q.Round(time.Millisecond),
					window, f.Delivered, shortDur(r.Latency))}
		case hookwatch.AlertBacklogAge:
			age := time.Duration(f.OldestWaiting * float64(time.Second))
			m = measurement{value: round(f.OldestWaiting, 0), threshold: r.Age.Seconds(), holds: f.Backlog > 0 && age > r.Age,
				summary: fmt.Sprintf("%d deliveries waiting, the oldest for %s (threshold %s)", f.Backlog, shortDur(age), shortDur(r.Age))}
		}
		out[k] = m
	}
	return out
}

// classes prints counts by class: " (server_error 7, timeout_error 4)".
func classes(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
