package provider

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// twilio verifies Twilio webhooks: `X-Twilio-Signature` is the base64
// HMAC-SHA1, keyed with the account's auth token, of the full URL Twilio
// called (with its query) followed, for form-encoded POSTs, by every POST
// parameter as name+value, sorted by name. JSON bodies are not signed
// directly: Twilio adds a `bodySHA256` query parameter (hex SHA-256 of the
// body), signs the URL alone, and the body is checked against that hash.
//
// Like Twilio's SDKs, the URL is tried as given and with its port removed
// (or the default port added), since proxies disagree on whether Twilio's URL had one.
// The URL is the source's public_url plus the request's query, so public_url
// must be exactly the URL configured in Twilio. Twilio signs no timestamp.
type twilio struct{ keys [][]byte }

func newTwilio(cfg Config) (Scheme, error) {
	if err := plainConfig("twilio", cfg); err != nil {
		return nil, err
	}
	if _, err := url.Parse(cfg.PublicURL); err != nil {
		return nil, fmt.Errorf("provider twilio: public_url: %w", err)
	}
	return &twilio{keys: stringKeys(cfg.Secrets)}, nil
}

// twilioURLVariants returns raw and raw with its port removed, or with the
// scheme's default port added when it has none.
func twilioURLVariants(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return []string{raw}
	}
	def := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if def == "" {
		return []string{raw}
	}
	v := *u
	if host, _, err := net.SplitHostPort(u.Host); err == nil {
		// Twilio's SDKs strip any port, default or not.
		v.Host = host
	} else {
		v.Host = net.JoinHostPort(u.Host, def)
	}
	return []string{raw, v.String()}
}

// twilioPayload is the string Twilio signs for url and form params.
func twilioPayload(u string, form url.Values) []byte {
	var b strings.Builder
	b.WriteString(u)
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vals := append([]string(nil), form[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	return []byte(b.String())
}

// twilioBodyHash returns the bodySHA256 query parameter of raw, if any.
func twilioBodyHash(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	h := u.Query().Get("bodySHA256")
	return h, h != ""
}

func (s *twilio) Verify(r *Request) (Result, error) {
	v := header(r.Header, "X-Twilio-Signature")
	if v == "" {
		return Result{}, missing("X-Twilio-Signature")
	}
	sig, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(sig) != sha1.Size {
		return Result{}, Reject(ReasonMalformedHeader, "X-Twilio-Signature is not a base64 SHA-1 digest")
	}
	var form url.Values
	bodyHash, isJSON := twilioBodyHash(r.URL)
	if isJSON {
		want, ok := decodeHex(bodyHash)
		got := sha256.Sum256(r.Body)
		if !ok || !equal(want, got[:]) {
			return Result{}, Reject(ReasonBadSignature, "bodySHA256 in the URL does not match the body")
		}
	} else if r.Method == "" || r.Method == http.MethodPost {
		form, err = url.ParseQuery(string(r.Body))
		if err != nil {
			return Result{}, Reject(ReasonBadSignature, "body is neither form-encoded nor covered by a bodySHA256 URL parameter")
		}
	}
	matched := false
	for _, u := range twilioURLVariants(r.URL) {
		payload := twilioPayload(u, form)
		for _, k := range s.keys {
			if equal(mac(sha1.New, k, payload), sig) {
				matched = true
			}
		}
	}
	if !matched {
		return Result{}, Reject(ReasonBadSignature, "signature matches none of the %d auth token(s) for URL %s (is public_url exactly the URL configured in Twilio?)", len(s.keys), truncate(r.URL, 120))
	}
	res := Result{EventID: header(r.Header, "I-Twilio-Idempotency-Token")}
	if isJSON {
		doc, ok := jsonObject(r.Body)
		if !ok {
			res.Malformed = true
			return res, nil
		}
		res.EventType = jsonString(doc, "type")
		return res, nil
	}
	for _, k := range []string{"MessageStatus", "SmsStatus", "CallStatus", "EventType"} {
		if t := form.Get(k); t != "" {
			res.EventType = t
			break
		}
	}
	return res, nil
}

// Sign sets X-Twilio-Signature for body sent to url. When url carries a
// bodySHA256 parameter the body is JSON and only the URL is signed;
// otherwise body must be form-encoded.
func (s *twilio) Sign(h http.Header, u string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("twilio: no secret")
	}
	var form url.Values
	if bh, ok := twilioBodyHash(u); ok {
		sum := sha256.Sum256(body)
		if bh != hex.EncodeToString(sum[:]) {
			return fmt.Errorf("twilio: bodySHA256 in the URL is not the body's SHA-256")
		}
	} else {
		var err error
		if form, err = url.ParseQuery(string(body)); err != nil {
			return fmt.Errorf("twilio: body is not form-encoded and the URL has no bodySHA256: %w", err)
		}
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	h.Set("X-Twilio-Signature", base64.StdEncoding.EncodeToString(mac(sha1.New, s.keys[0], twilioPayload(u, form))))
	return nil
}
