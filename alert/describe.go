package alert

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// shortDur prints a duration the way an operator writes it: 45s, 5m, 1h30m,
// 2d. Seconds are dropped from durations of an hour or more.
func shortDur(d time.Duration) string {
	d = d.Round(time.Second)
	part := func(n time.Duration, unit string) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(int64(n), 10) + unit
	}
	switch {
	case d <= 0:
		return "0s"
	case d < time.Minute:
		return part(d/time.Second, "s")
	case d < time.Hour:
		return part(d/time.Minute, "m") + part(d%time.Minute/time.Second, "s")
	case d < 24*time.Hour:
		return part(d/time.Hour, "h") + part(d%time.Hour/time.Minute, "m")
	}
	return part(d/(24*time.Hour), "d") + part(d%(24*time.Hour)/time.Hour, "h")
}

// pctText prints a fraction as a percentage without needless digits: 5%,
// 99.9%, 0.5%.
func pctText(f float64) string {
	return strconv.FormatFloat(round(f*100, 4), 'f', -1, 64) + "%"
}

// RuleInfo is a rule as operators read it: every figure with its unit.
type RuleInfo struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Scope says what it watches: "each destination", "source stripe"...
	Scope string `json:"scope"`
	// Condition is when it fires: "error rate > 5% over 5m (at least 20
	// attempts)".
	Condition string `json:"condition"`
	// For and Cooldown are "5m"-style durations, "0s" for none.
	For      string   `json:"for"`
	Cooldown string   `json:"cooldown"`
	Channels []string `json:"channels,omitempty"`
}

// Describe returns r as operators read it.
func Describe(r Rule) RuleInfo {
	info := RuleInfo{Name: r.Name, Kind: string(r.Kind), Scope: scopeText(r), Condition: condition(r),
		For: shortDur(r.For), Cooldown: shortDur(r.Cooldown), Channels: r.Channels}
	return info
}

func scopeText(r Rule) string {
	var parts []string
	switch r.Per {
	case "destination":
		parts = append(parts, "each destination")
	case "source":
		parts = append(parts, "each source")
	}
	if r.Source != "" {
		parts = append(parts, "source "+r.Source)
	}
	if r.Destination != "" {
		parts = append(parts, "destination "+r.Destination)
	}
	if len(parts) == 0 {
		return "all traffic"
	}
	return strings.Join(parts, ", ")
}

func condition(r Rule) string {
	w := shortDur(r.Window)
	switch r.Kind {
	case hookwatch.AlertErrorRate:
		return fmt.Sprintf("error rate > %s over %s (at least %d attempts)", pctText(r.Threshold), w, r.MinVolume)
	case hookwatch.AlertFailures:
		return fmt.Sprintf("> %g failed attempts over %s", r.Threshold, w)
	case hookwatch.AlertDeadLetters:
		if r.Threshold == 0 {
			return "any dead letter over " + w
		}
		return fmt.Sprintf("> %g dead letters over %s", r.Threshold, w)
	case hookwatch.AlertRejected:
		return fmt.Sprintf("> %g requests failing verification over %s", r.Threshold, w)
	case hookwatch.AlertLatency:
		return fmt.Sprintf("p%g processing time > %s over %s (at least %d delivered)", r.Percentile*100, shortDur(r.Latency), w, r.MinVolume)
	case hookwatch.AlertCircuitOpen:
		return "circuit breaker open"
	case hookwatch.AlertStoreSize:
		if r.Size > 0 {
			return "store uses more than " + bytesText(int64(r.Size))
		}
		return "store uses more than " + pctText(r.Threshold) + " of retention.max_store_size"
	case hookwatch.AlertDiskFree:
		if r.Size > 0 {
			return "less than " + bytesText(int64(r.Size)) + " free on the store's volume"
		}
		return "less than " + pctText(r.Threshold) + " of the store's volume free"
	case hookwatch.AlertBacklogAge:
		return "oldest waiting delivery older than " + shortDur(r.Age)
	case hookwatch.AlertOrderingBlocked:
		return "an ordering key blocked longer than " + shortDur(r.Age)
	case hookwatch.AlertSLOBurn:
		return fmt.Sprintf("%s delivered within %s; error budget burning > %gx over %s and %s", pctText(r.Objective), shortDur(r.Within),
			r.BurnRate, shortDur(r.LongWindow), shortDur(r.ShortWindow))
	}
	return string(r.Kind)
}

// what names a rule's alert in a few words, the same when it fires and
// when it resolves: "circuit open", "error rate over 5%".
func what(r Rule) string {
	switch r.Kind {
	case hookwatch.AlertErrorRate:
		return "error rate over " + pctText(r.Threshold)
	case hookwatch.AlertFailures:
		return fmt.Sprintf("over %g failed attempts in %s", r.Threshold, shortDur(r.Window))
	case hookwatch.AlertDeadLetters:
		if r.Threshold == 0 {
			return "dead letters"
		}
		return fmt.Sprintf("over %g dead letters in %s", r.Threshold, shortDur(r.Window))
	case hookwatch.AlertRejected:
		return "signature failures"
	case hookwatch.AlertLatency:
		return fmt.Sprintf("slow processing (p%g over %s)", r.Percentile*100, shortDur(r.Latency))
	case hookwatch.AlertCircuitOpen:
		return "circuit open"
	case hookwatch.AlertStoreSize:
		return "store size"
	case hookwatch.AlertDiskFree:
		return "low disk space"
	case hookwatch.AlertBacklogAge:
		return "backlog older than " + shortDur(r.Age)
	case hookwatch.AlertOrderingBlocked:
		return "ordering key blocked over " + shortDur(r.Age)
	case hookwatch.AlertSLOBurn:
		return "delivery SLO burning"
	}
	return r.Name
}

// who names a subject for a headline: the destination or source name, or
// "all traffic".
func who(subject string) string {
	switch {
	case strings.HasPrefix(subject, "destination:"):
		return strings.TrimPrefix(subject, "destination:")
	case strings.HasPrefix(subject, "source:"):
		return "source " + strings.TrimPrefix(subject, "source:")
	}
	return "all traffic"
}

// firstLine returns the first non-empty line of s, at most n bytes (cut on
// a rune boundary).
func firstLine(s string, n int) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if len(l) > n {
				cut := n
				for cut > 0 && !utf8RuneStart(l[cut]) {
					cut--
				}
				l = l[:cut] + "…"
			}
			return l
		}
	}
	return ""
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
