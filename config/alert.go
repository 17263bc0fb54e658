package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// Alerts configures alert rules and the channels they notify.
type Alerts struct {
	// BaseURL is where operators reach Hookwatch's admin listener (or a
	// proxy in front of it): notifications link to the dashboard's issue
	// pages (/issues/ID) and alerts page under it.
	BaseURL string `yaml:"base_url"`
	// Interval is how often rules are evaluated; default 30s.
	Interval Duration `yaml:"interval"`
	// GroupWindow groups a storm: each channel gets at most one message per
	// window, listing every alert queued meanwhile; default 1m.
	GroupWindow Duration `yaml:"group_window"`
	// Rules are the alert rules; when empty, DefaultAlertRules apply.
	Rules []AlertRule `yaml:"rules"`
	// Channels are where notifications go.
	Channels []AlertChannel `yaml:"channels"`
	// Retention bounds the failures kept behind issues and failure counts.
	Retention FailureRetention `yaml:"retention"`
}

// FailureRetention bounds the failures table: one row per failure, read
// for window figures and affected events. Issues themselves are kept with
// their counts. The evaluator holding the lease prunes every Every.
type FailureRetention struct {
	// MaxAge deletes failures older than this; default 30d. It must cover
	// the longest window health and the rules read.
	MaxAge Duration `yaml:"max_age"`
	// MaxCount keeps at most this many failures, the most recent; default
	// 1,000,000: a bound on disk use during a long storm.
	MaxCount int `yaml:"max_count"`
	// Every is how often the bounds are applied; default 10m.
	Every Duration `yaml:"every"`
}

// Alert rule kinds, as the file spells them (hookwatch.AlertKind).
const (
	RuleErrorRate   = string(hookwatch.AlertErrorRate)
	RuleFailures    = string(hookwatch.AlertFailures)
	RuleLatency     = string(hookwatch.AlertLatency)
	RuleDeadLetters = string(hookwatch.AlertDeadLetters)
	RuleRejected    = string(hookwatch.AlertRejected)
	RuleCircuitOpen = string(hookwatch.AlertCircuitOpen)
	RuleBacklogAge  = string(hookwatch.AlertBacklogAge)
	RuleSLOBurn     = string(hookwatch.AlertSLOBurn)
	RuleStoreSize   = string(hookwatch.AlertStoreSize)
	RuleDiskFree    = string(hookwatch.AlertDiskFree)
	// RuleOrderingBlocked fires when an ordering key has been blocked
	// longer than age.
	RuleOrderingBlocked = string(hookwatch.AlertOrderingBlocked)
)

// ruleKinds lists the kinds a rule may have.
func ruleKinds() []string {
	var out []string
	for _, k := range hookwatch.AlertKinds() {
		out = append(out, string(k))
	}
	return out
}

// AlertRule is one alert rule as the file holds it; the binary translates
// it into the alert package's Rule.
type AlertRule struct {
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
	// Source and Destination narrow the scope; both empty: all traffic.
	Source      string `yaml:"source"`
	Destination string `yaml:"destination"`
	// Per evaluates the rule separately for each "source" or "destination"
	// in scope (one alert each); empty evaluates the scope as a whole.
	Per string `yaml:"per"`
	// Threshold: a fraction for error_rate (0.05), a count for failures,
	// dead_letters and rejected (alert when above it).
	Threshold float64 `yaml:"threshold"`
	// Window is the sliding window measured.
	Window Duration `yaml:"window"`
	// MinVolume is the fewest attempts (error_rate) or deliveries (latency)
	// in the window for the rule to judge: one failure of two is not an
	// outage.
	MinVolume int `yaml:"min_volume"`
	// Percentile and Latency: latency rules fire when that percentile of
	// processing time is over Latency.
	Percentile float64  `yaml:"percentile"`
	Latency    Duration `yaml:"latency"`
	// Age: backlog_age fires when the oldest waiting delivery is older.
	Age Duration `yaml:"age"`
	// Size: store_size fires when the store's used size is over it,
	// disk_free when the volume's free space is under it. Unset, Threshold
	// is a fraction: of retention.max_store_size (store_size, default 0.9),
	// of the volume (disk_free, default 0.1).
	Size ByteSize `yaml:"size"`
	// SLO: Objective of deliveries within Within of receipt; fires when the
	// error budget burns faster than BurnRate over both LongWindow and
	// ShortWindow (multi-window burn rate).
	Objective   float64  `yaml:"objective"`
	Within      Duration `yaml:"within"`
	LongWindow  Duration `yaml:"long_window"`
	ShortWindow Duration `yaml:"short_window"`
	BurnRate    float64  `yaml:"burn_rate"`
	// For is how long the condition must hold before the alert fires.
	For Duration `yaml:"for"`
	// Cooldown is the least time between two firing notifications of one
	// alert: an alert that fires again within it is notified once it is
	// over, if it still fires.
	Cooldown Duration `yaml:"cooldown"`
	// NotifyResolved sends a "resolved" notification when the alert clears;
	// unset means true.
	NotifyResolved *bool `yaml:"notify_resolved"`
	// Channels are the channel names notified; empty means all.
	Channels []string `yaml:"channels"`
}

