package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// contentful verifies Contentful webhook request verification (and app
// request signing, the same scheme). `x-contentful-signature` is the hex
// HMAC-SHA256, keyed with the 64-character signing secret, of
//
//	method \n path \n headers \n body
//
// where path is the request's path and query, normalised the way the
// toolkit does it (the query percent-escaped as a component, then the whole
// escaped as a URI), and headers are the ones named in
// `x-contentful-signed-headers`, lower-cased and trimmed, as "name:value"
// sorted by name and joined with ';'. The list always names the timestamp
// header and itself; their values in the signed string are the timestamp
// and the sorted list. This is the recipe of verifyRequest in Contentful's
// @contentful/node-apps-toolkit. A list that omits `x-contentful-timestamp`
// is rejected: Contentful never sends one, and the TTL then protects
// nothing.
//
// `x-contentful-timestamp` is Unix milliseconds; the toolkit's default TTL
// of 30 seconds is the default tolerance. The type is `X-Contentful-Topic`
// ("ContentManagement.Entry.publish"). Contentful sends no delivery ID: the
// event ID is topic:sys.id:sys.version (sys.revision when there is no
// version) from the body, the same for the retries of one delivery and new
// for each change of an entity; empty when the body has no sys.id.
type contentful struct {
	keys      [][]byte
	tolerance time.Duration
}

const contentfulTolerance = 30 * time.Second

// The headers of the scheme, lower-cased as the signed list names them.
const (
	contentfulSignature     = "x-contentful-signature"
	contentfulSignedHeaders = "x-contentful-signed-headers"
	contentfulTimestamp     = "x-contentful-timestamp"
)

func newContentful(cfg Config) (Scheme, error) {
	if err := plainConfig("contentful", cfg); err != nil {
		return nil, err
	}
	for i, s := range cfg.Secrets {
		if len(s) != 64 {
			return nil, fmt.Errorf("provider contentful: secret %d has %d characters; Contentful signing secrets have 64 (Settings → Webhooks → the webhook → Settings tab → Enable request verification shows it once)", i+1, len(s))
		}
	}
	return &contentful{keys: stringKeys(cfg.Secrets), tolerance: toleranceOr(cfg.Tolerance, contentfulTolerance)}, nil
}

// contentfulMeta is what the three scheme headers say.
type contentfulMeta struct {
	sig    []byte
	signed []string // lower-cased header names, as listed
	ts     int64    // Unix milliseconds
}

// parseContentfulHeaders reads the signature, signed-header list and
// timestamp; every failure is a *VerifyError.
func parseContentfulHeaders(h http.Header) (contentfulMeta, error) {
	var m contentfulMeta
	v := header(h, contentfulSignature)
	if v == "" {
		return m, missing(contentfulSignature)
	}
	sig, ok := decodeHex(v)
	if !ok || len(sig) != sha256.Size {
		return m, Reject(ReasonMalformedHeader, "%s is not 64 hex digits", contentfulSignature)
	}
	m.sig = sig
	list := header(h, contentfulSignedHeaders)
	if list == "" {
		return m, Reject(ReasonMalformedHeader, "no %s header: the signature cannot be checked without the list of signed headers", contentfulSignedHeaders)
	}
	for _, name := range strings.Split(list, ",") {
		if name = strings.ToLower(strings.TrimSpace(name)); name != "" && !slices.Contains(m.signed, name) {
			m.signed = append(m.signed, name)
		}
	}
	if !slices.Contains(m.signed, contentfulTimestamp) {
		return m, Reject(ReasonMalformedHeader, "%s does not name %s: the timestamp must be signed", contentfulSignedHeaders, contentfulTimestamp)
	}
	ts := header(h, contentfulTimestamp)
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ms <= 0 {
		return m, Reject(ReasonMalformedHeader, "%s %q is not Unix milliseconds", contentfulTimestamp, truncate(ts, 32))
	}
	m.ts = ms
	return m, nil
}

