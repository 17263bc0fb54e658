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

// paddle verifies Paddle Billing webhooks: `Paddle-Signature:
// ts=<unix>;h1=<hex>[;h1=<hex>...]`, each h1 the HMAC-SHA256 of
// "<ts>:<raw body>" keyed with the notification destination's secret key
// (pdl_ntfset_..., used as a plain string). Several h1 appear while a secret
// is rotated.
type paddle struct {
	keys      [][]byte
	tolerance time.Duration
}

func newPaddle(cfg Config) (Scheme, error) {
	if err := plainConfig("paddle", cfg); err != nil {
		return nil, err
	}
	return &paddle{keys: stringKeys(cfg.Secrets), tolerance: cfg.Tolerance}, nil
}

// parsePaddleSignature splits a Paddle-Signature header into its timestamp
// and h1 signatures.
func parsePaddleSignature(v string) (ts string, sigs [][]byte, err error) {
	for _, part := range strings.Split(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return "", nil, Reject(ReasonMalformedHeader, "Paddle-Signature entry %q has no '='", truncate(part, 16))
		}
		switch k {
		case "ts":
			ts = val
		case "h1":
			b, ok := decodeHex(val)
			if !ok {
				return "", nil, Reject(ReasonMalformedHeader, "Paddle-Signature h1 is not hex")
			}
			sigs = append(sigs, b)
		}
	}
	if ts == "" {
		return "", nil, Reject(ReasonMalformedHeader, "Paddle-Signature has no ts")
	}
	if len(sigs) == 0 {
		return "", nil, Reject(ReasonUnknownVersion, "Paddle-Signature has no h1 signature")
	}
	return ts, sigs, nil
}

func (s *paddle) Verify(r *Request) (Result, error) {
	v := header(r.Header, "Paddle-Signature")
	if v == "" {
		return Result{}, missing("Paddle-Signature")
	}
	ts, sigs, err := parsePaddleSignature(v)
	if err != nil {
		return Result{}, err
	}
	t, err := parseUnix(ts)
	if err != nil {
		return Result{}, err
	}
	matched := false
	for _, k := range s.keys {
		if matchAny([][]byte{mac(sha256.New, k, []byte(ts), []byte(":"), r.Body)}, sigs) {
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
	return Result{EventID: jsonString(doc, "event_id"), EventType: jsonString(doc, "event_type")}, nil
}

// Sign sets Paddle-Signature for body at now.
func (s *paddle) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("paddle: no secret")
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set("Paddle-Signature", "ts="+ts+";h1="+hex.EncodeToString(mac(sha256.New, s.keys[0], []byte(ts), []byte(":"), body)))
	return nil
}
