package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// calendly verifies Calendly webhooks: `Calendly-Webhook-Signature:
// t=<unix>,v1=<hex>`, v1 the HMAC-SHA256 of "<t>.<raw body>" keyed with the
// webhook subscription's signing key. Calendly's own guide rejects
// timestamps older than three minutes; that is the default tolerance here.
// Calendly sends no event ID, so its events are not deduplicated.
type calendly struct {
	keys      [][]byte
	tolerance time.Duration
}

// calendlyTolerance is the tolerance Calendly's verification guide uses.
const calendlyTolerance = 3 * time.Minute

func newCalendly(cfg Config) (Scheme, error) {
	if err := plainConfig("calendly", cfg); err != nil {
		return nil, err
	}
	return &calendly{keys: stringKeys(cfg.Secrets), tolerance: toleranceOr(cfg.Tolerance, calendlyTolerance)}, nil
}

// parseCalendlySignature splits a Calendly-Webhook-Signature header into its
// timestamp and v1 signatures.
func parseCalendlySignature(v string) (ts string, sigs [][]byte, err error) {
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return "", nil, Reject(ReasonMalformedHeader, "Calendly-Webhook-Signature entry %q has no '='", truncate(part, 16))
		}
		switch k {
		case "t":
			ts = val
		case "v1":
			b, ok := decodeHex(val)
			if !ok {
				return "", nil, Reject(ReasonMalformedHeader, "Calendly-Webhook-Signature v1 is not hex")
			}
			sigs = append(sigs, b)
		}
	}
	if ts == "" {
		return "", nil, Reject(ReasonMalformedHeader, "Calendly-Webhook-Signature has no t")
	}
	if len(sigs) == 0 {
		return "", nil, Reject(ReasonUnknownVersion, "Calendly-Webhook-Signature has no v1 signature")
	}
	return ts, sigs, nil
}

func (s *calendly) Verify(r *Request) (Result, error) {
	v := header(r.Header, "Calendly-Webhook-Signature")
	if v == "" {
		return Result{}, missing("Calendly-Webhook-Signature")
	}
	ts, sigs, err := parseCalendlySignature(v)
	if err != nil {
		return Result{}, err
	}
	t, err := parseUnix(ts)
	if err != nil {
		return Result{}, err
	}
	matched := false
	for _, k := range s.keys {
		if matchAny([][]byte{mac(sha256.New, k, []byte(ts), []byte("."), r.Body)}, sigs) {
			matched = true
			break
		}
	}
	if !matched {
		return Result{}, mismatch(len(s.keys))
	}
	if err := checkTimestamp(t, r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		return Result{Malformed: true}, nil
	}
	return Result{EventType: jsonString(doc, "event")}, nil
}

// Sign sets Calendly-Webhook-Signature for body at now.
func (s *calendly) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("calendly: no secret")
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set("Calendly-Webhook-Signature", "t="+ts+",v1="+hex.EncodeToString(mac(sha256.New, s.keys[0], []byte(ts), []byte("."), body)))
	return nil
}
