package provider

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// swHeaders names the three Standard Webhooks headers in one family.
type swHeaders struct{ id, timestamp, signature string }

var (
	swUnbranded = swHeaders{"webhook-id", "webhook-timestamp", "webhook-signature"}
	swSvix      = swHeaders{"svix-id", "svix-timestamp", "svix-signature"}
)

// standardScheme verifies Standard Webhooks (standardwebhooks.com), which is
// also what Svix sends (with `svix-` instead of `webhook-` headers; both
// families are accepted under either name). The signature is HMAC-SHA256 over
// "{id}.{timestamp}.{body}", base64, sent as a space-separated list of
// "v1,<sig>" entries; the key is the base64 that follows `whsec_`.
type standardScheme struct {
	name      string
	keys      [][]byte
	tolerance time.Duration
	sign      swHeaders // the family Sign writes
}

func newStandardWebhooks(cfg Config) (Scheme, error) {
	return newStandard("standardwebhooks", swUnbranded, cfg)
}

func newSvix(cfg Config) (Scheme, error) {
	return newStandard("svix", swSvix, cfg)
}

func newStandard(name string, sign swHeaders, cfg Config) (Scheme, error) {
	if err := requireSecrets(name, cfg.Secrets); err != nil {
		return nil, err
	}
	if err := noOptions(name, cfg.Options); err != nil {
		return nil, err
	}
	s := &standardScheme{name: name, tolerance: cfg.Tolerance, sign: sign}
	for i, secret := range cfg.Secrets {
		key, err := decodeStandardSecret(secret)
		if err != nil {
			// The secret itself is never echoed.
			return nil, fmt.Errorf("provider %s: secret %d: %w", name, i+1, err)
		}
		s.keys = append(s.keys, key)
	}
	return s, nil
}

// decodeStandardSecret turns "whsec_<base64>" (or the bare base64) into the
// HMAC key.
func decodeStandardSecret(secret string) ([]byte, error) {
	b64 := strings.TrimPrefix(strings.TrimSpace(secret), "whsec_")
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(b64)
	}
	if err != nil {
		return nil, fmt.Errorf("not base64 after the whsec_ prefix (copy the whole signing secret from the provider)")
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("empty key after the whsec_ prefix")
	}
	return key, nil
}

// swSigList is a parsed webhook-signature header.
type swSigList struct {
	v1      [][]byte // decoded v1 signatures
	badV1   int      // v1 entries whose value is not a base64 SHA-256 digest
	other   int      // well-formed entries of other versions (v1a, v2...), skipped
	garbled int      // entries without a "version," prefix
}

// parseSignatureList parses "v1,<base64> v1,<base64> v1a,<base64>". It only
// fails when no v1 signature is usable: unknown_version when there were none
// at all, malformed_header when the v1 entries (or all entries) were garbled.
func parseSignatureList(header string) (swSigList, error) {
	var l swSigList
	for _, entry := range strings.Fields(header) {
		version, value, ok := strings.Cut(entry, ",")
		if !ok || version == "" {
			l.garbled++
			continue
		}
		if version != "v1" {
			l.other++
			continue
		}
		b, err := base64.StdEncoding.DecodeString(value)
		if err != nil || len(b) != sha256.Size {
			l.badV1++
			continue
		}
		l.v1 = append(l.v1, b)
	}
	switch {
	case len(l.v1) > 0:
		return l, nil
	case l.badV1 > 0:
		return l, Reject(ReasonMalformedHeader, "no v1 entry in the signature header is a base64 SHA-256 signature")
	case l.other > 0:
		return l, Reject(ReasonUnknownVersion, "no v1 entry in the signature header (only %d of other versions)", l.other)
	default:
		return l, Reject(ReasonMalformedHeader, "signature header has no version,signature entry")
	}
}

// swSigned is what both Standard Webhooks schemes (HMAC v1 and Ed25519 v1a)
// read from a request before checking its signature.
type swSigned struct {
	fam    swHeaders // the header family in use (webhook- or svix-)
	header string    // the raw signature header
	id     string
	rawTS  string
	ts     time.Time
}

// prefix is the "{id}.{timestamp}." that precedes the body in the signed
// message.
func (h swSigned) prefix() []byte { return []byte(h.id + "." + h.rawTS + ".") }

// readSWHeaders picks the header family (webhook- first, then svix-) and
// reads and checks the signature, id and timestamp headers.
func readSWHeaders(r *Request) (swSigned, error) {
	fam := swUnbranded
	if strings.TrimSpace(r.Header.Get(fam.signature)) == "" {
		fam = swSvix
	}
	header := r.Header.Get(fam.signature)
	if strings.TrimSpace(header) == "" {
		return swSigned{}, Reject(ReasonMissingSignature, "no webhook-signature or svix-signature header")
	}
	id := r.Header.Get(fam.id)
	rawTS := strings.TrimSpace(r.Header.Get(fam.timestamp))
	if id == "" || rawTS == "" {
		return swSigned{}, Reject(ReasonMalformedHeader, "%s is set but %s or %s is missing", fam.signature, fam.id, fam.timestamp)
	}
	ts, err := parseUnix(rawTS)
	if err != nil {
		return swSigned{}, err
	}
	return swSigned{fam: fam, header: header, id: id, rawTS: rawTS, ts: ts}, nil
}

// Verify implements Scheme.
func (s *standardScheme) Verify(r *Request) (Result, error) {
	h, err := readSWHeaders(r)
	if err != nil {
		return Result{}, err
	}
	fam, ts := h.fam, h.ts
	sigs, err := parseSignatureList(h.header)
	if err != nil {
		return Result{}, err
	}
	if !matchAny(macs(sha256.New, s.keys, h.prefix(), r.Body), sigs.v1) {
		return Result{}, Reject(ReasonBadSignature, "no v1 signature in %s matches any configured secret", fam.signature)
	}
	if err := checkTimestamp(ts, r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	vals, ok := jsonTopStrings(r.Body, "type")
	return Result{EventID: h.id, EventType: vals[0], Malformed: !ok}, nil
}

// Sign implements Signer. It keeps a message ID already set on h (under
// either header family) and otherwise makes one up, as the ID is signed.
func (s *standardScheme) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	id := h.Get(s.sign.id)
	if id == "" {
		id = h.Get(swUnbranded.id)
	}
	if id == "" {
		id = h.Get(swSvix.id)
	}
	if id == "" {
		var b [12]byte
		rand.Read(b[:])
		id = "msg_" + hex.EncodeToString(b[:])
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	m := mac(sha256.New, s.keys[0], []byte(id+"."+ts+"."), body)
	h.Set(s.sign.id, id)
	h.Set(s.sign.timestamp, ts)
	h.Set(s.sign.signature, "v1,"+base64.StdEncoding.EncodeToString(m))
	return nil
}
