package config

import (
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Destination is an app that receives events over HTTP(S).
type Destination struct {
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// Timeout bounds one attempt; default 30s.
	Timeout Duration `yaml:"timeout"`
	// Headers are added to every request; their values may be credentials.
	Headers map[string]string `yaml:"headers" secret:"true"`
	// Secret signs requests the Standard Webhooks way: "whsec_" + base64.
	Secret string `yaml:"secret" secret:"true"`
	// MaxInFlight caps concurrent attempts; default 32.
	MaxInFlight int `yaml:"max_in_flight"`
	// RateLimit caps attempts per second; 0 is no limit.
	RateLimit float64 `yaml:"rate_limit"`
	// KeepHeaders are original provider headers passed on.
	KeepHeaders []string `yaml:"keep_headers"`
	Retry       Retry    `yaml:"retry"`
	Circuit     Circuit  `yaml:"circuit"`
	// Transform is the path of a JavaScript file that reshapes every
	// request at delivery time (docs/transformations.md); relative to the
	// config file's directory.
	Transform string `yaml:"transform"`
	// TransformTimeout bounds one run of the transform; default 50ms.
	TransformTimeout Duration `yaml:"transform_timeout"`
	// Ordering, when set, delivers events with the same key one at a time,
	// in the order they were received (docs/delivery.md#ordering).
	Ordering *Ordering `yaml:"ordering"`
}

// Ordering is a destination's ordered delivery per key. It stays strings
// here: cmd/hookwatch/wire.go compiles the key.
type Ordering struct {
	// Key is the expression of an event's ordering key
	// ('body.data.object.id').
	Key string `yaml:"key"`
	// OnDead is skip (default: a dead-lettered delivery lets its key go
	// on) or block (the key waits until it is replayed).
	OnDead string `yaml:"on_dead"`
}

// Retry is a destination's retry policy; zero fields take the defaults of
// docs/delivery.md.
type Retry struct {
	MaxAttempts int      `yaml:"max_attempts"`
	MaxAge      Duration `yaml:"max_age"`
	Initial     Duration `yaml:"initial"`
	MaxBackoff  Duration `yaml:"max_backoff"`
	// Classes overrides the behaviour of error classes by name
	// (validation_error, permission_error, ...).
	Classes map[string]ClassRetry `yaml:"classes"`
}

// ClassRetry is how one error class is retried.
type ClassRetry struct {
	// Retry false dead-letters at the first failure of the class.
	Retry *bool `yaml:"retry"`
	// MaxAttempts dead-letters once a failure of the class reaches it.
	MaxAttempts int `yaml:"max_attempts"`
}

// Circuit configures a destination's circuit breaker.
type Circuit struct {
	// Failures is how many consecutive transient failures open it; default 10.
	Failures int `yaml:"failures"`
	// Cooldown is the wait before the first probe; default 30s.
	Cooldown Duration `yaml:"cooldown"`
}

// Route sends a source's events to destinations, optionally only some
// event types (hookwatch.Route once translated).
type Route struct {
	Source       string   `yaml:"source"`
	Destinations []string `yaml:"destinations"`
	// Types are globs of event types ("invoice.*"); empty means all.
	Types []string `yaml:"types"`
	// Filter is a CEL expression of type bool over the event (body,
	// headers, source, type, provider_event_id): only events it is true
	// for go through the route. Empty: every event. This package keeps
	// the text; cmd/hookwatch compiles it (package expr) when the config
	// loads and reports errors through Config.Invalid, with the line.
	Filter string `yaml:"filter"`
}

// setDeliveryDefaults fills what the delivery engine would otherwise
// default, from the defaults it applies (hookwatch.DefaultDeliveryTimeout,
// DefaultClassPolicies...), so config show prints what runs. Only zero
// values are filled: a negative one is left for validation to report.
func (c *Config) setDeliveryDefaults() {
	defClasses := hookwatch.DefaultClassPolicies()
	for i := range c.Destinations {
		d := &c.Destinations[i]
		if d.Timeout == 0 {
			d.Timeout = Duration(hookwatch.DefaultDeliveryTimeout)
		}
		if d.MaxInFlight == 0 {
			d.MaxInFlight = hookwatch.DefaultMaxInFlight
		}
		r := &d.Retry
		// As the engine does: a non-positive duration takes its default,
		// and the backoff cap is raised to the initial backoff.
		initial := r.Initial.D()
		if initial <= 0 {
			initial = hookwatch.DefaultRetryInitial
		}
		for _, f := range []struct {
			v   *Duration
			def time.Duration
		}{{&r.MaxAge, hookwatch.DefaultRetryMaxAge}, {&r.Initial, initial}, {&r.MaxBackoff, max(hookwatch.DefaultRetryMaxBackoff, initial)}} {
			if *f.v == 0 {
				*f.v = Duration(f.def)
			}
		}
		// Every class the policy decides, with its default unless set (gone
		// is not a policy matter: it disables the destination).
		for _, class := range hookwatch.ErrorClasses {
			def, ok := defClasses[class]
			if !ok || class == hookwatch.ClassGone {
				continue
			}
			if r.Classes == nil {
				r.Classes = map[string]ClassRetry{}
			}
			cr := r.Classes[string(class)]
			if cr.Retry == nil {
				retry := def.Retry
				cr.Retry = &retry
			}
			if cr.MaxAttempts == 0 {
				cr.MaxAttempts = def.MaxAttempts
			}
			r.Classes[string(class)] = cr
		}
		if d.Transform != "" && d.TransformTimeout == 0 {
			d.TransformTimeout = Duration(hookwatch.DefaultTransformTimeout)
		}
		if d.Circuit.Failures == 0 {
			d.Circuit.Failures = hookwatch.DefaultCircuitFailures
		}
		if d.Circuit.Cooldown == 0 {
			d.Circuit.Cooldown = Duration(hookwatch.DefaultCircuitCooldown)
		}
		if d.Ordering != nil && d.Ordering.OnDead == "" {
			d.Ordering.OnDead = string(hookwatch.OnDeadSkip)
		}
	}
}

// validateDelivery checks destinations and routes.
func (c *Config) validateDelivery(bad func(path, format string, args ...any)) {
	names := map[string]bool{}
	for i, d := range c.Destinations {
		p := fmt.Sprintf("destinations[%d]", i)
		switch {
		case d.Name == "":
			bad(p+".name", "a destination needs a name")
		case !sourceName.MatchString(d.Name):
			bad(p+".name", "%q: use lowercase letters, digits, - and _", d.Name)
		case names[d.Name]:
			bad(p+".name", "%q is used by two destinations", d.Name)
		}
		names[d.Name] = true
		if u, err := url.Parse(d.URL); d.URL == "" {
			bad(p+".url", "missing: the app's URL, e.g. http://127.0.0.1:3000/webhooks")
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(p+".url", "%q is not an http:// or https:// URL", hookwatch.RedactURL(d.URL))
		}
		if d.Timeout.D() < time.Second || d.Timeout.D() > 5*time.Minute {
			bad(p+".timeout", "%s is out of range (1s to 5m; Standard Webhooks senders use 15s to 30s)", FormatDuration(d.Timeout.D()))
		}
		if d.MaxInFlight < 0 || d.MaxInFlight > 10000 {
			bad(p+".max_in_flight", "%d is out of range 1..10000", d.MaxInFlight)
		}
		if d.RateLimit < 0 {
			bad(p+".rate_limit", "must not be negative (0 is no limit)")
		}
		switch t := d.TransformTimeout.D(); {
		case d.Transform == "" && t != 0:
			bad(p+".transform_timeout", "set without transform: name the transform file too")
		case d.Transform != "" && (t < time.Millisecond || t > 10*time.Second):
			bad(p+".transform_timeout", "%s is out of range (1ms to 10s; the default, 50ms, suits a reshape)", FormatDuration(t))
		}
		if d.Secret == "" {
			if v, ok := c.unset[p+".secret"]; ok {
				bad(p+".secret", "environment variable %s is not set", v)
			}
		} else if _, err := hookwatch.ParseSigningSecret(d.Secret); err != nil {
			bad(p+".secret", "%v", err)
		}
		for _, k := range d.KeepHeaders {
			if hookwatch.IsSecretHeader(k) {
				bad(p+".keep_headers", "%s is a credential: Hookwatch never stores it, so it cannot be passed on (the app can trust Hookwatch's webhook-signature instead)", k)
			}
		}
		for k := range d.Headers {
			if v, ok := c.unset[p+".headers."+k]; ok {
				bad(p+".headers."+k, "environment variable %s is not set", v)
			}
		}
		r := d.Retry
		if r.MaxAttempts < 0 {
			bad(p+".retry.max_attempts", "must not be negative (0 is no cap: max_age bounds retries)")
		}
		for _, f := range []struct {
			name string
			v    Duration
		}{{"max_age", r.MaxAge}, {"initial", r.Initial}, {"max_backoff", r.MaxBackoff}} {
			if f.v < 0 {
				bad(p+".retry."+f.name, "must not be negative")
			}
		}
		for name, cr := range r.Classes {
			cp := p + ".retry.classes." + name
			known := false
			for _, k := range hookwatch.ErrorClasses {
				known = known || string(k) == name
			}
			switch {
			case !known:
				var all []string
				for _, k := range hookwatch.ErrorClasses {
					if k != hookwatch.ClassGone {
						all = append(all, string(k))
					}
				}
				bad(cp, "unknown error class %q (known: %s)", name, strings.Join(all, ", "))
			case name == string(hookwatch.ClassGone):
				bad(cp, "410 Gone always disables the destination until it is resumed; it has no retry setting")
			case cr.MaxAttempts < 0:
				bad(cp+".max_attempts", "must not be negative")
			}
		}
		if d.Circuit.Failures < 0 {
			bad(p+".circuit.failures", "must not be negative")
		}
		if d.Circuit.Cooldown < 0 {
			bad(p+".circuit.cooldown", "must not be negative")
		}
		if o := d.Ordering; o != nil {
			if strings.TrimSpace(o.Key) == "" {
				bad(p+".ordering.key", "missing: the expression of the ordering key, e.g. 'body.data.object.id'")
			}
			switch hookwatch.OnDead(o.OnDead) {
			case hookwatch.OnDeadSkip, hookwatch.OnDeadBlock:
			default:
				bad(p+".ordering.on_dead", "%q: use skip (a dead-lettered delivery lets its key go on) or block (the key waits for its replay)", o.OnDead)
			}
		}
	}
	sources := map[string]bool{}
	for _, s := range c.Sources {
		sources[s.Name] = true
	}
	for i, r := range c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		if !sources[r.Source] {
			bad(p+".source", "no source named %q", r.Source)
		}
		if len(r.Destinations) == 0 {
			bad(p+".destinations", "a route needs at least one destination")
		}
		for j, d := range r.Destinations {
			if !names[d] {
				known := make([]string, 0, len(c.Destinations))
				for _, dd := range c.Destinations {
					known = append(known, dd.Name)
				}
				bad(fmt.Sprintf("%s.destinations[%d]", p, j), "no destination named %q (destinations: %s)", d, strings.Join(known, ", "))
			}
		}
		for j, g := range r.Types {
			if _, err := path.Match(g, ""); err != nil || g == "" {
				bad(fmt.Sprintf("%s.types[%d]", p, j), "%q is not a valid glob (e.g. \"invoice.*\")", g)
			}
		}
	}
}
