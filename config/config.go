// Package config reads Hookwatch's one YAML file: ${ENV} expansion for
// secrets, defaults, and validation that names the line and field of every
// mistake. It is the only place that knows the file's shape; the rest of the
// program receives plain values.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/provider"
	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration file. Fields tagged secret:"true" are
// redacted by Redacted (config show, logs, the dashboard).
type Config struct {
	// Listen is the public ingest listener address.
	Listen string `yaml:"listen"`
	// AdminListen is the admin API (and dashboard) listener; loopback by default.
	AdminListen string `yaml:"admin_listen"`
	// AdminToken authenticates admin API calls (Authorization: Bearer ...).
	// Without it the admin API answers 403 to everything but health checks.
	AdminToken string `yaml:"admin_token" secret:"true"`
	// Store is "sqlite:PATH" or a postgres:// URL.
	Store string `yaml:"store"`
	// Log configures structured logs.
	Log Log `yaml:"log"`
	// Ingest holds receive-path settings.
	Ingest Ingest `yaml:"ingest"`
	// Quarantine bounds the requests kept after failing verification.
	Quarantine Quarantine `yaml:"quarantine"`
	// Storage protects the store's volume: its free-space floor.
	Storage Storage `yaml:"storage"`
	// Sources are the webhook senders, each received on POST /in/{name}.
	Sources []Source `yaml:"sources"`
	// Destinations are the apps events are delivered to.
	Destinations []Destination `yaml:"destinations"`
	// Alerts are the alert rules and notification channels.
	Alerts Alerts `yaml:"alerts"`
	// Routes say which sources' events go to which destinations.
	Routes []Route `yaml:"routes"`
	// Sentry configures error, performance, log and cron reporting.
	Sentry Sentry `yaml:"sentry"`

	// lines maps a field path ("sources[0].provider") to its line in the file.
	lines map[string]int
	// unset lists the ${ENV} variables that were referenced but not set, by
	// the path of the field that referenced them.
	unset map[string]string
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text
}

// Ingest holds receive-path settings shared by all sources.
type Ingest struct {
	// MaxBatch caps how many events one group commit writes.
	MaxBatch int `yaml:"max_batch"`
	// RetryAfter is the Retry-After sent with a 503 when the store cannot commit.
	RetryAfter Duration `yaml:"retry_after"`
	// Writers is how many group commits may be in flight at once; 0 picks
	// the store's default (2 on SQLite, 3 on PostgreSQL).
	Writers int `yaml:"writers"`
}

// Quarantine bounds the requests kept after failing verification: they are
// answered 401 all the same, and kept so that they can be verified again
// and released once the config is fixed.
type Quarantine struct {
	// MaxCount is how many are kept at most (the newest).
	MaxCount int `yaml:"max_count"`
	// MaxBytes is the byte budget of all that is kept (the newest).
	MaxBytes ByteSize `yaml:"max_bytes"`
	// MaxAge is how long one is kept.
	MaxAge Duration `yaml:"max_age"`
	// MaxBody is how much of a body is kept (at most MaxBytes); a request
	// whose body was cut can no longer be verified nor released.
	MaxBody ByteSize `yaml:"max_body"`
	// Rate is how many rejected requests per second each source may have
	// kept, with bursts of Burst; beyond, they are counted, not kept.
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// Source is one webhook sender.
type Source struct {
	Name     string   `yaml:"name"`
	Provider string   `yaml:"provider"`
	Secrets  []string `yaml:"secrets" secret:"true"`
	// Tolerance is how far a signed timestamp may be from now; 0 is the
	// provider's default (5m for most).
	Tolerance Duration `yaml:"tolerance"`
	// MaxBody is the largest body accepted (413 beyond).
	MaxBody ByteSize `yaml:"max_body"`
	// PublicURL is the URL the provider calls, for schemes that sign the URL.
	PublicURL string `yaml:"public_url"`
	// DedupeHorizon is how long a provider event ID is remembered.
	DedupeHorizon Duration `yaml:"dedupe_horizon"`
	// Options are provider-specific settings (the hmac scheme's header...).
	Options map[string]string `yaml:"options"`
	// Quarantine, when false, keeps nothing of this source's rejected
	// requests. Unset means true.
	Quarantine *bool `yaml:"quarantine"`
}

// Quarantined reports whether the source's rejected requests are kept.
func (s Source) Quarantined() bool { return s.Quarantine == nil || *s.Quarantine }

// Defaults.
const (
	DefaultListen      = ":8080"
	DefaultAdminListen = "127.0.0.1:8081"
	DefaultStore       = "sqlite:./data/hookwatch.db"
	DefaultMaxBody     = 1 << 20
	DefaultMaxBatch    = 256
)

// Load reads, expands, decodes, defaults and validates the file at path.
// getenv looks up ${NAME} references (os.LookupEnv in the binary; nothing
// below cmd reads the environment itself). The error lists every problem
// found, each with its line.
func Load(path string, getenv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "config: %v", err)
	}
	return Parse(data, getenv)
}

