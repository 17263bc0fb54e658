// Package config reads Hookwatch's one YAML file: ${ENV} expansion for
// secrets, defaults, and validation that names the line and field of every
// mistake. It is the only place that knows the file's shape, and a leaf: it
// imports only the root package and provider. The binary translates what it
// reads into the packages' own values (cmd/hookwatch/wire.go), which the
// packages below cmd take instead of this package's types.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
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
	// Retention says how long finished events are kept (retention.go).
	Retention Retention `yaml:"retention"`
	// Encryption encrypts event and quarantine payloads at rest.
	Encryption Encryption `yaml:"encryption"`
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
	// Dashboard says how browsers reach the dashboard (Secure cookies).
	Dashboard Dashboard `yaml:"dashboard"`

	// name is how errors name the file ("config hw.yaml").
	name string
	// lines maps a field path ("sources[0].provider") to its line in the file.
	lines map[string]int
	// dir is the config file's directory ("" for Parse): relative paths
	// in the file (a destination's transform) are relative to it.
	dir string
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
	// the store's default (2 on SQLite, 3 on PostgreSQL): see IngestWriters.
	Writers int `yaml:"writers"`
}

// Default group-commit writers by store kind.
const (
	// DefaultWritersSQLite: one batch commits on the single writer
	// connection while the previous one waits for its WAL fsync.
	DefaultWritersSQLite = 2
	// DefaultWritersPostgres: PostgreSQL commits several batches in
	// parallel.
	DefaultWritersPostgres = 3
)

// IngestWriters is the number of group commits in flight that serve runs:
// ingest.writers, or the default of the store kind when it is 0. It is
// computed, not filled in by the defaults, because HOOKWATCH_STORE may
// change the store after the file is read.
func (c *Config) IngestWriters() int {
	if c.Ingest.Writers > 0 {
		return c.Ingest.Writers
	}
	if kind, _, _ := ParseStore(c.Store); kind == "postgres" {
		return DefaultWritersPostgres
	}
	return DefaultWritersSQLite
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
	// Dedupe is what is remembered: id (the provider's event ID, the
	// default) or body (the body's SHA-256); see dedupe.go.
	Dedupe string `yaml:"dedupe"`
	// Subject is the JSON path of the event's data subject in the body
	// (data.object.customer), extracted at ingest for erasure; empty means
	// the provider's default, "none" means no subject; see subject.go.
	Subject string `yaml:"subject"`
	// Options are provider-specific settings (the hmac scheme's header...).
	Options map[string]string `yaml:"options"`
	// Quarantine, when false, keeps nothing of this source's rejected
	// requests. Unset means true.
	Quarantine *bool `yaml:"quarantine"`
	// Retention, when set, overrides the top-level retention's events and
	// dead_letters for this source (retention.go).
	Retention *SourceRetention `yaml:"retention,omitempty"`
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
// found in one go — unknown keys, values of the wrong type, bad durations
// and sizes, and validation — each with its line, sorted by line.
func Load(path string, getenv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "config %s: %v (pass --config with the path of your config file)", path, err)
	}
	cfg, err := parse(data, getenv, "config "+path)
	if err != nil {
		return nil, err
	}
	cfg.dir = filepath.Dir(path)
	return cfg, nil
}

// Path resolves a path given in the file: relative to the file's
// directory (the working directory for a parsed config).
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.dir == "" {
		return p
	}
	return filepath.Join(c.dir, p)
}

// Line is the line of the field at path ("destinations[0].transform"), or
// of its nearest parent present in the file; 0 when unknown.
func (c *Config) Line(path string) int { return c.line(path) }

// Parse is Load on bytes.
func Parse(data []byte, getenv func(string) (string, bool)) (*Config, error) {
	return parse(data, getenv, "config")
}