// Resolved reports whether the rule notifies when it clears.
func (r AlertRule) Resolved() bool { return r.NotifyResolved == nil || *r.NotifyResolved }

// AlertChannel is one place notifications go.
type AlertChannel struct {
	Name string `yaml:"name"`
	// Type is slack, email, webhook or pagerduty.
	Type string `yaml:"type"`
	// URL is the Slack incoming webhook or the generic webhook's endpoint.
	// Slack's URL is a credential.
	URL string `yaml:"url" secret:"true"`
	// Secret signs generic webhook requests ("whsec_" + base64), the
	// Standard Webhooks way.
	Secret string `yaml:"secret" secret:"true"`
	// RoutingKey is the PagerDuty Events v2 integration key.
	RoutingKey string `yaml:"routing_key" secret:"true"`
	// EventsURL overrides PagerDuty's events endpoint (tests, EU region).
	EventsURL string `yaml:"events_url"`
	// SMTP settings of an email channel.
	SMTP SMTP `yaml:"smtp"`
}

// SMTP is an email channel's server and addresses.
type SMTP struct {
	// Addr is host:port of the server (587 for STARTTLS, 465 for TLS).
	Addr     string `yaml:"addr"`
	Username string `yaml:"username"`
	Password string `yaml:"password" secret:"true"`
	// TLS is starttls (default: refuse a server without it), tls (implicit,
	// port 465) or none (local relays only).
	TLS  string   `yaml:"tls"`
	From string   `yaml:"from"`
	To   []string `yaml:"to"`
}

// Channel types.
const (
	ChannelSlack     = "slack"
	ChannelEmail     = "email"
	ChannelWebhook   = "webhook"
	ChannelPagerDuty = "pagerduty"
)

// DefaultPagerDutyURL is PagerDuty's Events API v2 endpoint.
const DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// DefaultAlertRules are the rules used when the config lists none.
func DefaultAlertRules() []AlertRule {
	m := func(d time.Duration) Duration { return Duration(d) }
	return []AlertRule{
		{Name: "error-rate", Kind: RuleErrorRate, Per: "destination", Threshold: 0.05, Window: m(5 * time.Minute), MinVolume: 20, For: m(time.Minute)},
		{Name: "failures-5m", Kind: RuleFailures, Per: "destination", Threshold: 10, Window: m(5 * time.Minute)},
		{Name: "failures-1h", Kind: RuleFailures, Per: "destination", Threshold: 10, Window: m(time.Hour)},
		{Name: "slow-processing", Kind: RuleLatency, Per: "destination", Percentile: 0.95, Latency: m(5 * time.Second), Window: m(5 * time.Minute), MinVolume: 10, For: m(time.Minute)},
		{Name: "dead-letter", Kind: RuleDeadLetters, Per: "destination", Threshold: 0, Window: m(5 * time.Minute)},
		{Name: "signature-failures", Kind: RuleRejected, Per: "source", Threshold: 10, Window: m(5 * time.Minute)},
		{Name: "circuit-open", Kind: RuleCircuitOpen, Per: "destination"},
		{Name: "backlog-age", Kind: RuleBacklogAge, Per: "destination", Age: m(15 * time.Minute)},
		{Name: "delivery-slo", Kind: RuleSLOBurn, Objective: 0.999, Within: m(time.Minute), LongWindow: m(time.Hour), ShortWindow: m(5 * time.Minute), BurnRate: 14.4},
		{Name: "disk-free", Kind: RuleDiskFree, Threshold: 0.1, For: m(5 * time.Minute)},
		{Name: "store-size", Kind: RuleStoreSize, Threshold: 0.9, For: m(5 * time.Minute)},
	}
}