// Parse is Load on bytes.
func Parse(data []byte, getenv func(string) (string, bool)) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "config: %v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	cfg := &Config{lines: map[string]int{}, unset: map[string]string{}}
	if len(root.Content) == 0 {
		cfg.setDefaults()
		return cfg, cfg.Validate()
	}
	doc := root.Content[0]
	var problems []string
	checkKeys(doc, reflect.TypeOf(*cfg), "", cfg.lines, &problems)
	expandEnv(doc, "", getenv, cfg.unset)
	if len(problems) > 0 {
		return nil, &hookwatch.Error{Code: hookwatch.EINVALID, Message: "config:\n  " + strings.Join(problems, "\n  ")}
	}
	if err := doc.Decode(cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, &hookwatch.Error{Code: hookwatch.EINVALID, Message: "config:\n  " + strings.Join(te.Errors, "\n  ")}
		}
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "config: %v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	cfg.setDefaults()
	return cfg, cfg.Validate()
}

func (c *Config) setDefaults() {
	c.Alerts.setDefaults()
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.AdminListen == "" {
		c.AdminListen = DefaultAdminListen
	}
	if c.Store == "" {
		c.Store = DefaultStore
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	if c.Ingest.MaxBatch == 0 {
		c.Ingest.MaxBatch = DefaultMaxBatch
	}
	if c.Ingest.RetryAfter == 0 {
		c.Ingest.RetryAfter = Duration(5e9)
	}
	if c.Quarantine.MaxCount == 0 {
		c.Quarantine.MaxCount = hookwatch.DefaultQuarantineMaxCount
	}
	if c.Quarantine.MaxAge == 0 {
		c.Quarantine.MaxAge = Duration(hookwatch.DefaultQuarantineMaxAge)
	}
	if c.Quarantine.MaxBytes == 0 {
		c.Quarantine.MaxBytes = hookwatch.DefaultQuarantineMaxBytes
	}
	if c.Quarantine.MaxBody == 0 {
		// A small budget gets a body cap that fits it.
		c.Quarantine.MaxBody = min(hookwatch.DefaultQuarantineMaxBody, c.Quarantine.MaxBytes)
	}
	if c.Quarantine.Rate == 0 {
		c.Quarantine.Rate = hookwatch.DefaultQuarantineRate
	}
	if c.Quarantine.Burst == 0 {
		c.Quarantine.Burst = hookwatch.DefaultQuarantineBurst
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.MaxBody == 0 {
			s.MaxBody = DefaultMaxBody
		}
		if s.DedupeHorizon == 0 {
			s.DedupeHorizon = Duration(hookwatch.DefaultDedupeHorizon)
		}
	}
	c.setDeliveryDefaults()
}

var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Validate checks every field and returns one error listing all problems,
// each with the line it is on.
func (c *Config) Validate() error {
	var problems []string
	bad := func(path, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if line := c.line(path); line > 0 {
			msg = fmt.Sprintf("line %d: %s: %s", line, path, msg)
		} else {
			msg = path + ": " + msg
		}
		problems = append(problems, msg)
	}
	for _, f := range []struct{ path, addr string }{{"listen", c.Listen}, {"admin_listen", c.AdminListen}} {
		if _, _, err := net.SplitHostPort(f.addr); err != nil {
			bad(f.path, "%q is not host:port (for example \":8080\" or \"127.0.0.1:8081\")", f.addr)
		}
	}
	if c.Listen == c.AdminListen && !strings.HasSuffix(c.Listen, ":0") {
		bad("admin_listen", "must differ from listen: the admin API is never on the public listener")
	}
	if _, _, err := ParseStore(c.Store); err != nil {
		bad("store", "%v", err)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		bad("log.format", "%q is not json or text", c.Log.Format)
	}
	if c.Ingest.Writers < 0 || c.Ingest.Writers > 64 {
		bad("ingest.writers", "%d is out of range 0..64 (0 picks the store's default)", c.Ingest.Writers)
	}
	if c.Ingest.MaxBatch < 1 || c.Ingest.MaxBatch > 10000 {
		bad("ingest.max_batch", "%d is out of range 1..10000", c.Ingest.MaxBatch)
	}
	if c.Quarantine.MaxCount < 1 {
		bad("quarantine.max_count", "must be positive (turn the quarantine off per source with quarantine: false)")
	}
	if c.Quarantine.MaxAge <= 0 {
		bad("quarantine.max_age", "must be positive")
	}
	if c.Quarantine.MaxBytes < 1 {
		bad("quarantine.max_bytes", "must be positive (turn the quarantine off per source with quarantine: false)")
	}
	if c.Quarantine.MaxBody < 1 {
		bad("quarantine.max_body", "must be positive")
	} else if c.Quarantine.MaxBytes >= 1 && c.Quarantine.MaxBody > c.Quarantine.MaxBytes {
		bad("quarantine.max_body", "%s is more than quarantine.max_bytes (%s): a kept body must fit the byte budget", sizeText(c.Quarantine.MaxBody), sizeText(c.Quarantine.MaxBytes))
	}
	if c.Quarantine.Rate < 0 {
		bad("quarantine.rate", "%g must be positive (rejected requests kept per second and source)", c.Quarantine.Rate)
	}
	if c.Quarantine.Burst < 0 {
		bad("quarantine.burst", "%d must be positive", c.Quarantine.Burst)
	}
	seen := map[string]bool{}
	for i, s := range c.Sources {
		p := fmt.Sprintf("sources[%d]", i)
		switch {
		case s.Name == "":
			bad(p+".name", "a source needs a name (its URL is /in/{name})")
		case !sourceName.MatchString(s.Name):
			bad(p+".name", "%q: use lowercase letters, digits, - and _", s.Name)
		case seen[s.Name]:
			bad(p+".name", "%q is used by two sources", s.Name)
		}
		seen[s.Name] = true
		if s.Provider == "" {
			bad(p+".provider", "missing (one of: %s)", strings.Join(provider.Names(), ", "))
			continue
		}
		if _, ok := provider.Lookup(s.Provider); !ok {
			bad(p+".provider", "unknown provider %q (known: %s)", s.Provider, strings.Join(provider.Names(), ", "))
			continue
		}
		if len(s.Secrets) == 0 {
			bad(p+".secrets", "at least one secret is required")
			continue
		}
		missing := false
		for j, sec := range s.Secrets {
			sp := fmt.Sprintf("%s.secrets[%d]", p, j)
			if sec == "" {
				if v, ok := c.unset[sp]; ok {
					bad(sp, "environment variable %s is not set", v)
				} else {
					bad(sp, "empty secret")
				}
				missing = true
			}
		}
		if s.MaxBody < 1 {
			bad(p+".max_body", "must be positive")
		}
		if s.Tolerance < 0 {
			bad(p+".tolerance", "must not be negative")
		}
		if missing {
			continue
		}
		if _, err := provider.New(s.Provider, s.ProviderConfig()); err != nil {
			bad(p, "%v", err)
		}
	}
	c.validateDelivery(bad)
	c.validateAlerts(bad)
	c.validateSentry(bad)
	if len(problems) > 0 {
		return &hookwatch.Error{Code: hookwatch.EINVALID, Message: "config:\n  " + strings.Join(problems, "\n  ")}
	}
	return nil
}

// ProviderConfig returns the source's verification settings.
func (s Source) ProviderConfig() provider.Config {
	return provider.Config{
		Secrets:   s.Secrets,
		Tolerance: s.Tolerance.D(),
		PublicURL: s.PublicURL,
		Options:   s.Options,
	}
}

// Source returns the source named name.
func (c *Config) Source(name string) (Source, bool) {
	for _, s := range c.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return Source{}, false
}

// line returns the line of the field at path, or of its nearest parent.
func (c *Config) line(path string) int {
	for p := path; p != ""; {
		if l, ok := c.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// ParseStore splits a store URL into its kind ("sqlite" or "postgres") and
// the driver's location.
func ParseStore(s string) (kind, location string, err error) {
	switch {
	case strings.HasPrefix(s, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(s, "sqlite:"), "//")
		if path == "" {
			return "", "", fmt.Errorf("sqlite store needs a path: sqlite:./data/hookwatch.db")
		}
		return "sqlite", path, nil
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return "postgres", s, nil
	}
	return "", "", fmt.Errorf("%q is not sqlite:PATH or postgres://...", redactURL(s))
}

// redactURL hides a password in a URL-like string.
func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		if at := strings.Index(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				return s[:i+3] + rest[:colon] + ":[redacted]" + rest[at:]
			}
		}
	}
	return s
}

