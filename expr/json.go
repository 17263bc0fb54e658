package expr

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// A lazy JSON path lookup over a body's raw bytes, for the filter fast
// path (shape.go): body.data.object.amount_paid is found by skipping over
// everything else, not by decoding the whole document into maps. It gives
// the answer encoding/json (ParseJSON) would, or says it is unsure and the
// caller falls back to CEL over the parsed body:
//
//   - a body that is not exactly one JSON value (jsonValid, checked once per
//     event) is CEL's null;
//   - a duplicate key: the last one wins, as when encoding/json decodes into
//     a map;
//   - keys are compared decoded when they hold an escape or a non-ASCII
//     byte (encoding/json turns invalid UTF-8 into U+FFFD);
//   - a document nested deeper than maxScanDepth is "unsure".

// maxScanDepth bounds the validator's recursion; encoding/json's own limit
// is 10,000, so anything deeper than this is left to it.
const maxScanDepth = 1000

// validity is what jsonValid found.
type validity int8

const (
	jsonInvalid validity = iota
	jsonOK
	jsonUnsure
)

// jsonValid reports whether b is exactly one JSON value, optionally
// surrounded by whitespace, as encoding/json's json.Valid decides.
func jsonValid(b []byte) validity {
	s := scanner{b: b}
	s.ws()
	if !s.value(0) {
		if s.deep {
			return jsonUnsure
		}
		return jsonInvalid
	}
	s.ws()
	if s.i != len(b) {
		return jsonInvalid
	}
	return jsonOK
}

type scanner struct {
	b    []byte
	i    int
	deep bool
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *scanner) ws() {
	for s.i < len(s.b) && isWS(s.b[s.i]) {
		s.i++
	}
}

// value validates one value at s.i (no leading whitespace) and moves past it.
func (s *scanner) value(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '{':
		if depth >= maxScanDepth {
			s.deep = true
			return false
		}
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return true
		}
		for {
			if s.i >= len(s.b) || s.b[s.i] != '"' || !s.str() {
				return false
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return false
			}
			s.i++
			s.ws()
			if !s.value(depth + 1) {
				return false
			}
			s.ws()
			if s.i >= len(s.b) {
				return false
			}
			if s.b[s.i] == '}' {
				s.i++
				return true
			}
			if s.b[s.i] != ',' {
				return false
			}
			s.i++
			s.ws()
		}
	case c == '[':
		if depth >= maxScanDepth {
			s.deep = true
			return false
		}
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return true
		}
		for {
			if !s.value(depth + 1) {
				return false
			}
			s.ws()
			if s.i >= len(s.b) {
				return false
			}
			if s.b[s.i] == ']' {
				s.i++
				return true
			}
			if s.b[s.i] != ',' {
				return false
			}
			s.i++
			s.ws()
		}
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.num()
	}
	return false
}

func (s *scanner) lit(w string) bool {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return false
	}
	s.i += len(w)
	return true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// str validates a string at s.i (on its opening quote). Like encoding/json
// it accepts any byte of 0x20 and above, valid UTF-8 or not.
func (s *scanner) str() bool {
	s.i++
	for s.i < len(s.b) {
		// Eight plain bytes (none a quote, a backslash or below 0x20) at
		// a time.
		for s.i+8 <= len(s.b) && plain8(binary.LittleEndian.Uint64(s.b[s.i:])) {
			s.i += 8
		}
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !isHex(s.b[s.i+2]) || !isHex(s.b[s.i+3]) || !isHex(s.b[s.i+4]) || !isHex(s.b[s.i+5]) {
					return false
				}
				s.i += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			s.i++
		}
	}
	return false
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plain8 reports whether none of the eight bytes of x is '"', '\\' or below
// 0x20 (the bit tricks of "Bit Twiddling Hacks": a zero byte, a byte less
// than n).
func plain8(x uint64) bool {
	less20 := (x - ones*0x20) & ^x & highs
	quote := x ^ (ones * '"')
	bslash := x ^ (ones * '\\')
	zq := (quote - ones) & ^quote & highs
	zb := (bslash - ones) & ^bslash & highs
	return less20|zq|zb == 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// num validates a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) num() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
		return false
	}
	if s.b[s.i] == '0' {
		s.i++
	} else {
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
			return false
		}
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
			return false
		}
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	}
	return true
}