func parse(data []byte, getenv func(string) (string, bool), name string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "%s: %v", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	cfg := &Config{name: name, lines: map[string]int{}, unset: map[string]string{}}
	if len(root.Content) == 0 {
		cfg.setDefaults()
		return cfg, problemsError(name, cfg.problems())
	}
	doc := root.Content[0]
	// Every kind of problem is collected before any is reported: fixing
	// one, re-running and meeting the next is what this saves.
	var problems []string
	checkKeys(doc, reflect.TypeOf(*cfg), "", cfg.lines, &problems)
	expandEnv(doc, "", getenv, cfg.unset)
	// Decoding skips unknown keys and goes on past values of the wrong
	// type (each a *yaml.TypeError entry), so the rest is still checked.
	decodeLines := map[int]bool{}
	if err := doc.Decode(cfg); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			// Decoding stopped half-way: validating what was decoded
			// would report problems that are not there.
			problems = append(problems, strings.TrimPrefix(err.Error(), "yaml: "))
			return nil, problemsError(name, problems)
		}
		for _, e := range te.Errors {
			msg, line := cfg.decodeProblem(e)
			decodeLines[line] = true
			problems = append(problems, msg)
		}
	}
	cfg.setDefaults()
	for _, p := range cfg.problems() {
		// A value that did not decode was left unset: what validation
		// says about it on the same line repeats the decode problem.
		if !decodeLines[problemLine(p)] {
			problems = append(problems, p)
		}
	}
	if err := problemsError(name, problems); err != nil {
		return nil, err
	}
	return cfg, nil
}

// problemsError is nil without problems, else one EINVALID error listing
// them by line: "config hw.yaml: line 4: ..." on one line when there is
// one, a count and one line each when there are several.
func problemsError(name string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	sort.SliceStable(problems, func(i, j int) bool {
		li, lj := problemLine(problems[i]), problemLine(problems[j])
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0 // problems without a line go last
		}
		return li < lj
	})
	if len(problems) == 1 {
		return &hookwatch.Error{Code: hookwatch.EINVALID, Message: name + ": " + problems[0]}
	}
	return &hookwatch.Error{Code: hookwatch.EINVALID,
		Message: fmt.Sprintf("%s: %d problems:\n  %s", name, len(problems), strings.Join(problems, "\n  "))}
}

// problemLine is the N of a problem starting "line N:", or 0.
func problemLine(p string) int {
	rest, ok := strings.CutPrefix(p, "line ")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(rest[:strings.IndexFunc(rest+":", func(r rune) bool { return r < '0' || r > '9' })])
	if err != nil {
		return 0
	}
	return n
}

// yamlTypeError is the decoder's "line 4: cannot unmarshal !!str `abc`
// into int".
var yamlTypeError = regexp.MustCompile("^line (\\d+): cannot unmarshal (!!\\w+)(?: `.*`)? into (.+)$")

// decodeProblem rewrites one decoder error as a problem naming the field
// (when the line holds one) and what it wants, and returns its line. The
// value itself is left out: it may be a secret in the wrong place.
func (c *Config) decodeProblem(e string) (string, int) {
	line := problemLine(e)
	field := c.fieldAt(line)
	if m := yamlTypeError.FindStringSubmatch(e); m != nil {
		msg := fmt.Sprintf("line %d: ", line)
		if field != "" {
			msg += field + ": "
		}
		return msg + fmt.Sprintf("got %s, want %s", yamlKind(m[2]), goKind(m[3])), line
	}
	if field != "" && line > 0 {
		// Our own types' errors (bad duration, bad size): name the field.
		prefix := fmt.Sprintf("line %d: ", line)
		return prefix + field + ": " + strings.TrimPrefix(e, prefix), line
	}
	return e, line
}

// fieldAt is the path of the one field whose value is on line, or "" when
// there is none or several (a flow mapping).
func (c *Config) fieldAt(line int) string {
	var at []string
	for p, l := range c.lines {
		if l == line {
			at = append(at, p)
		}
	}
	// "- name: a" puts sources[0] and sources[0].name on one line: the
	// deepest path is the field.
	var leaves []string
	for _, p := range at {
		leaf := true
		for _, q := range at {
			if q != p && (strings.HasPrefix(q, p+".") || strings.HasPrefix(q, p+"[")) {
				leaf = false
			}
		}
		if leaf {
			leaves = append(leaves, p)
		}
	}
	if len(leaves) != 1 {
		return ""
	}
	return leaves[0]
}

