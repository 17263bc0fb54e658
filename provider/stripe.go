package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// stripeHeader is the header Stripe signs its webhooks in.
const stripeHeader = "Stripe-Signature"

// stripeScheme verifies Stripe's `Stripe-Signature: t=...,v1=...` header:
// HMAC-SHA256, hex, over "{t}.{body}", keyed with the whole `whsec_...`
// string (Stripe does not base64-decode its secret, unlike Standard Webhooks).
type stripeScheme struct {
	keys      [][]byte
	tolerance time.Duration
}

func newStripe(cfg Config) (Scheme, error) {
	if err := requireSecrets("stripe", cfg.Secrets); err != nil {
		return nil, err
	}
	if err := noOptions("stripe", cfg.Options); err != nil {
		return nil, err
	}
	return &stripeScheme{keys: stringKeys(cfg.Secrets), tolerance: cfg.Tolerance}, nil
}

// stripeSig is a parsed Stripe-Signature header.
type stripeSig struct {
	timestamp int64
	v1        [][]byte // decoded v1 signatures
	badV1     int      // v1 values that were not valid hex
	others    int      // v0 and unknown schemes, ignored
}

// parseStripeSignature parses "t=1492774577,v1=5257a8...,v1=...,v0=...".
// Several v1 entries are sent while a secret is being rolled; v0 (test-mode
// legacy) and unknown keys are ignored. A v1 value that is not hex is skipped
// (another one may still match); the caller decides what "none usable" means.
func parseStripeSignature(header string) (stripeSig, error) {
	var sig stripeSig
	seenT := false
	for _, item := range strings.Split(header, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return sig, Reject(ReasonMalformedHeader, "%s item %q is not key=value", stripeHeader, truncate(item, 16))
		}
		switch k {
		case "t":
			if seenT {
				return sig, Reject(ReasonMalformedHeader, "%s has more than one t=", stripeHeader)
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return sig, Reject(ReasonMalformedHeader, "%s timestamp %q is not a Unix time", stripeHeader, truncate(v, 16))
			}
			sig.timestamp, seenT = n, true
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				sig.badV1++
				continue
			}
			sig.v1 = append(sig.v1, b)
		default:
			sig.others++
		}
	}
	if !seenT {
		return sig, Reject(ReasonMalformedHeader, "%s has no t= timestamp", stripeHeader)
	}
	if len(sig.v1) == 0 {
		if sig.badV1 > 0 {
			return sig, Reject(ReasonMalformedHeader, "%s has no v1 signature in hex", stripeHeader)
		}
		return sig, Reject(ReasonUnknownVersion, "%s has no v1 signature (only v0 or unknown schemes)", stripeHeader)
	}
	return sig, nil
}

// Verify implements Scheme.
func (s *stripeScheme) Verify(r *Request) (Result, error) {
	header := r.Header.Get(stripeHeader)
	if strings.TrimSpace(header) == "" {
		return Result{}, Reject(ReasonMissingSignature, "no %s header", stripeHeader)
	}
	sig, err := parseStripeSignature(header)
	if err != nil {
		return Result{}, err
	}
	ts := []byte(strconv.FormatInt(sig.timestamp, 10))
	if !matchAny(macs(sha256.New, s.keys, ts, []byte("."), r.Body), sig.v1) {
		return Result{}, Reject(ReasonBadSignature, "no v1 signature in %s matches any configured secret", stripeHeader)
	}
	// The timestamp is checked after the signature so that a stale_timestamp
	// rejection always means a genuine but late (or replayed) delivery.
	if err := checkTimestamp(time.Unix(sig.timestamp, 0), r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	var ev struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Livemode *bool  `json:"livemode"`
	}
	if err := json.Unmarshal(r.Body, &ev); err != nil {
		return Result{Malformed: true}, nil
	}
	return Result{EventID: ev.ID, EventType: ev.Type, Test: ev.Livemode != nil && !*ev.Livemode}, nil
}

// Sign implements Signer.
func (s *stripeScheme) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	ts := strconv.FormatInt(now.Unix(), 10)
	m := mac(sha256.New, s.keys[0], []byte(ts), []byte("."), body)
	h.Set(stripeHeader, "t="+ts+",v1="+hex.EncodeToString(m))
	return nil
}