// skip moves past one value of a document already known valid.
func (s *scanner) skip() {
	switch s.b[s.i] {
	case '"':
		s.skipValueStr()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				s.skipValueStr()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return
				}
			}
			s.i++
		}
	default: // number, true, false, null: up to a delimiter
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.i++
		}
	}
}

// skipValueStr moves past a string of a valid document: to the first
// quote not escaped (preceded by an even number of backslashes), found
// with bytes.IndexByte.
func (s *scanner) skipValueStr() {
	i := s.i + 1
	for {
		j := bytes.IndexByte(s.b[i:], '"')
		if j < 0 {
			s.i = len(s.b)
			return
		}
		i += j
		n := 0
		for k := i - 1; k > s.i && s.b[k] == '\\'; k-- {
			n++
		}
		i++
		if n%2 == 0 {
			s.i = i
			return
		}
	}
}

// skipStr moves past a string of a valid document, returning whether it
// held an escape or a non-ASCII byte (so must be decoded to compare).
func (s *scanner) skipStr() (special bool) {
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return special
		case c == '\\':
			special = true
			s.i += 2
			continue
		case c >= 0x80:
			special = true
		}
		s.i++
	}
	return special
}

// jsonLookup finds the value at path (object keys from the top) in a
// document b that jsonValid said is OK, and returns its bytes; found is
// false when some step is not an object or lacks the key (where CEL errs).
func jsonLookup(b []byte, path []string) (raw []byte, found bool) {
	s := scanner{b: b}
	s.ws()
	start := s.i
	for _, key := range path {
		if s.b[s.i] != '{' {
			return nil, false
		}
		vs, ok := s.member(key)
		if !ok {
			return nil, false
		}
		s.i = vs
		start = vs
	}
	s.i = start
	s.skip()
	return b[start:s.i], true
}

// member scans the object at s.i for key and returns where the value of
// its last occurrence starts.
func (s *scanner) member(key string) (at int, found bool) {
	s.i++ // '{'
	for {
		s.ws()
		if s.b[s.i] == '}' {
			return at, found
		}
		ks := s.i
		special := s.skipStr()
		k := s.b[ks+1 : s.i-1]
		s.ws()
		s.i++ // ':'
		s.ws()
		if keyIs(k, special, key) {
			at, found = s.i, true
		}
		s.skip()
		s.ws()
		if s.b[s.i] == ',' {
			s.i++
		}
	}
}

func keyIs(raw []byte, special bool, key string) bool {
	if !special {
		return string(raw) == key
	}
	var k string
	if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &k); err != nil {
		return false
	}
	return k == key
}

// jsonHasKey reports whether the object at raw (a valid value) has key.
func jsonHasKey(raw []byte, key string) (has, isObject bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return false, false
	}
	s := scanner{b: raw}
	_, found := s.member(key)
	return found, true
}

// jsonScalar decodes a valid value as ParseJSON would: string, int64 or
// float64, bool, or nil for null. ok is false for an object or an array.
func jsonScalar(raw []byte) (v any, ok bool) {
	switch raw[0] {
	case '{', '[':
		return nil, false
	case 't':
		return true, true
	case 'f':
		return false, true
	case 'n':
		return nil, true
	case '"':
		// Without an escape, valid UTF-8 decodes to itself; encoding/json
		// replaces invalid bytes with U+FFFD.
		in := raw[1 : len(raw)-1]
		if bytes.IndexByte(in, '\\') >= 0 || !utf8.Valid(in) {
			var str string
			if err := json.Unmarshal(raw, &str); err != nil {
				return nil, false
			}
			return str, true
		}
		return string(in), true
	}
	if i, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return i, true
	}
	f, _ := strconv.ParseFloat(string(raw), 64) // json.Number.Float64, as numbers() does
	return f, true
}
