package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// zoom verifies Zoom webhooks: `x-zm-signature: v0=<hex>`, the HMAC-SHA256 of
// "v0:<x-zm-request-timestamp>:<raw body>" keyed with the app's secret
// token. An `endpoint.url_validation` request is answered, after
// verification, with {plainToken, encryptedToken}, encryptedToken being the
// hex HMAC-SHA256 of plainToken under the secret that verified the request.
// Zoom sends no event ID, so its events are not deduplicated.
type zoom struct {
	keys      [][]byte
	tolerance time.Duration
}

func newZoom(cfg Config) (Scheme, error) {
	if err := plainConfig("zoom", cfg); err != nil {
		return nil, err
	}
	return &zoom{keys: stringKeys(cfg.Secrets), tolerance: cfg.Tolerance}, nil
}

func (s *zoom) Verify(r *Request) (Result, error) {
	v := header(r.Header, "X-Zm-Signature")
	if v == "" {
		return Result{}, missing("x-zm-signature")
	}
	hx, ok := strings.CutPrefix(v, "v0=")
	if !ok {
		return Result{}, Reject(ReasonUnknownVersion, "x-zm-signature does not start with v0=")
	}
	sig, ok := decodeHex(hx)
	if !ok {
		return Result{}, Reject(ReasonMalformedHeader, "x-zm-signature is not hex")
	}
	ts := header(r.Header, "X-Zm-Request-Timestamp")
	if ts == "" {
		return Result{}, Reject(ReasonMalformedHeader, "no x-zm-request-timestamp header")
	}
	t, err := parseUnix(ts)
	if err != nil {
		return Result{}, err
	}
	var key []byte
	for _, k := range s.keys {
		if equal(mac(sha256.New, k, []byte("v0:"+ts+":"), r.Body), sig) {
			key = k
			break
		}
	}
	if key == nil {
		return Result{}, mismatch(len(s.keys))
	}
	if err := checkTimestamp(t, r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		return Result{Malformed: true}, nil
	}
	event := jsonString(doc, "event")
	if event == "endpoint.url_validation" {
		plain := jsonString(doc, "payload.plainToken")
		body, _ := json.Marshal(struct {
			PlainToken     string `json:"plainToken"`
			EncryptedToken string `json:"encryptedToken"`
		}{plain, hex.EncodeToString(mac(sha256.New, key, []byte(plain)))})
		return Result{Handshake: &Handshake{Status: http.StatusOK, ContentType: "application/json", Body: body}}, nil
	}
	return Result{EventType: event}, nil
}

// Sign sets x-zm-signature and x-zm-request-timestamp for body at now.
func (s *zoom) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("zoom: no secret")
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set("X-Zm-Request-Timestamp", ts)
	h.Set("X-Zm-Signature", "v0="+hex.EncodeToString(mac(sha256.New, s.keys[0], []byte("v0:"+ts+":"), body)))
	return nil
}
