package provider

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Standard Webhooks' asymmetric signatures: the sender signs
// "{id}.{timestamp}.{body}" with Ed25519 and sends it as a "v1a,<base64>"
// entry of webhook-signature; receivers hold the public key, written
// "whpk_<base64 of the 32-byte key>". The standardwebhooks provider uses this
// for secrets with the whpk_ prefix and the HMAC scheme for whsec_ ones, so
// a source can list both while a sender moves from one to the other.

// whpkPrefix marks a Standard Webhooks public key.
const whpkPrefix = "whpk_"

// parseStandardPublicKey decodes "whpk_<base64>" into an Ed25519 key.
func parseStandardPublicKey(s string) (ed25519.PublicKey, error) {
	b64 := strings.TrimPrefix(strings.TrimSpace(s), whpkPrefix)
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(b64)
	}
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("not a whpk_ public key (base64 of 32 bytes after the prefix)")
	}
	return ed25519.PublicKey(b), nil
}

// parseV1aSignatures returns the decoded v1a entries of a webhook-signature
// header, and how many entries were garbled v1a ones.
func parseV1aSignatures(v string) (sigs [][]byte, bad int) {
	for _, entry := range strings.Fields(v) {
		version, value, ok := strings.Cut(entry, ",")
		if !ok || version != "v1a" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(value)
		if err != nil || len(b) != ed25519.SignatureSize {
			bad++
			continue
		}
		sigs = append(sigs, b)
	}
	return sigs, bad
}

// standardV1a verifies v1a signatures with public keys.
type standardV1a struct {
	keys      []ed25519.PublicKey
	tolerance time.Duration
}

func (s *standardV1a) Verify(r *Request) (Result, error) {
	h, err := readSWHeaders(r)
	if err != nil {
		return Result{}, err
	}
	fam, ts := h.fam, h.ts
	sigs, bad := parseV1aSignatures(h.header)
	if len(sigs) == 0 {
		if bad > 0 {
			return Result{}, Reject(ReasonMalformedHeader, "no v1a entry in %s is a base64 Ed25519 signature", fam.signature)
		}
		return Result{}, Reject(ReasonUnknownVersion, "no v1a entry in %s", fam.signature)
	}
	msg := append(h.prefix(), r.Body...)
	matched := false
	for _, k := range s.keys {
		for _, sig := range sigs {
			if ed25519.Verify(k, msg, sig) {
				matched = true
			}
		}
	}
	if !matched {
		return Result{}, Reject(ReasonBadSignature, "no v1a signature in %s matches any configured public key", fam.signature)
	}
	if err := checkTimestamp(ts, r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	vals, ok := jsonTopStrings(r.Body, "type")
	return Result{EventID: h.id, EventType: vals[0], Malformed: !ok}, nil
}

// standardMixed verifies with public keys (v1a) and HMAC secrets (v1),
// whichever the request carries.
type standardMixed struct {
	v1a *standardV1a
	v1  Scheme // nil when only public keys are configured
}

func (s *standardMixed) Verify(r *Request) (Result, error) {
	res, err := s.v1a.Verify(r)
	if err == nil || s.v1 == nil {
		return res, err
	}
	res2, err2 := s.v1.Verify(r)
	if err2 == nil {
		return res2, nil
	}
	// Report the v1a failure unless the request carried no v1a signature.
	if ReasonOf(err) == ReasonUnknownVersion {
		return res2, err2
	}
	return res, err
}

// newStandardWebhooksAny builds the standardwebhooks scheme: the HMAC one
// when every secret is a whsec_ secret, else one that also (or only)
// checks v1a signatures with the whpk_ public keys. It cannot sign with a
// public key, so the mixed scheme has no Signer.
func newStandardWebhooksAny(cfg Config) (Scheme, error) {
	var pub, sym []string
	for _, s := range cfg.Secrets {
		if strings.HasPrefix(strings.TrimSpace(s), whpkPrefix) {
			pub = append(pub, s)
		} else {
			sym = append(sym, s)
		}
	}
	if len(pub) == 0 {
		return newStandardWebhooks(cfg)
	}
	if err := noOptions("standardwebhooks", cfg.Options); err != nil {
		return nil, err
	}
	v1a := &standardV1a{tolerance: cfg.Tolerance}
	for i, s := range pub {
		k, err := parseStandardPublicKey(s)
		if err != nil {
			return nil, fmt.Errorf("provider standardwebhooks: public key %d: %w", i+1, err)
		}
		v1a.keys = append(v1a.keys, k)
	}
	m := &standardMixed{v1a: v1a}
	if len(sym) > 0 {
		c := cfg
		c.Secrets = sym
		v1, err := newStandardWebhooks(c)
		if err != nil {
			return nil, err
		}
		m.v1 = v1
	}
	return m, nil
}
