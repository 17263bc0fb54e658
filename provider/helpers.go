package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// This file holds small helpers shared by the provider files of the second
// half of the catalogue (twilio ... zendesk): header lookup, signature
// decoding, JSON field extraction for event IDs and types.

// header returns the trimmed value of the first header named name.
func header(h http.Header, name string) string {
	return strings.TrimSpace(h.Get(name))
}

// decodeHex decodes a hex signature, accepting either case.
func decodeHex(s string) ([]byte, bool) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	return b, err == nil && len(b) > 0
}

// hexHeader reads the hex signature in header name: missing(shown) when it
// is absent, "<shown> is not hex" (malformed) when it does not decode.
func hexHeader(h http.Header, name, shown string) ([]byte, error) {
	v := header(h, name)
	if v == "" {
		return nil, missing(shown)
	}
	sig, ok := decodeHex(v)
	if !ok {
		return nil, Reject(ReasonMalformedHeader, "%s is not hex", shown)
	}
	return sig, nil
}

// decodeBase64 decodes a standard (padded) base64 signature. Providers that
// use base64 all send the padded standard alphabet; the unpadded form is
// accepted too because some proxies strip '='.
func decodeBase64(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	return b, err == nil && len(b) > 0
}

// plainConfig checks the config of a scheme that takes secrets and no
// options.
func plainConfig(name string, cfg Config) error {
	if err := requireSecrets(name, cfg.Secrets); err != nil {
		return err
	}
	return noOptions(name, cfg.Options)
}

// equalString compares two strings in constant time whatever their lengths,
// by comparing their SHA-256 digests (for plain tokens such as GitLab's).
func equalString(a, b string) bool {
	ha := sha256.Sum256([]byte(a))
	hb := sha256.Sum256([]byte(b))
	return equal(ha[:], hb[:])
}

// jsonObject parses body as a JSON object, keeping numbers exact.
func jsonObject(body []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// jsonArray parses body as a JSON array of objects, keeping numbers exact.
func jsonArray(body []byte) ([]map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var a []map[string]any
	if err := dec.Decode(&a); err != nil {
		return nil, false
	}
	return a, true
}

// jsonString returns the string or number found at a dotted path in doc
// ("event.id"), or "" when there is none.
func jsonString(doc map[string]any, path string) string {
	var cur any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[k]
	}
	switch v := cur.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// batchID derives one event ID for a request that carries a batch of
// events (HubSpot, SendGrid): the single event's own ID when there is one,
// else a digest of all the IDs in order, so a retried batch dedupes and a
// different batch does not. It returns "" when any event lacks an ID.
func batchID(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	for _, id := range ids {
		if id == "" {
			return ""
		}
	}
	if len(ids) == 1 {
		return ids[0]
	}
	sum := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	return "batch:" + hex.EncodeToString(sum[:16])
}

// batchType is the common type of a batch of events, or "batch" when they
// differ.
func batchType(types []string) string {
	if len(types) == 0 {
		return ""
	}
	for _, t := range types[1:] {
		if t != types[0] {
			return "batch"
		}
	}
	return types[0]
}

// toleranceOr returns the configured tolerance, or def when none is set.
func toleranceOr(cfg time.Duration, def time.Duration) time.Duration {
	if cfg == 0 {
		return def
	}
	return cfg
}

// missing is the rejection for a request without the named signature header.
func missing(name string) error {
	return Reject(ReasonMissingSignature, "no %s header", name)
}

// mismatch is the rejection when no configured secret produced the signature.
func mismatch(n int) error {
	return Reject(ReasonBadSignature, "signature matches none of the %d configured secret(s)", n)
}
