package provider

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
	"time"
)

// hashFunc returns the hash constructor for an algorithm name used in configs
// and headers ("sha1", "sha256", "sha512").
func hashFunc(name string) (func() hash.Hash, error) {
	switch strings.ToLower(name) {
	case "sha1":
		return sha1.New, nil
	case "sha256", "":
		return sha256.New, nil
	case "sha512":
		return sha512.New, nil
	}
	return nil, fmt.Errorf("unknown algorithm %q (use sha1, sha256 or sha512)", name)
}

// mac computes HMAC(key, parts...) with the given hash.
func mac(h func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// equal compares two byte strings in constant time (for equal lengths).
func equal(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}

// checkTimestamp rejects a signed time outside now ± tolerance. A zero
// tolerance means DefaultTolerance; a negative one disables the check.
func checkTimestamp(ts, now time.Time, tolerance time.Duration) error {
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	if tolerance < 0 {
		return nil
	}
	if d := now.Sub(ts); d > tolerance {
		return Reject(ReasonStaleTimestamp, "timestamp %s is %s old, tolerance is %s", ts.UTC().Format(time.RFC3339), d.Round(time.Second), tolerance)
	} else if -d > tolerance {
		return Reject(ReasonFutureTimestamp, "timestamp %s is %s in the future, tolerance is %s", ts.UTC().Format(time.RFC3339), (-d).Round(time.Second), tolerance)
	}
	return nil
}

// parseUnix parses a decimal Unix timestamp in seconds.
func parseUnix(s string) (time.Time, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return time.Time{}, Reject(ReasonMalformedHeader, "timestamp %q is not a Unix time", truncate(s, 32))
	}
	return time.Unix(n, 0), nil
}

// truncate shortens s for use in an error detail.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// matchAny reports whether any of the given signatures equals any of the
// expected ones. Each comparison is constant-time; the loop stops only after
// a match, which tells an attacker nothing he did not already send.
func matchAny(expected, given [][]byte) bool {
	for _, e := range expected {
		for _, g := range given {
			if equal(e, g) {
				return true
			}
		}
	}
	return false
}

// macMatches reports whether HMAC(key, parts...) equals sig (constant-time,
// via equal) for any of keys, trying them in order and stopping at the
// first that matches.
func macMatches(h func() hash.Hash, keys [][]byte, sig []byte, parts ...[]byte) bool {
	for _, k := range keys {
		if equal(mac(h, k, parts...), sig) {
			return true
		}
	}
	return false
}

// macs computes HMAC(key, parts...) for every key, in order.
func macs(h func() hash.Hash, keys [][]byte, parts ...[]byte) [][]byte {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = mac(h, k, parts...)
	}
	return out
}

// stringKeys returns the secrets as raw byte keys (providers that use the
// secret string itself as the HMAC key: Stripe, GitHub, Shopify, Slack).
func stringKeys(secrets []string) [][]byte {
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		keys[i] = []byte(s)
	}
	return keys
}

// jsonTopStrings decodes body as a JSON object and returns the string values
// of the named top-level fields (missing or non-string fields are ""). ok is
// false when body is not a JSON object: the caller marks the event Malformed.
func jsonTopStrings(body []byte, fields ...string) (vals []string, ok bool) {
	var obj map[string]json.RawMessage
	vals = make([]string, len(fields))
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return vals, false
	}
	for i, f := range fields {
		if raw, found := obj[f]; found {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				vals[i] = s
			}
		}
	}
	return vals, true
}

// requireSecrets rejects a config with no secret or an empty one. New checks
// this too; factories repeat it because Info.New can be called directly.
func requireSecrets(name string, secrets []string) error {
	if len(secrets) == 0 {
		return fmt.Errorf("provider %s: at least one secret is required", name)
	}
	for i, s := range secrets {
		if s == "" {
			return fmt.Errorf("provider %s: secret %d is empty", name, i+1)
		}
	}
	return nil
}

// checkOptions rejects option keys the scheme does not know, naming the
// first one (sorted) so a typo in the config file is easy to find.
func checkOptions(name string, opts map[string]string, known ...string) error {
	var unknown []string
	for k := range opts {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	if len(known) == 0 {
		return fmt.Errorf("provider %s: unknown option %q (this provider takes no options)", name, unknown[0])
	}
	return fmt.Errorf("provider %s: unknown option %q (known: %s)", name, unknown[0], strings.Join(known, ", "))
}

// noOptions is checkOptions for schemes that take no options.
func noOptions(name string, opts map[string]string) error {
	return checkOptions(name, opts)
}
