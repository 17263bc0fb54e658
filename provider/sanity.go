package provider

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sanity verifies Sanity GROQ-powered webhooks: `sanity-webhook-signature:
// t=<unix ms>,v1=<base64url>`, v1 the HMAC-SHA256 of "<t>.<raw body>" keyed
// with the webhook's secret, base64url without padding (as @sanity/webhook
// computes it). Entries follow the multi-signature rule (skip what cannot be
// one, reject when none is usable). Timestamp within the tolerance (default
// 5 minutes). The event ID is the `idempotency-key` header, the type
// `sanity-operation` (create, update, delete).
type sanity struct {
	keys      [][]byte
	tolerance time.Duration
}

func newSanity(cfg Config) (Scheme, error) {
	if err := plainConfig("sanity", cfg); err != nil {
		return nil, err
	}
	return &sanity{keys: stringKeys(cfg.Secrets), tolerance: cfg.Tolerance}, nil
}

// parseSanitySignature splits the header into its timestamp and v1
// signatures.
func parseSanitySignature(v string) (ts string, sigs [][]byte, err error) {
	seen, bad := false, 0
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if seen {
				return "", nil, Reject(ReasonMalformedHeader, "sanity-webhook-signature has more than one t=")
			}
			ts, seen = val, true
		case "v1":
			b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(val, "="))
			if err != nil || len(b) == 0 {
				bad++
				continue
			}
			sigs = append(sigs, b)
		}
	}
	if ts == "" {
		return "", nil, Reject(ReasonMalformedHeader, "sanity-webhook-signature has no t= timestamp")
	}
	if len(sigs) == 0 {
		if bad > 0 {
			return "", nil, Reject(ReasonMalformedHeader, "sanity-webhook-signature has no v1 signature in base64url")
		}
		return "", nil, Reject(ReasonUnknownVersion, "sanity-webhook-signature has no v1 signature")
	}
	return ts, sigs, nil
}

func (s *sanity) Verify(r *Request) (Result, error) {
	v := header(r.Header, "Sanity-Webhook-Signature")
	if v == "" {
		return Result{}, missing("sanity-webhook-signature")
	}
	ts, sigs, err := parseSanitySignature(v)
	if err != nil {
		return Result{}, err
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Result{}, Reject(ReasonMalformedHeader, "sanity-webhook-signature t=%q is not Unix milliseconds", truncate(ts, 32))
	}
	if !matchAny(macs(sha256.New, s.keys, []byte(ts+"."), r.Body), sigs) {
		return Result{}, mismatch(len(s.keys))
	}
	if err := checkTimestamp(time.UnixMilli(ms), r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	res := Result{EventID: header(r.Header, "Idempotency-Key"), EventType: header(r.Header, "Sanity-Operation")}
	_, ok := jsonObject(r.Body)
	res.Malformed = !ok
	return res, nil
}

// Sign sets sanity-webhook-signature for body at now.
func (s *sanity) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("sanity: no secret")
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	h.Set("Sanity-Webhook-Signature", "t="+ts+",v1="+base64.RawURLEncoding.EncodeToString(mac(sha256.New, s.keys[0], []byte(ts+"."), body)))
	return nil
}
