package provider

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// docusign verifies DocuSign Connect messages with HMAC: one header per
// active Connect key, `X-DocuSign-Signature-1` ... `X-DocuSign-Signature-100`,
// each the base64 HMAC-SHA256 of the raw body keyed with that Connect key.
// A message passes when any header matches any configured key. DocuSign
// signs no timestamp. The type is the body's event ("envelope-completed");
// Connect messages carry no event ID, so they are not deduplicated.
type docusign struct{ keys [][]byte }

// docusignMaxHeaders is the most X-DocuSign-Signature-N headers DocuSign
// sends (one per Connect key, up to 100).
const docusignMaxHeaders = 100

var docusignMAC = bodyMAC{header: "X-DocuSign-Signature-1", hash: sha256.New, base64: true}

func newDocuSign(cfg Config) (Scheme, error) {
	if err := plainConfig("docusign", cfg); err != nil {
		return nil, err
	}
	return &docusign{keys: stringKeys(cfg.Secrets)}, nil
}

// docusignSignatures returns the decodable X-DocuSign-Signature-N values,
// and how many such headers there were.
func docusignSignatures(h http.Header) (sigs [][]byte, present int) {
	for i := 1; i <= docusignMaxHeaders; i++ {
		v := header(h, "X-DocuSign-Signature-"+strconv.Itoa(i))
		if v == "" {
			continue
		}
		present++
		if b, ok := decodeBase64(v); ok {
			sigs = append(sigs, b)
		}
	}
	return sigs, present
}

func (s *docusign) Verify(r *Request) (Result, error) {
	sigs, present := docusignSignatures(r.Header)
	if present == 0 {
		return Result{}, missing("X-DocuSign-Signature-1 (is Include HMAC Signature ticked in the Connect configuration?)")
	}
	if len(sigs) == 0 {
		return Result{}, Reject(ReasonMalformedHeader, "no X-DocuSign-Signature-N header is base64")
	}
	if !matchAny(macs(sha256.New, s.keys, r.Body), sigs) {
		return Result{}, mismatch(len(s.keys))
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		// Connect can send XML (SIM off); the signature still proves it.
		return Result{Malformed: true}, nil
	}
	return Result{EventType: jsonString(doc, "event")}, nil
}

// Sign sets one X-DocuSign-Signature-N header per configured key.
func (s *docusign) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("docusign: no secret")
	}
	for i, k := range s.keys {
		h.Set("X-DocuSign-Signature-"+strconv.Itoa(i+1), docusignMAC.sign(k, body))
	}
	return nil
}
