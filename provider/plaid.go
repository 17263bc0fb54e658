package provider

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// plaid verifies Plaid webhooks. `Plaid-Verification` is a compact JWS
// (a JWT) signed with ES256 by one of Plaid's keys: its header names the
// key (kid), its claims are iat (seconds) and request_body_sha256 (hex
// SHA-256 of the raw body). Secrets are the keys as JWKs, one JSON object
// each, the "key" that /webhook_verification_key/get returns: nothing is
// fetched at verification time, so a webhook signed by a key not configured
// is rejected, naming its kid. Only ES256 is accepted (never "none" nor an
// HMAC algorithm, whatever the header says).
//
// Plaid bodies carry no event ID. The ID is a digest of the JWT's claims
// segment (iat and the body's hash, as Plaid signed them): the same signed
// request sent twice dedupes, while two webhooks with identical bodies
// signed at different times (Plaid sends the same SYNC_UPDATES_AVAILABLE
// body again and again) stay two events. A retry Plaid signs anew gets a
// new ID: sources[].dedupe: body merges those. The type is
// webhook_type.webhook_code ("TRANSACTIONS.SYNC_UPDATES_AVAILABLE");
// environment "sandbox" marks the event as a test.
type plaid struct {
	keys      map[string]plaidKey
	tolerance time.Duration
}

type plaidKey struct {
	pub *ecdsa.PublicKey
	// expiredAt is the JWK's expired_at (zero: not expired): a key Plaid has
	// expired verifies nothing.
	expiredAt time.Time
}

// maxPlaidJWT bounds the Plaid-Verification header parsed (Plaid's are
// about 600 bytes).
const maxPlaidJWT = 4096

// plaidJWK is the part of a JWK read here.
type plaidJWK struct {
	Alg       string          `json:"alg"`
	Kty       string          `json:"kty"`
	Crv       string          `json:"crv"`
	Kid       string          `json:"kid"`
	X         string          `json:"x"`
	Y         string          `json:"y"`
	Use       string          `json:"use"`
	ExpiredAt json.RawMessage `json:"expired_at"`
}

func newPlaid(cfg Config) (Scheme, error) {
	if err := plainConfig("plaid", cfg); err != nil {
		return nil, err
	}
	s := &plaid{keys: map[string]plaidKey{}, tolerance: toleranceOr(cfg.Tolerance, DefaultTolerance)}
	for i, sec := range cfg.Secrets {
		kid, k, err := parsePlaidJWK(sec)
		if err != nil {
			return nil, fmt.Errorf("provider plaid: secret %d: %w", i+1, err)
		}
		if _, dup := s.keys[kid]; dup {
			return nil, fmt.Errorf("provider plaid: secret %d: kid %q is given twice", i+1, kid)
		}
		s.keys[kid] = k
	}
	return s, nil
}

// parsePlaidJWK reads one P-256 public key given as a JWK.
func parsePlaidJWK(s string) (string, plaidKey, error) {
	var j plaidJWK
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&j); err != nil {
		return "", plaidKey{}, fmt.Errorf("not a JSON JWK (give the \"key\" object of /webhook_verification_key/get): %v", err)
	}
	switch {
	case j.Kid == "":
		return "", plaidKey{}, fmt.Errorf("the JWK has no kid")
	case j.Kty != "EC" || j.Crv != "P-256":
		return "", plaidKey{}, fmt.Errorf("JWK %s: kty %q crv %q, want EC P-256", j.Kid, j.Kty, j.Crv)
	case j.Alg != "" && j.Alg != "ES256":
		return "", plaidKey{}, fmt.Errorf("JWK %s: alg %q, want ES256", j.Kid, j.Alg)
	case j.Use != "" && j.Use != "sig":
		return "", plaidKey{}, fmt.Errorf("JWK %s: use %q, want sig", j.Kid, j.Use)
	}
	x, errx := base64.RawURLEncoding.DecodeString(strings.TrimRight(j.X, "="))
	y, erry := base64.RawURLEncoding.DecodeString(strings.TrimRight(j.Y, "="))
	if errx != nil || erry != nil || len(x) != 32 || len(y) != 32 {
		return "", plaidKey{}, fmt.Errorf("JWK %s: x and y must be 32 bytes each in base64url", j.Kid)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return "", plaidKey{}, fmt.Errorf("JWK %s: not a P-256 point: %v", j.Kid, err)
	}
	k := plaidKey{pub: pub}
	if e := bytes.TrimSpace(j.ExpiredAt); len(e) > 0 && !bytes.Equal(e, []byte("null")) {
		var sec json.Number
		if err := json.Unmarshal(e, &sec); err != nil {
			return "", plaidKey{}, fmt.Errorf("JWK %s: expired_at must be null or seconds", j.Kid)
		}
		n, err := sec.Int64()
		if err != nil || n <= 0 {
			return "", plaidKey{}, fmt.Errorf("JWK %s: expired_at must be null or seconds", j.Kid)
		}
		k.expiredAt = time.Unix(n, 0)
	}
	return j.Kid, k, nil
}