// Redacted returns the configuration as YAML with every secret replaced by
// "[redacted]" (and passwords in URLs hidden): safe to print or log.
func (c *Config) Redacted() ([]byte, error) {
	cp := reflect.New(reflect.TypeOf(*c)).Elem()
	cp.Set(reflect.ValueOf(*c))
	redact(cp)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cp.Addr().Interface()); err != nil {
		return nil, fmt.Errorf("config: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// redact replaces fields tagged secret:"true" in v (recursively) and hides
// URL passwords in every string.
func redact(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if !t.Field(i).IsExported() {
				continue
			}
			if t.Field(i).Tag.Get("secret") == "true" {
				switch f.Kind() {
				case reflect.String:
					if f.String() != "" {
						f.SetString("[redacted]")
					}
				case reflect.Slice:
					n := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
					for j := 0; j < f.Len(); j++ {
						n.Index(j).SetString("[redacted]")
					}
					f.Set(n)
				case reflect.Map:
					n := reflect.MakeMap(f.Type())
					for _, k := range f.MapKeys() {
						n.SetMapIndex(k, reflect.ValueOf("[redacted]"))
					}
					f.Set(n)
				}
				continue
			}
			redact(f)
		}
	case reflect.Slice:
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(n, v)
		for j := 0; j < n.Len(); j++ {
			redact(n.Index(j))
		}
		if v.CanSet() {
			v.Set(n)
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		n := reflect.MakeMap(v.Type())
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			if isSecretKey(k.String()) && e.Kind() == reflect.String {
				e.SetString("[redacted]")
			}
			redact(e)
			n.SetMapIndex(k, e)
		}
		if v.CanSet() {
			v.Set(n)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(redactURL(v.String()))
		}
	}
}

