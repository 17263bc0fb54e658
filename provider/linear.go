package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// linear verifies Linear webhooks: `Linear-Signature` is the hex HMAC-SHA256
// of the raw body keyed with the webhook's signing secret. The signed time is
// not in a header but in the body's `webhookTimestamp` field (Unix
// milliseconds); Linear's SDK rejects it beyond one minute, which is the
// default tolerance here.
type linear struct {
	keys      [][]byte
	tolerance time.Duration
}

// linearTolerance is the window Linear's SDK allows for webhookTimestamp.
const linearTolerance = time.Minute

func newLinear(cfg Config) (Scheme, error) {
	if err := plainConfig("linear", cfg); err != nil {
		return nil, err
	}
	return &linear{keys: stringKeys(cfg.Secrets), tolerance: toleranceOr(cfg.Tolerance, linearTolerance)}, nil
}

func (s *linear) Verify(r *Request) (Result, error) {
	sig, err := hexHeader(r.Header, "Linear-Signature", "Linear-Signature")
	if err != nil {
		return Result{}, err
	}
	if !macMatches(sha256.New, s.keys, sig, r.Body) {
		return Result{}, mismatch(len(s.keys))
	}
	res := Result{EventID: header(r.Header, "Linear-Delivery"), EventType: header(r.Header, "Linear-Event")}
	doc, ok := jsonObject(r.Body)
	if !ok {
		// The timestamp lives in the body: without it the request cannot
		// be checked for replay, so it is rejected rather than stored.
		return Result{}, Reject(ReasonMalformedHeader, "body is not JSON, so its webhookTimestamp cannot be read")
	}
	ms, err := strconv.ParseInt(jsonString(doc, "webhookTimestamp"), 10, 64)
	if err != nil {
		return Result{}, Reject(ReasonMalformedHeader, "body has no numeric webhookTimestamp")
	}
	if err := checkTimestamp(time.UnixMilli(ms), r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	if t := jsonString(doc, "type"); t != "" {
		res.EventType = t
		if a := jsonString(doc, "action"); a != "" {
			res.EventType = t + "." + a
		}
	}
	return res, nil
}

// Sign sets Linear-Signature for body. The body must already carry its
// webhookTimestamp, as Linear's do.
func (s *linear) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("linear: no secret")
	}
	h.Set("Linear-Signature", hex.EncodeToString(mac(sha256.New, s.keys[0], body)))
	return nil
}
