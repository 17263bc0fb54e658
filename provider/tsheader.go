package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// tsHeader is a signature header of the form
// "<tsKey>=<unix><sep><sigKey>=<hex>[<sep><sigKey>=<hex>...]" whose
// signatures are hex HMAC-SHA256 of "<unix><joiner><raw body>", keyed with
// the secret as a plain string. Paddle Billing and Calendly sign this way;
// several signatures appear while a secret is rotated.
type tsHeader struct {
	name   string // the header, e.g. Paddle-Signature
	sep    string // between entries: ";" or ","
	tsKey  string // "ts" or "t"
	sigKey string // "h1" or "v1"
	joiner string // between timestamp and body in the signed content
}

var (
	paddleHeader   = tsHeader{name: "Paddle-Signature", sep: ";", tsKey: "ts", sigKey: "h1", joiner: ":"}
	calendlyHeader = tsHeader{name: "Calendly-Webhook-Signature", sep: ",", tsKey: "t", sigKey: "v1", joiner: "."}
)

// parse splits the header value into its timestamp and signatures, by the
// rule every timestamped header follows (Stripe's parser too): an entry
// that cannot be one (no '=') and a signature that is not hex are skipped,
// entries with other keys are ignored (versions we do not know), and the
// header is rejected only when no usable signature is left, so that one bad
// entry beside a valid signature does not fail the request.
func (f tsHeader) parse(v string) (ts string, sigs [][]byte, err error) {
	seenTS, bad := false, 0
	for _, part := range strings.Split(v, f.sep) {
		part = strings.TrimSpace(part)
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		switch k {
		case f.tsKey:
			if seenTS {
				return "", nil, Reject(ReasonMalformedHeader, "%s has more than one %s=", f.name, f.tsKey)
			}
			ts, seenTS = val, true
		case f.sigKey:
			b, ok := decodeHex(val)
			if !ok {
				bad++
				continue
			}
			sigs = append(sigs, b)
		}
	}
	if ts == "" {
		return "", nil, Reject(ReasonMalformedHeader, "%s has no %s= timestamp", f.name, f.tsKey)
	}
	if len(sigs) == 0 {
		if bad > 0 {
			return "", nil, Reject(ReasonMalformedHeader, "%s has no %s signature in hex", f.name, f.sigKey)
		}
		return "", nil, Reject(ReasonUnknownVersion, "%s has no %s signature", f.name, f.sigKey)
	}
	return ts, sigs, nil
}

// verify checks r's header against every key, then the timestamp (after the
// signature, so a stale_timestamp rejection always means a genuine request).
func (f tsHeader) verify(r *Request, keys [][]byte, tolerance time.Duration) error {
	v := header(r.Header, f.name)
	if v == "" {
		return missing(f.name)
	}
	ts, sigs, err := f.parse(v)
	if err != nil {
		return err
	}
	t, err := parseUnix(ts)
	if err != nil {
		return err
	}
	if !matchAny(macs(sha256.New, keys, []byte(ts), []byte(f.joiner), r.Body), sigs) {
		return mismatch(len(keys))
	}
	return checkTimestamp(t, r.Now, tolerance)
}

// sign returns the header value for body at now, signed with key.
func (f tsHeader) sign(key, body []byte, now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	return f.tsKey + "=" + ts + f.sep + f.sigKey + "=" + hex.EncodeToString(mac(sha256.New, key, []byte(ts), []byte(f.joiner), body))
}
