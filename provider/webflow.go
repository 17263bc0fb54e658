package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// webflow verifies Webflow webhooks: `x-webflow-signature` is the hex
// HMAC-SHA256 of "<x-webflow-timestamp>:<raw body>", the timestamp in Unix
// MILLISECONDS, keyed with the webhook's secret (or the app's client secret
// for webhooks an OAuth app created). Webflow's guide rejects requests
// older than five minutes (the default tolerance). The type is the body's
// triggerType ("form_submission"); there is no event ID.
type webflow struct {
	keys      [][]byte
	tolerance time.Duration
}

func newWebflow(cfg Config) (Scheme, error) {
	if err := plainConfig("webflow", cfg); err != nil {
		return nil, err
	}
	return &webflow{keys: stringKeys(cfg.Secrets), tolerance: cfg.Tolerance}, nil
}

func (s *webflow) Verify(r *Request) (Result, error) {
	sig, err := hexHeader(r.Header, "X-Webflow-Signature", "x-webflow-signature")
	if err != nil {
		return Result{}, err
	}
	ts := header(r.Header, "X-Webflow-Timestamp")
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Result{}, Reject(ReasonMalformedHeader, "x-webflow-timestamp %q is not Unix milliseconds", truncate(ts, 32))
	}
	if !matchAny(macs(sha256.New, s.keys, []byte(ts+":"), r.Body), [][]byte{sig}) {
		return Result{}, mismatch(len(s.keys))
	}
	if err := checkTimestamp(time.UnixMilli(ms), r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		return Result{Malformed: true}, nil
	}
	return Result{EventType: jsonString(doc, "triggerType")}, nil
}

// Sign sets x-webflow-timestamp and x-webflow-signature.
func (s *webflow) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("webflow: no secret")
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	h.Set("X-Webflow-Timestamp", ts)
	h.Set("X-Webflow-Signature", hex.EncodeToString(mac(sha256.New, s.keys[0], []byte(ts+":"), body)))
	return nil
}
