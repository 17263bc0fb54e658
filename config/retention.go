package config

import (
	"fmt"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Retention says how long finished events are kept
// (docs/configuration.md#retention). Sources may override Events and
// DeadLetters (sources[].retention).
type Retention struct {
	// Events is how long an event whose every delivery is finished
	// (delivered, or none: filtered) is kept, from its last delivery.
	Events Duration `yaml:"events"`
	// DeadLetters is how long an event with a dead delivery is kept, for
	// replay; at least Events.
	DeadLetters Duration `yaml:"dead_letters"`
	// MaxStoreSize is a budget of the store's used bytes: over it, the
	// oldest finished events go first. 0: no budget.
	MaxStoreSize ByteSize `yaml:"max_store_size"`
	// Every is the interval of the retention job.
	Every Duration `yaml:"every"`
}

// SourceRetention is a source's own retention; unset fields are the
// top-level retention's.
type SourceRetention struct {
	Events      Duration `yaml:"events"`
	DeadLetters Duration `yaml:"dead_letters"`
}

// minRetention is the shortest retention accepted (tests and demos).
const minRetention = time.Second

func (c *Config) setRetentionDefaults() {
	r := &c.Retention
	if r.Events == 0 {
		r.Events = Duration(hookwatch.DefaultRetentionEvents)
	}
	if r.DeadLetters == 0 {
		r.DeadLetters = max(Duration(hookwatch.DefaultRetentionDeadLetters), r.Events)
	}
	if r.Every == 0 {
		r.Every = Duration(hookwatch.DefaultRetentionEvery)
	}
}

// SourceRetention returns the retention of source name: its own, over the
// top-level one.
func (c *Config) SourceRetention(name string) (events, deadLetters time.Duration) {
	events, deadLetters = c.Retention.Events.D(), c.Retention.DeadLetters.D()
	for _, s := range c.Sources {
		if s.Name == name && s.Retention != nil {
			if s.Retention.Events != 0 {
				events = s.Retention.Events.D()
			}
			if s.Retention.DeadLetters != 0 {
				deadLetters = s.Retention.DeadLetters.D()
			}
		}
	}
	return events, deadLetters
}

// retentionProblems checks the top-level and per-source retention.
func (c *Config) retentionProblems(bad func(path, format string, args ...any)) {
	r := c.Retention
	check := func(path string, d Duration) bool {
		if d != 0 && d.D() < minRetention {
			bad(path, "%s is too short (at least 1s)", FormatDuration(d.D()))
			return false
		}
		return true
	}
	ok := check("retention.events", r.Events)
	ok = check("retention.dead_letters", r.DeadLetters) && ok
	if ok && r.DeadLetters < r.Events {
		bad("retention.dead_letters", "%s is shorter than retention.events (%s): events with a dead delivery are kept at least as long as the others, for replay",
			FormatDuration(r.DeadLetters.D()), FormatDuration(r.Events.D()))
	}
	check("retention.every", r.Every)
	if r.MaxStoreSize < 0 {
		bad("retention.max_store_size", "must be positive (0: no budget)")
	}
	for i, s := range c.Sources {
		if s.Retention == nil {
			continue
		}
		p := fmt.Sprintf("sources[%d].retention", i)
		ok := check(p+".events", s.Retention.Events)
		ok = check(p+".dead_letters", s.Retention.DeadLetters) && ok
		if events, dead := c.SourceRetention(s.Name); ok && dead < events {
			bad(p+".dead_letters", "%s is shorter than the source's events retention (%s): events with a dead delivery are kept at least as long as the others",
				FormatDuration(dead), FormatDuration(events))
		}
	}
}
