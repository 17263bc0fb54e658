package provider

import (
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strings"
)

// bodyMAC is the most common recipe: one header holding the HMAC of the raw
// body (optionally followed by a suffix such as a URL or a timestamp),
// keyed with the secret as a plain string, hex or base64, after an optional
// prefix such as "sha256=". Sentry, Bitbucket, Jira, Dropbox, Coinbase,
// Razorpay and WooCommerce sign this way; Trello and Box add a suffix.
type bodyMAC struct {
	header string // e.g. Sentry-Hook-Signature
	prefix string // e.g. "sha256=", matched case-insensitively; "" for none
	hash   func() hash.Hash
	base64 bool // base64 instead of hex
}

// decode parses the header value into the signature bytes.
func (b bodyMAC) decode(v string) ([]byte, error) {
	if b.prefix != "" {
		if len(v) < len(b.prefix) || !strings.EqualFold(v[:len(b.prefix)], b.prefix) {
			if k, _, ok := strings.Cut(v, "="); ok && !strings.ContainsAny(k, " ,") && len(k) <= 16 {
				return nil, Reject(ReasonUnknownVersion, "%s uses %q, not %s", b.header, truncate(k, 16), strings.TrimSuffix(b.prefix, "="))
			}
			return nil, Reject(ReasonMalformedHeader, "%s does not start with %s", b.header, b.prefix)
		}
		v = v[len(b.prefix):]
	}
	var sig []byte
	var ok bool
	if b.base64 {
		sig, ok = decodeBase64(v)
	} else {
		sig, ok = decodeHex(v)
	}
	if !ok {
		enc := "hex"
		if b.base64 {
			enc = "base64"
		}
		return nil, Reject(ReasonMalformedHeader, "%s is not %s", b.header, enc)
	}
	return sig, nil
}

// verify checks r's header against every key over body+suffix.
func (b bodyMAC) verify(r *Request, keys [][]byte, suffix ...[]byte) error {
	v := header(r.Header, b.header)
	if v == "" {
		return missing(b.header)
	}
	sig, err := b.decode(v)
	if err != nil {
		return err
	}
	if !matchAny(macs(b.hash, keys, append([][]byte{r.Body}, suffix...)...), [][]byte{sig}) {
		return mismatch(len(keys))
	}
	return nil
}

// sign returns the header value for body+suffix signed with key.
func (b bodyMAC) sign(key, body []byte, suffix ...[]byte) string {
	m := mac(b.hash, key, append([][]byte{body}, suffix...)...)
	if b.base64 {
		return b.prefix + base64.StdEncoding.EncodeToString(m)
	}
	return b.prefix + hex.EncodeToString(m)
}