func (a *Alerts) setDefaults() {
	if a.Interval == 0 {
		a.Interval = Duration(30 * time.Second)
	}
	if a.GroupWindow == 0 {
		a.GroupWindow = Duration(time.Minute)
	}
	if len(a.Rules) == 0 {
		a.Rules = DefaultAlertRules()
	}
	if a.Retention.MaxAge == 0 {
		a.Retention.MaxAge = Duration(hookwatch.DefaultFailureMaxAge)
	}
	if a.Retention.MaxCount == 0 {
		a.Retention.MaxCount = hookwatch.DefaultFailureMaxCount
	}
	if a.Retention.Every == 0 {
		a.Retention.Every = Duration(10 * time.Minute)
	}
	for i := range a.Rules {
		r := &a.Rules[i]
		if r.Window == 0 {
			r.Window = Duration(5 * time.Minute)
		}
		if r.Cooldown == 0 {
			r.Cooldown = Duration(30 * time.Minute)
		}
		switch r.Kind {
		case RuleLatency:
			if r.Percentile == 0 {
				r.Percentile = 0.95
			}
		case RuleDiskFree, RuleStoreSize:
			if r.Size == 0 && r.Threshold == 0 {
				r.Threshold = map[string]float64{RuleDiskFree: 0.1, RuleStoreSize: 0.9}[r.Kind]
			}
		case RuleSLOBurn:
			if r.Objective == 0 {
				r.Objective = 0.999
			}
			if r.Within == 0 {
				r.Within = Duration(time.Minute)
			}
			if r.LongWindow == 0 {
				r.LongWindow = Duration(time.Hour)
			}
			if r.ShortWindow == 0 {
				r.ShortWindow = Duration(5 * time.Minute)
			}
			if r.BurnRate == 0 {
				r.BurnRate = 14.4
			}
		}
	}
	for i := range a.Channels {
		c := &a.Channels[i]
		if c.Type == ChannelPagerDuty && c.EventsURL == "" {
			c.EventsURL = DefaultPagerDutyURL
		}
		if c.Type == ChannelEmail && c.SMTP.TLS == "" {
			c.SMTP.TLS = "starttls"
		}
	}
}

var alertName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