func yamlKind(tag string) string {
	switch tag {
	case "!!str":
		return "text"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "true or false"
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping (key: value)"
	case "!!null":
		return "nothing"
	}
	return strings.TrimPrefix(tag, "!!")
}

func goKind(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "config."):
		return "a mapping (key: value)"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool", t == "*bool":
		return "true or false"
	case t == "string":
		return "text (quote it)"
	}
	return t
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
		if s.Quarantine == nil {
			on := true
			s.Quarantine = &on
		}
		if s.Dedupe == "" {
			s.Dedupe = DedupeID
		}
	}
	c.setDeliveryDefaults()
	c.setDashboardDefaults()
	c.setRetentionDefaults()
}

var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Validate checks every field and returns one error listing all problems,
// each with the line it is on.
func (c *Config) Validate() error {
	return problemsError("config", c.problems())
}

// problems lists what Validate reports, one "line N: field: what to fix"
// each.
func (c *Config) problems() []string {
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
	c.validateEncryption(bad)
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
		s.validateDedupe(p, bad)
		s.validateSubject(p, bad)
		if s.Provider == "" {
			bad(p+".provider", "missing (one of: %s)", strings.Join(provider.Names(), ", "))
			continue
		}
		if _, ok := provider.Lookup(s.Provider); !ok {
			bad(p+".provider", "unknown provider %q (known: %s)", s.Provider, strings.Join(provider.Names(), ", "))
			continue
		}
		if info, _ := provider.Lookup(s.Provider); len(s.Secrets) == 0 && info.HandshakeSecret {
			// The secret is the one the first handshake hands over, kept in
			// the store (hookwatch sources handshake NAME).
			if s.MaxBody < 1 {
				bad(p+".max_body", "must be positive")
			}
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
	c.validateAdmin(bad)
	c.retentionProblems(bad)
	return problems
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

// Problem is something wrong with a field that only a package outside
// config can tell (a route filter that does not compile: config is a leaf
// and does not import the expression language).
type Problem struct {
	// Path is the field's path, e.g. "routes[0].filter".
	Path string
	// Message says what is wrong and what to fix.
	Message string
}

// Invalid returns the error Load returns for problems: EINVALID, naming
// the file and each problem's line and field, sorted by line. Nil without
// problems.
func (c *Config) Invalid(problems []Problem) error {
	var out []string
	for _, p := range problems {
		if line := c.line(p.Path); line > 0 {
			out = append(out, fmt.Sprintf("line %d: %s: %s", line, p.Path, p.Message))
		} else {
			out = append(out, p.Path+": "+p.Message)
		}
	}
	name := c.name
	if name == "" {
		name = "config"
	}
	return problemsError(name, out)
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
	return "", "", fmt.Errorf("%q is not sqlite:PATH or postgres://...", hookwatch.RedactURL(s))
}

// Redacted returns the configuration as YAML with every secret replaced by
// "[redacted]" and every URL redacted by hookwatch.RedactURL (credentials
// and query values hidden): safe to print or log.
func (c *Config) Redacted() ([]byte, error) {
	cp := reflect.New(reflect.TypeOf(*c)).Elem()
	cp.Set(reflect.ValueOf(*c))
	// What will run, not "0 = the default".
	cp.Addr().Interface().(*Config).Ingest.Writers = c.IngestWriters()
	redact(cp)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cp.Addr().Interface()); err != nil {
		return nil, fmt.Errorf("config: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// redact replaces fields tagged secret:"true" in v (recursively) and
// redacts every string that is a URL.
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
			v.SetString(hookwatch.RedactURL(v.String()))
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
