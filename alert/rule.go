package alert

import (
	"fmt"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/config"
)

// Rule is an alert rule as configured (config.AlertRule, defaults applied).
type Rule = config.AlertRule

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
}

type windowKey struct{ window, within time.Duration }

// windowsOf lists the windows a rule reads.
func windowsOf(r Rule) []windowKey {
	switch r.Kind {
	case config.RuleCircuitOpen:
		return nil
	case config.RuleBacklogAge:
		return []windowKey{{window: time.Minute}} // only its backlogs are read
	case config.RuleSLOBurn:
		return []windowKey{{r.LongWindow.D(), r.Within.D()}, {r.ShortWindow.D(), r.Within.D()}}
	}
	return []windowKey{{window: r.Window.D()}}
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

// measure evaluates r against in, by subject.
func measure(r Rule, in *inputs) map[string]measurement {
	out := map[string]measurement{}
	key := keyFunc(r)
	window := config.FormatDuration(r.Window.D())
	switch r.Kind {
	case config.RuleCircuitOpen:
		for name, st := range in.circuits {
			k := key("", name)
			if r.Per == "" && r.Destination == "" {
				k = scopeSubject(r)
			}
			if k == "" {
				continue
			}
			open := st.Circuit == hookwatch.CircuitOpen || st.Circuit == hookwatch.CircuitHalfOpen
			m := out[k]
			if open {
				m.value++
				m.holds = true
				m.summary = strings.TrimPrefix(m.summary+", ", ", ") + fmt.Sprintf("circuit of %s is %s after %d consecutive failures", name, st.Circuit, st.Failures)
			}
			out[k] = m
		}
		return out
	case config.RuleSLOBurn:
		long := in.windows[windowKey{r.LongWindow.D(), r.Within.D()}].group(key)
		short := in.windows[windowKey{r.ShortWindow.D(), r.Within.D()}].group(key)
		budget := 1 - r.Objective
		for k, lf := range long {
			lt, lg := lf.SLO()
			if lt == 0 {
				continue
			}
			var st, sg int
			if sf := short[k]; sf != nil {
				st, sg = sf.SLO()
			}
			lburn := float64(lt-lg) / float64(lt) / budget
			sburn := 0.0
			if st > 0 {
				sburn = float64(st-sg) / float64(st) / budget
			}
			out[k] = measurement{value: round(min(lburn, sburn), 2), threshold: r.BurnRate, holds: lburn > r.BurnRate && sburn > r.BurnRate,
				summary: fmt.Sprintf("error budget of %.3g%% delivered within %s burning %.1fx over %s and %.1fx over %s (threshold %.1fx); %d of %d late or undelivered over %s",
					r.Objective*100, config.FormatDuration(r.Within.D()), lburn, config.FormatDuration(r.LongWindow.D()), sburn,
					config.FormatDuration(r.ShortWindow.D()), r.BurnRate, lt-lg, lt, config.FormatDuration(r.LongWindow.D()))}
		}
		return out
	}
	d := in.windows[windowsOf(r)[0]]
	for k, f := range d.group(key) {
		var m measurement
		switch r.Kind {
		case config.RuleErrorRate:
			n := f.FailedTotal() + f.Delivered
			m = measurement{value: round(f.ErrorRate, 4), threshold: r.Threshold, holds: n >= r.MinVolume && n > 0 && f.ErrorRate > r.Threshold,
				summary: fmt.Sprintf("error rate %.1f%% over %s (%d failed of %d attempts; threshold %.1f%%, minimum %d)",
					f.ErrorRate*100, window, f.FailedTotal(), n, r.Threshold*100, r.MinVolume)}
		case config.RuleFailures:
			n := f.FailedTotal()
			m = measurement{value: float64(n), threshold: r.Threshold, holds: float64(n) > r.Threshold,
				summary: fmt.Sprintf("%d failed attempts over %s (threshold %g)%s", n, window, r.Threshold, classes(f.Failed))}
		case config.RuleDeadLetters:
			m = measurement{value: float64(f.DeadLetters), threshold: r.Threshold, holds: float64(f.DeadLetters) > r.Threshold,
				summary: fmt.Sprintf("%d dead letters over %s (threshold %g)", f.DeadLetters, window, r.Threshold)}
		case config.RuleRejected:
			n := f.RejectedTotal()
			m = measurement{value: float64(n), threshold: r.Threshold, holds: float64(n) > r.Threshold,
				summary: fmt.Sprintf("%d requests failed verification over %s (threshold %g)%s", n, window, r.Threshold, classes(f.Rejected))}
		case config.RuleLatency:
			q := f.Quantile(r.Percentile)
			m = measurement{value: round(q.Seconds(), 3), threshold: r.Latency.D().Seconds(), holds: f.Delivered >= r.MinVolume && f.Delivered > 0 && q > r.Latency.D(),
				summary: fmt.Sprintf("p%g processing time %s over %s (%d delivered; threshold %s)", r.Percentile*100, q.Round(time.Millisecond),
					window, f.Delivered, r.Latency.D())}
		case config.RuleBacklogAge:
			age := time.Duration(f.OldestWaiting * float64(time.Second))
			m = measurement{value: round(f.OldestWaiting, 0), threshold: r.Age.D().Seconds(), holds: f.Backlog > 0 && age > r.Age.D(),
				summary: fmt.Sprintf("%d deliveries waiting, the oldest for %s (threshold %s)", f.Backlog, age.Round(time.Second), r.Age.D())}
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
