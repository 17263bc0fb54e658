package monitor

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/getsentry/sentry-go"
	"github.com/getsentry/sentry-go/attribute"
	"github.com/hookwatch/hookwatch"
)

// filtered replaces every scrubbed value, as Sentry's own scrubbing does.
const filtered = "[Filtered]"

// Tags of every event and transaction, unless set otherwise.
var defaultTags = map[string]string{"service": "webhooks"}

// testTag marks test events (dropped in production); forceTag keeps one
// anyway (hookwatch sentry test --force) and is removed before sending.
const (
	testTag  = "test"
	forceTag = "hookwatch.force"
)

// beforeSend is the filter of error events: test events are dropped in
// production, the default tags are added, and secrets are scrubbed.
func (m *Monitor) beforeSend(ev *sentry.Event, _ *sentry.EventHint) *sentry.Event {
	forced := ev.Tags[forceTag] == "true"
	delete(ev.Tags, forceTag)
	if ev.Tags[testTag] == "true" && m.opts.Environment == "production" && !forced {
		return nil
	}
	m.addTags(ev)
	m.scrub.event(ev)
	return ev
}

// beforeSendTransaction drops test webhooks' transactions in production
// (as beforeSend drops their errors), adds the default tags and scrubs.
func (m *Monitor) beforeSendTransaction(ev *sentry.Event, _ *sentry.EventHint) *sentry.Event {
	if ev.Tags[testTag] == "true" && m.opts.Environment == "production" {
		return nil
	}
	m.addTags(ev)
	m.scrub.event(ev)
	return ev
}

// beforeSendLog scrubs log records, and drops them when logs are off (the
// SDK has no switch of its own).
func (m *Monitor) beforeSendLog(l *sentry.Log) *sentry.Log {
	if !m.opts.Logs {
		return nil
	}
	if t, ok := l.Attributes[testTag]; ok && t.Type() == attribute.BOOL && t.AsBool() && m.opts.Environment == "production" {
		return nil
	}
	l.Body = m.scrub.str(l.Body)
	// The engine's and the Monitor's records name the event and the
	// delivery "event" and "delivery": Sentry Logs gets the names it can
	// search on beside the other webhook tags.
	for from, to := range map[string]string{"event": "event_id", "delivery": "delivery_id"} {
		if v, ok := l.Attributes[from]; ok {
			if _, taken := l.Attributes[to]; !taken {
				l.Attributes[to] = v
				delete(l.Attributes, from)
			}
		}
	}
	for k, v := range l.Attributes {
		switch {
		case sensitiveKey(k):
			l.Attributes[k] = attribute.StringValue(filtered)
		case v.Type() == attribute.STRING:
			if s := v.AsString(); s != "" {
				if c := m.scrub.str(s); c != s {
					l.Attributes[k] = attribute.StringValue(c)
				}
			}
		case v.Type() == attribute.STRINGSLICE:
			ss := slices.Clone(v.AsStringSlice())
			for i := range ss {
				ss[i] = m.scrub.str(ss[i])
			}
			l.Attributes[k] = attribute.StringSliceValue(ss)
		}
	}
	return l
}

func (m *Monitor) addTags(ev *sentry.Event) {
	if ev.Tags == nil {
		ev.Tags = map[string]string{}
	}
	for k, v := range defaultTags {
		if _, ok := ev.Tags[k]; !ok {
			ev.Tags[k] = v
		}
	}
	for k, v := range m.opts.Tags {
		if _, ok := ev.Tags[k]; !ok {
			ev.Tags[k] = v
		}
	}
}

// scrubber removes secrets from everything sent: configured secret values
// anywhere, credential and signature headers (by key, in any map), bearer
// tokens, and credential-looking query parameters.
type scrubber struct {
	secrets *strings.Replacer // nil without secrets
}

// minSecret is the shortest configured value scrubbed: a shorter "secret"
// would shred ordinary words.
const minSecret = 6

func newScrubber(secrets []string) *scrubber {
	var olds []string
	add := func(s string) {
		if len(s) >= minSecret && !slices.Contains(olds, s) {
			olds = append(olds, s)
		}
	}
	for _, s := range secrets {
		add(s)
		// The key part of whsec_/whpk_/whsk_ secrets may appear alone.
		if i := strings.IndexByte(s, '_'); i > 0 && i < 6 {
			add(s[i+1:])
		}
		// A header value ("Bearer T", "Token T", "Basic B64") is a scheme
		// and a credential: the credential goes out alone (an app echoing
		// it, a log quoting it), so each word of it is a secret too, and
		// Basic's user:password once decoded.
		fields := strings.Fields(s)
		if len(fields) > 1 {
			for _, f := range fields {
				add(f)
			}
			if strings.EqualFold(fields[0], "basic") {
				if dec, err := base64.StdEncoding.DecodeString(fields[1]); err == nil {
					add(string(dec))
					if _, pass, ok := strings.Cut(string(dec), ":"); ok {
						add(pass)
					}
				}
			}
		}
	}
	if len(olds) == 0 {
		return &scrubber{}
	}
	// Longest first, so a secret containing another is replaced whole.
	slices.SortFunc(olds, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(olds))
	for _, o := range olds {
		pairs = append(pairs, o, filtered)
	}
	return &scrubber{secrets: strings.NewReplacer(pairs...)}
}