// plaidJWT is a parsed Plaid-Verification value, its signature not yet
// checked.
type plaidJWT struct {
	alg, kid      string
	signingInput  string // header.claims, the bytes signed
	claimsSegment string
	sig           []byte
	iat           int64
	bodySHA256    string
}

// parsePlaidJWT splits and decodes a compact JWS. Every failure is a
// *VerifyError; nothing is trusted yet.
func parsePlaidJWT(v string) (*plaidJWT, error) {
	if len(v) > maxPlaidJWT {
		return nil, Reject(ReasonMalformedHeader, "Plaid-Verification is longer than %d bytes", maxPlaidJWT)
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return nil, Reject(ReasonMalformedHeader, "Plaid-Verification is not a JWT (header.claims.signature)")
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, Reject(ReasonMalformedHeader, "Plaid-Verification: the JWT header is not base64url")
	}
	var hdr struct {
		Alg  string          `json:"alg"`
		Kid  string          `json:"kid"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, Reject(ReasonMalformedHeader, "Plaid-Verification: the JWT header is not a JSON object")
	}
	if hdr.Alg != "ES256" {
		return nil, Reject(ReasonUnknownVersion, "Plaid-Verification: JWT alg %q; Plaid signs with ES256 and nothing else is accepted", truncate(hdr.Alg, 20))
	}
	if hdr.Crit != nil {
		return nil, Reject(ReasonUnknownVersion, "Plaid-Verification: the JWT header has crit extensions, which Plaid does not use")
	}
	if hdr.Kid == "" {
		return nil, Reject(ReasonMalformedHeader, "Plaid-Verification: the JWT header has no kid")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, Reject(ReasonMalformedHeader, "Plaid-Verification: the signature is not 64 bytes of base64url (ES256 r||s)")
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, Reject(ReasonMalformedHeader, "Plaid-Verification: the JWT claims are not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(cb))
	dec.UseNumber()
	var claims struct {
		Iat        json.Number `json:"iat"`
		BodySHA256 string      `json:"request_body_sha256"`
	}
	if err := dec.Decode(&claims); err != nil {
		return nil, Reject(ReasonMalformedHeader, "Plaid-Verification: the JWT claims are not a JSON object")
	}
	iat, err := claims.Iat.Int64()
	if err != nil {
		return nil, Reject(ReasonMalformedHeader, "Plaid-Verification: the JWT has no iat (seconds)")
	}
	if claims.BodySHA256 == "" {
		return nil, Reject(ReasonMalformedHeader, "Plaid-Verification: the JWT has no request_body_sha256")
	}
	return &plaidJWT{alg: hdr.Alg, kid: hdr.Kid, signingInput: parts[0] + "." + parts[1], claimsSegment: parts[1],
		sig: sig, iat: iat, bodySHA256: claims.BodySHA256}, nil
}

func (s *plaid) Verify(r *Request) (Result, error) {
	v := header(r.Header, "Plaid-Verification")
	if v == "" {
		return Result{}, missing("Plaid-Verification")
	}
	jwt, err := parsePlaidJWT(v)
	if err != nil {
		return Result{}, err
	}
	key, ok := s.keys[jwt.kid]
	if !ok {
		return Result{}, Reject(ReasonBadSignature, "Plaid-Verification is signed by kid %q, which none of the %d configured JWK(s) has: get it from /webhook_verification_key/get and add it to secrets", truncate(jwt.kid, 64), len(s.keys))
	}
	if !key.expiredAt.IsZero() && !r.Now.Before(key.expiredAt) {
		return Result{}, Reject(ReasonBadSignature, "the JWK %s expired at %s", jwt.kid, key.expiredAt.UTC().Format(time.RFC3339))
	}
	digest := sha256.Sum256([]byte(jwt.signingInput))
	rr := new(big.Int).SetBytes(jwt.sig[:32])
	ss := new(big.Int).SetBytes(jwt.sig[32:])
	if !ecdsa.Verify(key.pub, digest[:], rr, ss) {
		return Result{}, Reject(ReasonBadSignature, "Plaid-Verification's signature does not verify with the JWK %s", jwt.kid)
	}
	if err := checkTimestamp(time.Unix(jwt.iat, 0), r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	want := sha256.Sum256(r.Body)
	claimed, err := hex.DecodeString(strings.ToLower(jwt.bodySHA256))
	if err != nil || !equal(claimed, want[:]) {
		return Result{}, Reject(ReasonBadSignature, "the body's SHA-256 is not the JWT's request_body_sha256: the body was altered after Plaid signed it")
	}
	id := sha256.Sum256([]byte(jwt.claimsSegment))
	res := Result{EventID: "jwt:" + hex.EncodeToString(id[:16])}
	doc, ok := jsonObject(r.Body)
	if !ok {
		res.Malformed = true
		return res, nil
	}
	if t, c := jsonString(doc, "webhook_type"), jsonString(doc, "webhook_code"); t != "" || c != "" {
		res.EventType = t + "." + c
	}
	res.Test = jsonString(doc, "environment") == "sandbox"
	return res, nil
}
