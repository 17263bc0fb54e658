package provider

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"time"
)

// sendgrid verifies SendGrid's Signed Event Webhook:
// `X-Twilio-Email-Event-Webhook-Signature` is a base64 ASN.1 ECDSA P-256
// signature over SHA-256 of the `X-Twilio-Email-Event-Webhook-Timestamp`
// value followed by the raw body. Secrets are verification keys as SendGrid
// shows them (base64 of the DER public key; PEM is accepted too). SendGrid
// holds the private key, so there is no Signer.
type sendgrid struct {
	keys      []*ecdsa.PublicKey
	tolerance time.Duration
}

func newSendGrid(cfg Config) (Scheme, error) {
	if err := plainConfig("sendgrid", cfg); err != nil {
		return nil, err
	}
	s := &sendgrid{tolerance: cfg.Tolerance}
	for i, k := range cfg.Secrets {
		pub, err := parseECDSAPublicKey(k)
		if err != nil {
			return nil, fmt.Errorf("provider sendgrid: secret %d: %w", i+1, err)
		}
		s.keys = append(s.keys, pub)
	}
	return s, nil
}

// parseECDSAPublicKey reads a P-256 public key given as base64 DER (SPKI) or
// PEM.
func parseECDSAPublicKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		der = block.Bytes
	} else {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("verification key is neither PEM nor base64")
		}
		der = b
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("verification key is not a public key: %w", err)
	}
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("verification key is not an ECDSA key")
	}
	return pub, nil
}

func (s *sendgrid) Verify(r *Request) (Result, error) {
	v := header(r.Header, "X-Twilio-Email-Event-Webhook-Signature")
	if v == "" {
		return Result{}, missing("X-Twilio-Email-Event-Webhook-Signature")
	}
	sig, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return Result{}, Reject(ReasonMalformedHeader, "X-Twilio-Email-Event-Webhook-Signature is not base64")
	}
	ts := header(r.Header, "X-Twilio-Email-Event-Webhook-Timestamp")
	if ts == "" {
		return Result{}, Reject(ReasonMalformedHeader, "no X-Twilio-Email-Event-Webhook-Timestamp header")
	}
	t, err := parseUnix(ts)
	if err != nil {
		return Result{}, err
	}
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(r.Body)
	digest := h.Sum(nil)
	matched := false
	for _, k := range s.keys {
		if ecdsa.VerifyASN1(k, digest, sig) {
			matched = true
			break
		}
	}
	if !matched {
		return Result{}, Reject(ReasonBadSignature, "signature matches none of the %d configured verification key(s)", len(s.keys))
	}
	if err := checkTimestamp(t, r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	events, ok := jsonArray(r.Body)
	if !ok {
		return Result{Malformed: true}, nil
	}
	ids := make([]string, len(events))
	types := make([]string, len(events))
	for i, e := range events {
		ids[i] = jsonString(e, "sg_event_id")
		types[i] = jsonString(e, "event")
	}
	return Result{EventID: batchID(ids), EventType: batchType(types)}, nil
}
