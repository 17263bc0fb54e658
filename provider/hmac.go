package provider

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// hmacOptions are the option keys of the generic hmac scheme.
var hmacOptions = []string{
	"header", "algorithm", "encoding", "prefix", "signed", "timestamp_header",
	"id_header", "id_json", "type_header", "type_json",
}

// hmacScheme is the generic scheme for providers that sign the body (or a
// "{timestamp}.{body}"-like template) with an HMAC in one header. It cannot
// be configured into accepting unsigned requests: the header is required and
// the signed content must contain the body.
type hmacScheme struct {
	keys       [][]byte
	tolerance  time.Duration
	header     string
	hash       func() hash.Hash
	size       int
	base64     bool
	prefix     string
	template   []string // literal parts and the placeholders "{body}", "{timestamp}"
	tsHeader   string
	idHeader   string
	idJSON     string
	typeHeader string
	typeJSON   string
}

func newHMAC(cfg Config) (Scheme, error) {
	if err := requireSecrets("hmac", cfg.Secrets); err != nil {
		return nil, err
	}
	if err := checkOptions("hmac", cfg.Options, hmacOptions...); err != nil {
		return nil, err
	}
	o := cfg.Options
	s := &hmacScheme{
		keys:       stringKeys(cfg.Secrets),
		tolerance:  cfg.Tolerance,
		header:     textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(o["header"])),
		prefix:     o["prefix"],
		tsHeader:   textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(o["timestamp_header"])),
		idHeader:   strings.TrimSpace(o["id_header"]),
		idJSON:     strings.TrimSpace(o["id_json"]),
		typeHeader: strings.TrimSpace(o["type_header"]),
		typeJSON:   strings.TrimSpace(o["type_json"]),
	}
	if s.header == "" {
		return nil, fmt.Errorf("provider hmac: option header is required (the header that carries the signature, e.g. X-Signature)")
	}
	h, err := hashFunc(o["algorithm"])
	if err != nil {
		return nil, fmt.Errorf("provider hmac: option algorithm: %w", err)
	}
	s.hash, s.size = h, h().Size()
	switch strings.ToLower(o["encoding"]) {
	case "", "hex":
	case "base64":
		s.base64 = true
	default:
		return nil, fmt.Errorf("provider hmac: option encoding: unknown encoding %q (use hex or base64)", o["encoding"])
	}
	s.template, err = parseSignedTemplate(o["signed"])
	if err != nil {
		return nil, fmt.Errorf("provider hmac: option signed: %w", err)
	}
	usesTS := false
	for _, p := range s.template {
		usesTS = usesTS || p == "{timestamp}"
	}
	switch {
	case usesTS && s.tsHeader == "":
		return nil, fmt.Errorf("provider hmac: option signed uses {timestamp}: set timestamp_header")
	case !usesTS && s.tsHeader != "":
		return nil, fmt.Errorf("provider hmac: option timestamp_header is set but signed does not use {timestamp} (an unsigned timestamp proves nothing)")
	case s.idHeader != "" && s.idJSON != "":
		return nil, fmt.Errorf("provider hmac: set id_header or id_json, not both")
	case s.typeHeader != "" && s.typeJSON != "":
		return nil, fmt.Errorf("provider hmac: set type_header or type_json, not both")
	}
	return s, nil
}

// parseSignedTemplate splits a template such as "{timestamp}.{body}" into
// literal parts and placeholders. Empty means "{body}". The body must appear
// exactly once: a template without it would verify nothing.
func parseSignedTemplate(t string) ([]string, error) {
	if t == "" || t == "body" {
		return []string{"{body}"}, nil
	}
	var parts []string
	bodies := 0
	for rest := t; rest != ""; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			parts = append(parts, rest)
			break
		}
		if i > 0 {
			parts = append(parts, rest[:i])
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("unclosed { in %q", t)
		}
		ph := rest[i : i+j+1]
		switch ph {
		case "{body}":
			bodies++
		case "{timestamp}":
		default:
			return nil, fmt.Errorf("unknown placeholder %s in %q (use {timestamp} and {body})", ph, t)
		}
		parts = append(parts, ph)
		rest = rest[i+j+1:]
	}
	if bodies != 1 {
		return nil, fmt.Errorf("%q must contain {body} exactly once", t)
	}
	return parts, nil
}