func (c *Config) validateAlerts(bad func(path, format string, args ...any)) {
	a := c.Alerts
	if a.BaseURL != "" {
		if u, err := url.Parse(a.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("alerts.base_url", "%q is not an http(s) URL", hookwatch.RedactURL(a.BaseURL))
		}
	}
	if a.Interval.D() < time.Second {
		bad("alerts.interval", "must be at least 1s")
	}
	if a.GroupWindow < 0 {
		bad("alerts.group_window", "must not be negative")
	}
	channels := map[string]bool{}
	for i, ch := range a.Channels {
		p := fmt.Sprintf("alerts.channels[%d]", i)
		switch {
		case !alertName.MatchString(ch.Name):
			bad(p+".name", "%q: a channel needs a name of lowercase letters, digits, -, _ and .", ch.Name)
		case channels[ch.Name]:
			bad(p+".name", "%q is used by two channels", ch.Name)
		}
		channels[ch.Name] = true
		secret := func(field, value, what string) {
			if value != "" {
				return
			}
			if v, ok := c.unset[p+"."+field]; ok {
				bad(p+"."+field, "environment variable %s is not set", v)
			} else {
				bad(p+"."+field, "missing: %s", what)
			}
		}
		httpURL := func(field, v string) {
			if v == "" {
				return
			}
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(p+"."+field, "not an http(s) URL")
			}
		}
		switch ch.Type {
		case ChannelSlack:
			secret("url", ch.URL, "the Slack incoming webhook URL")
			httpURL("url", ch.URL)
		case ChannelWebhook:
			secret("url", ch.URL, "the URL to post alerts to")
			httpURL("url", ch.URL)
		case ChannelPagerDuty:
			secret("routing_key", ch.RoutingKey, "the Events v2 integration (routing) key")
			httpURL("events_url", ch.EventsURL)
		case ChannelEmail:
			s := ch.SMTP
			if _, _, err := net.SplitHostPort(s.Addr); err != nil {
				bad(p+".smtp.addr", "%q is not host:port (for example smtp.example.com:587)", s.Addr)
			}
			switch s.TLS {
			case "starttls", "tls", "none":
			default:
				bad(p+".smtp.tls", "%q is not starttls, tls or none", s.TLS)
			}
			if s.Username != "" && s.Password == "" {
				secret("smtp.password", s.Password, "a password for smtp.username")
			}
			if _, err := mail.ParseAddress(s.From); err != nil {
				bad(p+".smtp.from", "%q is not an email address", s.From)
			}
			if len(s.To) == 0 {
				bad(p+".smtp.to", "at least one recipient is required")
			}
			for j, to := range s.To {
				if _, err := mail.ParseAddress(to); err != nil {
					bad(fmt.Sprintf("%s.smtp.to[%d]", p, j), "%q is not an email address", to)
				}
			}
		default:
			bad(p+".type", "%q is not one of slack, email, webhook, pagerduty", ch.Type)
		}
	}
	rules := map[string]bool{}
	for i, r := range a.Rules {
		p := fmt.Sprintf("alerts.rules[%d]", i)
		switch {
		case !alertName.MatchString(r.Name):
			bad(p+".name", "%q: a rule needs a name of lowercase letters, digits, -, _ and .", r.Name)
		case rules[r.Name]:
			bad(p+".name", "%q is used by two rules", r.Name)
		}
		rules[r.Name] = true
		known := false
		for _, k := range ruleKinds() {
			known = known || k == r.Kind
		}
		if !known {
			bad(p+".kind", "%q is not one of %s", r.Kind, strings.Join(ruleKinds(), ", "))
			continue
		}
		switch r.Per {
		case "", "source", "destination":
		default:
			bad(p+".per", "%q is not source or destination", r.Per)
		}
		if r.Source != "" {
			if _, ok := c.Source(r.Source); !ok {
				bad(p+".source", "no source named %q", r.Source)
			}
		}
		if r.Destination != "" {
			found := false
			for _, d := range c.Destinations {
				found = found || d.Name == r.Destination
			}
			if !found {
				bad(p+".destination", "no destination named %q", r.Destination)
			}
		}
		if r.Kind == RuleRejected && (r.Destination != "" || r.Per == "destination") {
			bad(p+".destination", "signature failures happen on sources, before any destination")
		}
		if r.Kind == RuleCircuitOpen && (r.Source != "" || r.Per == "source") {
			bad(p+".source", "a circuit belongs to a destination")
		}
		if (r.Kind == RuleStoreSize || r.Kind == RuleDiskFree) && (r.Source != "" || r.Destination != "" || r.Per != "") {
			bad(p, "a %s rule is about the store as a whole: no source, destination or per", r.Kind)
		}
		if r.Window < 0 || r.For < 0 || r.Cooldown < 0 {
			bad(p, "durations must not be negative")
		}
		switch r.Kind {
		case RuleErrorRate:
			if r.Threshold <= 0 || r.Threshold >= 1 {
				bad(p+".threshold", "an error rate threshold is a fraction between 0 and 1 (0.05 is 5%%)")
			}
		case RuleFailures, RuleDeadLetters, RuleRejected:
			if r.Threshold < 0 {
				bad(p+".threshold", "must not be negative")
			}
		case RuleLatency:
			if r.Latency <= 0 {
				bad(p+".latency", "a latency rule needs latency: the processing time not to exceed (5s)")
			}
			if r.Percentile <= 0 || r.Percentile >= 1 {
				bad(p+".percentile", "a fraction between 0 and 1 (0.95 for p95)")
			}
		case RuleStoreSize, RuleDiskFree:
			if r.Size < 0 {
				bad(p+".size", "must be positive")
			}
			if r.Size == 0 && (r.Threshold <= 0 || r.Threshold >= 1) {
				bad(p+".threshold", "without size, a fraction between 0 and 1 (of retention.max_store_size for store_size, of the volume for disk_free)")
			}
		case RuleBacklogAge:
			if r.Age <= 0 {
				bad(p+".age", "a backlog_age rule needs age: how old the oldest waiting delivery may be (15m)")
			}
		case RuleOrderingBlocked:
			if r.Age <= 0 {
				bad(p+".age", "an ordering_blocked rule needs age: how long an ordering key may wait behind a failing delivery (15m)")
			}
			if r.Source != "" || r.Per == "source" {
				bad(p+".source", "ordering belongs to a destination")
			}
		case RuleSLOBurn:
			if r.Objective <= 0 || r.Objective >= 1 {
				bad(p+".objective", "a fraction between 0 and 1 (0.999)")
			}
			if r.Within <= 0 || r.LongWindow <= 0 || r.ShortWindow <= 0 || r.ShortWindow > r.LongWindow {
				bad(p, "an slo_burn rule needs within, and short_window no longer than long_window")
			}
			if r.BurnRate <= 0 {
				bad(p+".burn_rate", "must be positive (14.4 spends 2%% of a 30-day budget in an hour)")
			}
		}
		for j, name := range r.Channels {
			if !channels[name] {
				bad(fmt.Sprintf("%s.channels[%d]", p, j), "no channel named %q", name)
			}
		}
	}
	// Failures are counted over the health report's windows (up to 1h) and
	// each rule's: pruning must not cut into them.
	longest, by := time.Hour, "the health report's 1h window"
	for i, r := range a.Rules {
		w := r.Window.D()
		if r.Kind == RuleSLOBurn {
			w = r.LongWindow.D() + r.Within.D()
		}
		if w > longest {
			longest, by = w, fmt.Sprintf("alerts.rules[%d] (%s)", i, r.Name)
		}
	}
	if ret := a.Retention; ret.MaxAge.D() < longest {
		short := strings.TrimSuffix(strings.TrimSuffix(longest.String(), "0s"), "0m")
		bad("alerts.retention.max_age", "must be at least %s, the longest window read (%s)", short, by)
	}
	if a.Retention.MaxCount < 1 {
		bad("alerts.retention.max_count", "must be positive")
	}
	if a.Retention.Every.D() < time.Second {
		bad("alerts.retention.every", "must be at least 1s")
	}
}