// isSecretKey guesses whether a free-form option key holds a secret.
func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"secret", "token", "password", "key", "dsn"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// checkKeys reports every mapping key in n that has no field in t, with its
// line, and records the line of every known field by path.
func checkKeys(n *yaml.Node, t reflect.Type, path string, lines map[string]int, problems *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the type error
		}
		fields := map[string]reflect.StructField{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			fields[name] = f
			names = append(names, name)
		}
		sort.Strings(names)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			f, ok := fields[k.Value]
			if !ok {
				*problems = append(*problems, fmt.Sprintf("line %d: unknown key %q%s (known: %s)", k.Line, k.Value, in(path), strings.Join(names, ", ")))
				continue
			}
			lines[p] = k.Line
			checkKeys(v, f.Type, p, lines, problems)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			lines[p] = item.Line
			checkKeys(item, t.Elem(), p, lines, problems)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := join(path, n.Content[i].Value)
			lines[p] = n.Content[i].Line
			checkKeys(n.Content[i+1], t.Elem(), p, lines, problems)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func in(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// expandEnv replaces ${NAME} and ${NAME:-default} in every scalar value (not
// keys), recording unset variables without a default by field path.
func expandEnv(n *yaml.Node, path string, getenv func(string) (string, bool), unset map[string]string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			expandEnv(c, path, getenv, unset)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			expandEnv(n.Content[i+1], join(path, n.Content[i].Value), getenv, unset)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			expandEnv(c, fmt.Sprintf("%s[%d]", path, i), getenv, unset)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v, ok := getenv(m[1]); ok && v != "" {
				return v
			}
			if strings.Contains(ref, ":-") {
				return m[2]
			}
			unset[path] = m[1]
			return ""
		})
		// Let the decoder resolve the expanded value by the field's type
		// ("${PORT}" into an int), unless the author quoted it.
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
			n.Tag = ""
		}
	}
}