// contentfulString is the string Contentful signs for a request with the
// given method, path (and query), headers and body, per the metadata.
func contentfulString(method, path string, h http.Header, m contentfulMeta, body []byte) []byte {
	type kv struct{ k, v string }
	names := []string{contentfulSignedHeaders, contentfulTimestamp}
	var pairs []kv
	for name, vals := range h {
		lower := strings.ToLower(name)
		if lower == contentfulSignedHeaders || lower == contentfulTimestamp || !slices.Contains(m.signed, lower) || slices.Contains(names, lower) {
			// (the last: a hand-built Header with one name in two cases)
			continue
		}
		names = append(names, lower)
		pairs = append(pairs, kv{lower, strings.TrimSpace(strings.Join(vals, ", "))})
	}
	slices.Sort(names)
	pairs = append(pairs, kv{contentfulSignedHeaders, strings.Join(names, ",")}, kv{contentfulTimestamp, strconv.FormatInt(m.ts, 10)})
	slices.SortFunc(pairs, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	var sb strings.Builder
	sb.WriteString(method)
	sb.WriteByte('\n')
	sb.WriteString(contentfulPath(path))
	sb.WriteByte('\n')
	for i, p := range pairs {
		if i > 0 {
			sb.WriteByte(';')
		}
		sb.WriteString(p.k)
		sb.WriteByte(':')
		sb.WriteString(p.v)
	}
	sb.WriteByte('\n')
	sb.Write(body)
	return []byte(sb.String())
}

// contentfulPath normalises a path with its query the way the toolkit's
// getNormalizedEncodedURI does: split at the first '?' (anything after a
// second '?' is dropped, as JavaScript's split does), escape the query as a
// URI component, then the whole as a URI.
func contentfulPath(p string) string {
	parts := strings.SplitN(p, "?", 3)
	if len(parts) > 1 && parts[1] != "" {
		return jsEscape(parts[0]+"?"+jsEscape(parts[1], componentSafe), uriSafe)
	}
	return jsEscape(parts[0], uriSafe)
}

// The bytes JavaScript's encodeURIComponent (and Node's querystring.escape)
// and encodeURI leave as they are.
const (
	componentSafe = "-_.!~*'()"
	uriSafe       = componentSafe + ";,/?:@&=+$#"
)

// jsEscape percent-encodes every byte of s but ASCII letters, digits and
// those in safe, with upper-case hex, as JavaScript's encoders do for
// UTF-8 text.
func jsEscape(s, safe string) string {
	const hexDigits = "0123456789ABCDEF"
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(safe, c) >= 0 {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hexDigits[c>>4])
		sb.WriteByte(hexDigits[c&15])
	}
	return sb.String()
}

// requestPath is the path and query of the URL the provider called, as
// sent (escaped).
func requestPath(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "/"
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}

func (s *contentful) Verify(r *Request) (Result, error) {
	m, err := parseContentfulHeaders(r.Header)
	if err != nil {
		return Result{}, err
	}
	msg := contentfulString(r.Method, requestPath(r.URL), r.Header, m, r.Body)
	if !matchAny(macs(sha256.New, s.keys, msg), [][]byte{m.sig}) {
		return Result{}, mismatch(len(s.keys))
	}
	if err := checkTimestamp(time.UnixMilli(m.ts), r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	topic := header(r.Header, "X-Contentful-Topic")
	res := Result{EventType: topic}
	if len(r.Body) == 0 {
		return res, nil // GET and DELETE webhooks carry no body
	}
	// Only sys is decoded (a typed decode: an entry's fields can be large).
	var doc struct {
		Sys struct {
			ID       any `json:"id"`
			Version  any `json:"version"`
			Revision any `json:"revision"`
		} `json:"sys"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		res.Malformed = true
		return res, nil
	}
	id, ver := scalarString(doc.Sys.ID), scalarString(doc.Sys.Version)
	if ver == "" {
		ver = scalarString(doc.Sys.Revision)
	}
	if id != "" && ver != "" {
		res.EventID = topic + ":" + id + ":" + ver
	}
	return res, nil
}

// Sign sets the three headers for a POST to url, signing the timestamp and
// the signed-header list only (Contentful adds the webhook's own headers
// when configured to).
func (s *contentful) Sign(h http.Header, rawURL string, body []byte, now time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("contentful: no secret")
	}
	m := contentfulMeta{signed: []string{contentfulSignedHeaders, contentfulTimestamp}, ts: now.UnixMilli()}
	h.Set(contentfulSignedHeaders, contentfulSignedHeaders+","+contentfulTimestamp)
	h.Set(contentfulTimestamp, strconv.FormatInt(m.ts, 10))
	sig := mac(sha256.New, s.keys[0], contentfulString(http.MethodPost, requestPath(rawURL), h, m, body))
	h.Set(contentfulSignature, hex.EncodeToString(sig))
	return nil
}