var (
	queryCred  = regexp.MustCompile(`(?i)([?&;][^=&#\s"']*(?:token|key|secret|sig|signature|auth|password|passwd|pwd|code|session|credential)[^=&#\s"']*=)[^&#\s"']*`)
	bearerCred = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}`)
)

// str scrubs one string.
func (s *scrubber) str(v string) string {
	if v == "" {
		return v
	}
	if s.secrets != nil {
		v = s.secrets.Replace(v)
	}
	if strings.ContainsRune(v, '=') {
		v = queryCred.ReplaceAllString(v, "${1}"+filtered)
	}
	if strings.ContainsRune(v, ' ') {
		v = bearerCred.ReplaceAllString(v, "${1} "+filtered)
	}
	// URLs (credentials, query values) and keyword DSN passwords are
	// redacted the one way Hookwatch redacts them everywhere.
	v = hookwatch.RedactURLs(v)
	return v
}

// sensitiveKey reports whether a map key names a credential or a signature
// (a header name, a form field...): its value is dropped whatever it is.
func sensitiveKey(k string) bool {
	if hookwatch.IsSignatureHeader(k) {
		return true
	}
	l := strings.ToLower(k)
	// Sentry's own default scrubbing keys, matched as substrings as it does.
	for _, w := range []string{"secret", "password", "passwd", "token", "api_key", "apikey", "api-key", "cookie",
		"authorization", "credential", "private_key", "privatekey", "private-key", "session", "mysql_pwd", "x-api-key"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// value scrubs any JSON-like value; other types are scrubbed through their
// JSON form when it contains something to scrub.
func (s *scrubber) value(v any) any {
	switch t := v.(type) {
	case nil, bool, int, int64, float64, uint64, json.Number:
		return v
	case string:
		return s.str(t)
	case []string:
		out := make([]string, len(t))
		for i := range t {
			out[i] = s.str(t[i])
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(t))
		for k, x := range t {
			if sensitiveKey(k) {
				out[k] = filtered
			} else {
				out[k] = s.str(x)
			}
		}
		return out
	case map[string]any:
		s.mapAny(t)
		return t
	case []any:
		for i := range t {
			t[i] = s.value(t[i])
		}
		return t
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "[unserializable]"
	}
	if s.str(string(b)) == string(b) && !hasSensitiveKey(b) {
		return v
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return filtered
	}
	return s.value(generic)
}

func hasSensitiveKey(b []byte) bool {
	var generic any
	if json.Unmarshal(b, &generic) != nil {
		return false
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if sensitiveKey(k) || walk(x) {
					return true
				}
			}
		case []any:
			return slices.ContainsFunc(t, walk)
		}
		return false
	}
	return walk(generic)
}

func (s *scrubber) mapAny(m map[string]any) {
	for k, x := range m {
		if sensitiveKey(k) {
			m[k] = filtered
			continue
		}
		m[k] = s.value(x)
	}
}

func (s *scrubber) breadcrumb(b *sentry.Breadcrumb) {
	if b == nil {
		return
	}
	b.Message = s.str(b.Message)
	s.mapAny(b.Data)
}

// event scrubs an error event or a transaction, field by field.
func (s *scrubber) event(ev *sentry.Event) {
	ev.Message = s.str(ev.Message)
	ev.Transaction = s.str(ev.Transaction)
	for k, v := range ev.Tags {
		if sensitiveKey(k) {
			ev.Tags[k] = filtered
		} else {
			ev.Tags[k] = s.str(v)
		}
	}
	for k, c := range ev.Contexts {
		if sensitiveKey(k) {
			delete(ev.Contexts, k)
			continue
		}
		s.mapAny(c)
	}
	for _, b := range ev.Breadcrumbs {
		s.breadcrumb(b)
	}
	for i := range ev.Exception {
		ev.Exception[i].Value = s.str(ev.Exception[i].Value)
		if st := ev.Exception[i].Stacktrace; st != nil {
			for j := range st.Frames {
				s.mapAny(st.Frames[j].Vars)
			}
		}
	}
	if r := ev.Request; r != nil {
		r.URL = s.str(r.URL)
		r.QueryString = s.str("?" + r.QueryString)[1:]
		r.Cookies = ""
		r.Data = s.str(r.Data)
		for k, v := range r.Headers {
			if sensitiveKey(k) {
				r.Headers[k] = filtered
			} else {
				r.Headers[k] = s.str(v)
			}
		}
		for k, v := range r.Env {
			r.Env[k] = s.str(v)
		}
	}
	u := &ev.User
	u.ID, u.Email, u.Username, u.Name = s.str(u.ID), s.str(u.Email), s.str(u.Username), s.str(u.Name)
	for k, v := range u.Data {
		u.Data[k] = s.str(v)
	}
	for _, sp := range ev.Spans {
		sp.Description = s.str(sp.Description)
		s.mapAny(sp.Data)
		for k, v := range sp.Tags {
			sp.Tags[k] = s.str(v)
		}
	}
}

// body scrubs a webhook body for the dead-letter context: a JSON body is
// scrubbed by key at every depth (password, api_key, token, secret... as
// Sentry's own data scrubbing does) and sent as JSON, so Sentry shows it as
// an object; any other body as a string, its secrets scrubbed. Both are
// capped at max bytes.
func (s *scrubber) body(b []byte, max int) any {
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&v) == nil && !dec.More() {
		v = s.value(v)
		if out, err := json.Marshal(v); err == nil {
			if len(out) <= max {
				return v
			}
			return truncate(string(out), max)
		}
	}
	return truncate(s.str(string(b)), max)
}
