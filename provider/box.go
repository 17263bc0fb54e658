package provider

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// box verifies Box webhooks (v2). Box sends two signatures,
// `BOX-SIGNATURE-PRIMARY` and `BOX-SIGNATURE-SECONDARY`, each the base64
// HMAC-SHA256 of the raw body followed by the `BOX-DELIVERY-TIMESTAMP`
// header (RFC 3339), keyed with the app's primary and secondary signature
// key; configure both keys as secrets (either may match either header, so
// rotating one key at a time never drops a delivery). Box's SDKs reject a
// delivery timestamp older than ten minutes: that is the default tolerance.
// The event ID is the body's id, the type its trigger ("FILE.UPLOADED").
type box struct {
	keys      [][]byte
	tolerance time.Duration
}

const boxTolerance = 10 * time.Minute

var boxMAC = bodyMAC{hash: sha256.New, base64: true}

func newBox(cfg Config) (Scheme, error) {
	if err := plainConfig("box", cfg); err != nil {
		return nil, err
	}
	return &box{keys: stringKeys(cfg.Secrets), tolerance: toleranceOr(cfg.Tolerance, boxTolerance)}, nil
}

func (s *box) Verify(r *Request) (Result, error) {
	primary := header(r.Header, "BOX-SIGNATURE-PRIMARY")
	secondary := header(r.Header, "BOX-SIGNATURE-SECONDARY")
	if primary == "" && secondary == "" {
		return Result{}, missing("BOX-SIGNATURE-PRIMARY")
	}
	if v := header(r.Header, "BOX-SIGNATURE-VERSION"); v != "" && v != "1" {
		return Result{}, Reject(ReasonUnknownVersion, "BOX-SIGNATURE-VERSION is %q, only 1 is known", truncate(v, 8))
	}
	if a := header(r.Header, "BOX-SIGNATURE-ALGORITHM"); a != "" && !strings.EqualFold(a, "HmacSHA256") {
		return Result{}, Reject(ReasonUnknownVersion, "BOX-SIGNATURE-ALGORITHM is %q, only HmacSHA256 is known", truncate(a, 16))
	}
	rawTS := header(r.Header, "BOX-DELIVERY-TIMESTAMP")
	ts, err := time.Parse(time.RFC3339, rawTS)
	if err != nil {
		return Result{}, Reject(ReasonMalformedHeader, "BOX-DELIVERY-TIMESTAMP %q is not an RFC 3339 time", truncate(rawTS, 40))
	}
	var sigs [][]byte
	for _, v := range []string{primary, secondary} {
		if b, ok := decodeBase64(v); ok {
			sigs = append(sigs, b)
		}
	}
	if len(sigs) == 0 {
		return Result{}, Reject(ReasonMalformedHeader, "neither BOX-SIGNATURE-PRIMARY nor BOX-SIGNATURE-SECONDARY is base64")
	}
	if !matchAny(macs(sha256.New, s.keys, r.Body, []byte(rawTS)), sigs) {
		return Result{}, mismatch(len(s.keys))
	}
	if err := checkTimestamp(ts, r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		return Result{Malformed: true}, nil
	}
	return Result{EventID: jsonString(doc, "id"), EventType: jsonString(doc, "trigger")}, nil
}

// Sign sets the Box headers: the first key signs as primary, the second
// (when configured) as secondary.
func (s *box) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("box: no secret")
	}
	ts := now.UTC().Format(time.RFC3339)
	h.Set("BOX-DELIVERY-TIMESTAMP", ts)
	h.Set("BOX-SIGNATURE-VERSION", "1")
	h.Set("BOX-SIGNATURE-ALGORITHM", "HmacSHA256")
	h.Set("BOX-SIGNATURE-PRIMARY", boxMAC.sign(s.keys[0], body, []byte(ts)))
	if len(s.keys) > 1 {
		h.Set("BOX-SIGNATURE-SECONDARY", boxMAC.sign(s.keys[1], body, []byte(ts)))
	}
	return nil
}
