package hookwatch

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SubjectPath is a parsed sources[].subject: the keys (and, for arrays,
// zero-based indexes) leading from the top of a JSON body to the value that
// names the event's data subject, the person or account an erasure is asked
// for ("data.object.customer" in a Stripe event). The empty path extracts
// nothing.
type SubjectPath []string

// MaxSubjectLen is the longest subject kept: a longer value is not a
// customer ID or an address, and is not extracted.
const MaxSubjectLen = 256

// ParseSubjectPath reads a dotted path ("data.object.customer",
// "items.0.email"). A key holding a dot cannot be named. It returns an
// EINVALID error for an empty segment or one with spaces or quotes.
func ParseSubjectPath(s string) (SubjectPath, error) {
	if s == "" {
		return nil, nil
	}
	p := SubjectPath(strings.Split(s, "."))
	for _, seg := range p {
		if seg == "" || strings.ContainsAny(seg, " \t\r\n\"'[]") {
			return nil, Errorf(EINVALID, "subject %q: use a dotted path of JSON keys such as data.object.customer (array items by index: items.0.email)", s)
		}
	}
	return p, nil
}

// String returns the path as written in the config.
func (p SubjectPath) String() string { return strings.Join(p, ".") }

// Extract returns the subject of body: the string (unescaped) or number
// (as written) at the path, or "" when the body is not JSON, the path is
// missing, the value is an object, array, boolean, null or empty, or it is
// longer than MaxSubjectLen. It scans the bytes once and decodes nothing but
// the keys on the path and the value found, with no recursion and no
// allocation beyond the result, so it is cheap enough for the receive path
// and safe on any input. A key that occurs twice in an object: the first
// occurrence counts.
func (p SubjectPath) Extract(body []byte) string {
	if len(p) == 0 {
		return ""
	}
	i := skipSpace(body, 0)
	for _, seg := range p {
		if i >= len(body) {
			return ""
		}
		switch body[i] {
		case '{':
			i = objectMember(body, i, seg)
		case '[':
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 {
				return ""
			}
			i = arrayItem(body, i, n)
		default:
			return ""
		}
		if i < 0 {
			return ""
		}
	}
	if i >= len(body) {
		return ""
	}
	var v string
	switch c := body[i]; {
	case c == '"':
		end := skipString(body, i)
		if end < 0 || end-i-2 > 6*MaxSubjectLen {
			return ""
		}
		v = unquote(body[i:end])
	case c == '-' || c >= '0' && c <= '9':
		end := skipScalar(body, i)
		v = string(body[i:end])
	}
	if len(v) > MaxSubjectLen {
		return ""
	}
	return v
}

// objectMember returns the offset of the value of key in the object that
// starts at body[i] ('{'), or -1.
func objectMember(body []byte, i int, key string) int {
	i = skipSpace(body, i+1)
	for i < len(body) && body[i] == '"' {
		end := skipString(body, i)
		if end < 0 {
			return -1
		}
		match := keyIs(body[i:end], key)
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return -1
		}
		i = skipSpace(body, i+1)
		if match {
			return i
		}
		if i = skipValue(body, i); i < 0 {
			return -1
		}
		i = skipSpace(body, i)
		if i >= len(body) || body[i] != ',' {
			return -1
		}
		i = skipSpace(body, i+1)
	}
	return -1
}

// arrayItem returns the offset of item n of the array that starts at
// body[i] ('['), or -1.
func arrayItem(body []byte, i, n int) int {
	i = skipSpace(body, i+1)
	for k := 0; i < len(body) && body[i] != ']'; k++ {
		if k == n {
			return i
		}
		if i = skipValue(body, i); i < 0 {
			return -1
		}
		i = skipSpace(body, i)
		if i >= len(body) || body[i] != ',' {
			return -1
		}
		i = skipSpace(body, i+1)
	}
	return -1
}

// skipValue returns the offset just past the value at body[i], or -1.
// Nested objects and arrays are skipped by counting brackets outside
// strings: no recursion, whatever the depth.
func skipValue(body []byte, i int) int {
	if i >= len(body) {
		return -1
	}
	switch body[i] {
	case '"':
		return skipString(body, i)
	case '{', '[':
		depth := 0
		for i < len(body) {
			switch body[i] {
			case '"':
				if i = skipString(body, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	end := skipScalar(body, i)
	if end == i {
		return -1
	}
	return end
}

// skipString returns the offset just past the string that starts at
// body[i] ('"'), or -1 when it does not end.
func skipString(body []byte, i int) int {
	for j := i + 1; ; j++ {
		k := bytes.IndexByte(body[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		// The quote ends the string unless an odd number of backslashes
		// escapes it.
		n := 0
		for m := j - 1; m > i && body[m] == '\\'; m-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
	}
}

// skipScalar returns the offset just past a number, true, false or null.
func skipScalar(body []byte, i int) int {
	for i < len(body) {
		switch body[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
		i++
	}
	return i
}

func skipSpace(body []byte, i int) int {
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n') {
		i++
	}
	return i
}

// keyIs reports whether the string token tok (quotes included) is key,
// without allocating when it has no escapes.
func keyIs(tok []byte, key string) bool {
	inner := tok[1 : len(tok)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		return unquote(tok) == key
	}
	return string(inner) == key
}

// unquote returns the text of a JSON string token (quotes included),
// decoding escapes only when there are some; a bad escape gives "".
func unquote(tok []byte) string {
	inner := tok[1 : len(tok)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		// encoding/json's decoding: escapes, and U+FFFD for bad UTF-8.
		var s string
		if json.Unmarshal(tok, &s) != nil {
			return ""
		}
		return s
	}
	return string(inner)
}