// parseHeader strips the configured prefix and decodes the digest.
func (s *hmacScheme) parseHeader(header string) ([]byte, error) {
	v := strings.TrimSpace(header)
	if s.prefix != "" {
		if len(v) < len(s.prefix) || !strings.EqualFold(v[:len(s.prefix)], s.prefix) {
			return nil, Reject(ReasonMalformedHeader, "%s does not start with %q", s.header, s.prefix)
		}
		v = v[len(s.prefix):]
	}
	var (
		b   []byte
		err error
	)
	if s.base64 {
		b, err = base64.StdEncoding.DecodeString(v)
	} else {
		b, err = hex.DecodeString(v)
	}
	if err != nil || len(b) != s.size {
		enc := "hex"
		if s.base64 {
			enc = "base64"
		}
		return nil, Reject(ReasonMalformedHeader, "%s is not a %s digest of %d bytes", s.header, enc, s.size)
	}
	return b, nil
}

// signedParts renders the template for body and timestamp ts.
func (s *hmacScheme) signedParts(body []byte, ts string) [][]byte {
	parts := make([][]byte, len(s.template))
	for i, p := range s.template {
		switch p {
		case "{body}":
			parts[i] = body
		case "{timestamp}":
			parts[i] = []byte(ts)
		default:
			parts[i] = []byte(p)
		}
	}
	return parts
}

// Verify implements Scheme.
func (s *hmacScheme) Verify(r *Request) (Result, error) {
	header := r.Header.Get(s.header)
	if strings.TrimSpace(header) == "" {
		return Result{}, Reject(ReasonMissingSignature, "no %s header", s.header)
	}
	sig, err := s.parseHeader(header)
	if err != nil {
		return Result{}, err
	}
	var rawTS string
	var ts time.Time
	if s.tsHeader != "" {
		rawTS = strings.TrimSpace(r.Header.Get(s.tsHeader))
		if rawTS == "" {
			return Result{}, Reject(ReasonMalformedHeader, "%s is set but %s is missing", s.header, s.tsHeader)
		}
		if ts, err = parseUnix(rawTS); err != nil {
			return Result{}, err
		}
	}
	if !matchAny(macs(s.hash, s.keys, s.signedParts(r.Body, rawTS)...), [][]byte{sig}) {
		return Result{}, Reject(ReasonBadSignature, "%s matches no configured secret", s.header)
	}
	if s.tsHeader != "" {
		if err := checkTimestamp(ts, r.Now, s.tolerance); err != nil {
			return Result{}, err
		}
	}
	res := Result{EventID: r.Header.Get(s.idHeader), EventType: r.Header.Get(s.typeHeader)}
	if s.idJSON != "" || s.typeJSON != "" {
		vals, ok := jsonTopStrings(r.Body, s.idJSON, s.typeJSON)
		res.Malformed = !ok
		if s.idJSON != "" {
			res.EventID = vals[0]
		}
		if s.typeJSON != "" {
			res.EventType = vals[1]
		}
	}
	return res, nil
}

// Sign implements Signer.
func (s *hmacScheme) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	ts := strconv.FormatInt(now.Unix(), 10)
	m := mac(s.hash, s.keys[0], s.signedParts(body, ts)...)
	enc := hex.EncodeToString(m)
	if s.base64 {
		enc = base64.StdEncoding.EncodeToString(m)
	}
	h.Set(s.header, s.prefix+enc)
	if s.tsHeader != "" {
		h.Set(s.tsHeader, ts)
	}
	return nil
}
