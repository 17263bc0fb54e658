package hookwatch

import (
	"net/url"
	"regexp"
	"strings"
)

// redactedValue replaces every credential RedactURL hides.
const redactedValue = "[redacted]"

// RedactURL returns s safe to show or log: the userinfo of a URL
// ("user:password@") becomes "[redacted]@", every query value becomes
// "[redacted]" with its key kept ("?apikey=[redacted]&v=[redacted]"; a
// query part without "=" may itself be a token and is replaced whole),
// and a fragment becomes "#[redacted]". Scheme, host, port and path are
// kept, so the URL can still be recognised. A string with no URL scheme is
// returned as is, except that the password of a PostgreSQL keyword DSN
// ("host=db password=x") is hidden. This is the one URL redaction of
// Hookwatch: config show, logs, error messages, Sentry and the dashboard
// all use it.
func RedactURL(s string) string {
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || !validScheme(scheme) {
		return redactDSN(s)
	}
	u, err := url.Parse(s)
	if err != nil {
		// A malformed URL (a password with an unescaped '#', '?' or '/'):
		// hide more rather than less.
		return redactUnparsed(s, scheme)
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteByte(':')
	if u.Opaque != "" {
		b.WriteString(u.Opaque)
	} else {
		if u.Host != "" || u.User != nil || strings.HasPrefix(s[len(scheme)+1:], "//") {
			b.WriteString("//")
		}
		if u.User != nil {
			b.WriteString(redactedValue + "@")
		}
		b.WriteString(u.Host)
		b.WriteString(u.EscapedPath())
	}
	if u.ForceQuery || u.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(redactQuery(u.RawQuery))
	}
	if u.Fragment != "" {
		b.WriteString("#" + redactedValue)
	}
	return b.String()
}

// urlInText finds absolute URLs in free text (log lines, error messages).
var urlInText = regexp.MustCompile("[A-Za-z][A-Za-z0-9+.-]*://[^\\s\"'<>`]+")

// RedactURLs applies RedactURL to every URL found in free text, such as a
// log message or an error that quotes the URL it failed on, and hides the
// password of a PostgreSQL keyword DSN.
func RedactURLs(text string) string {
	if strings.Contains(text, "://") {
		text = urlInText.ReplaceAllStringFunc(text, func(u string) string {
			// Punctuation that ends a sentence or a clause is not part of
			// the URL: "connect to postgres://db/hw?sslmode=disable: refused".
			// (Not "]": an IPv6 host or an already redacted value ends so.)
			trimmed := strings.TrimRight(u, ".,:;)!")
			return RedactURL(trimmed) + u[len(trimmed):]
		})
	}
	return redactDSN(text)
}

// validScheme reports whether s is a URL scheme (RFC 3986: a letter, then
// letters, digits, "+", "-" or ".").
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// redactQuery keeps each key of a raw query and hides its value.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		switch k, v, ok := strings.Cut(p, "="); {
		case !ok && p != "":
			parts[i] = redactedValue
		case ok && v != "":
			parts[i] = k + "=" + redactedValue
		}
	}
	return strings.Join(parts, "&")
}

// redactUnparsed redacts a URL that net/url rejects: everything before the
// last "@" after "//" is taken for userinfo, and query and fragment are
// redacted as in RedactURL.
func redactUnparsed(s, scheme string) string {
	rest := s[len(scheme)+1:]
	prefix := scheme + ":"
	if strings.HasPrefix(rest, "//") {
		prefix += "//"
		rest = rest[2:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			prefix += redactedValue + "@"
			rest = rest[at+1:]
		}
	}
	rest, frag, hasFrag := strings.Cut(rest, "#")
	rest, query, hasQuery := strings.Cut(rest, "?")
	out := prefix + rest
	if hasQuery {
		out += "?" + redactQuery(query)
	}
	if hasFrag && frag != "" {
		out += "#" + redactedValue
	}
	return out
}

// dsnPassword matches a password setting of a keyword/value connection
// string (libpq: password=..., sslpassword='...').
var dsnPassword = regexp.MustCompile(`(?i)\b(\w*password)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s'][^\s]*)`)

func redactDSN(s string) string {
	if !hasPassword(s) {
		return s
	}
	return dsnPassword.ReplaceAllString(s, "${1}="+redactedValue)
}

// hasPassword reports whether s holds "password" in any case, without
// allocating: logs call this for every string they write.
func hasPassword(s string) bool {
	for i := 0; i+len("password") <= len(s); i++ {
		if (s[i] == 'p' || s[i] == 'P') && strings.EqualFold(s[i:i+len("password")], "password") {
			return true
		}
	}
	return false
}
