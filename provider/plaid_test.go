package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Plaid publishes no test vector (a JWK, a body and the Plaid-Verification
// Plaid computed): see testdata/providers/plaid/SOURCE.md. These tests make
// a P-256 key, and sign JWTs here with crypto/ecdsa directly, the way
// Plaid's docs describe them.

var b64u = base64.RawURLEncoding

type plaidTestKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

func newPlaidTestKey(t testing.TB, kid string) plaidTestKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return plaidTestKey{kid: kid, priv: k}
}

// jwk is the key as /webhook_verification_key/get returns it.
func (k plaidTestKey) jwk(expiredAt string) string {
	raw, err := k.priv.PublicKey.Bytes() // 0x04 || x || y
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`{"alg":"ES256","created_at":1560466150,"crv":"P-256","expired_at":%s,"kid":%q,"kty":"EC","use":"sig","x":%q,"y":%q}`,
		expiredAt, k.kid, b64u.EncodeToString(raw[1:33]), b64u.EncodeToString(raw[33:]))
}

func (k plaidTestKey) jwt(t testing.TB, header, claims string) string {
	t.Helper()
	in := b64u.EncodeToString([]byte(header)) + "." + b64u.EncodeToString([]byte(claims))
	d := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + b64u.EncodeToString(sig)
}

// sign is the Plaid-Verification of body signed at iat.
func (k plaidTestKey) sign(t testing.TB, body string, iat time.Time) string {
	sum := sha256.Sum256([]byte(body))
	return k.jwt(t, fmt.Sprintf(`{"alg":"ES256","kid":%q,"typ":"JWT"}`, k.kid),
		fmt.Sprintf(`{"iat":%d,"request_body_sha256":%q}`, iat.Unix(), hex.EncodeToString(sum[:])))
}

const plaidBody = `{"environment":"production","error":null,"item_id":"wz666MBjYWTp2PDzzggYhM6oWWmBb","new_transactions":3,"webhook_code":"DEFAULT_UPDATE","webhook_type":"TRANSACTIONS"}`

func plaidRequest(jwt, body string, now time.Time) *Request {
	return &Request{Method: "POST", URL: "https://hooks.example.com/in/plaid", Header: http.Header{"Plaid-Verification": {jwt}}, Body: []byte(body), Now: now}
}

func TestPlaid(t *testing.T) {
	now := time.Unix(1_764_650_000, 0)
	k1, k2 := newPlaidTestKey(t, "6c5516e1-92dc-479e-a8ff-5a51992e0001"), newPlaidTestKey(t, "bfbd5111-8e33-4643-8ced-b2e642a72f3c")
	s, err := New("plaid", Config{Secrets: []string{k1.jwk("null"), k2.jwk("null")}})
	if err != nil {
		t.Fatal(err)
	}
	jwt := k2.sign(t, plaidBody, now.Add(-4*time.Minute))
	res, err := s.Verify(plaidRequest(jwt, plaidBody, now))
	if err != nil {
		t.Fatalf("valid request (second key) rejected: %v", err)
	}
	if res.EventType != "TRANSACTIONS.DEFAULT_UPDATE" || res.Test || !strings.HasPrefix(res.EventID, "jwt:") {
		t.Fatalf("result %+v", res)
	}
	again, _ := s.Verify(plaidRequest(jwt, plaidBody, now.Add(time.Second)))
	if again.EventID != res.EventID {
		t.Errorf("the same JWT gave IDs %s and %s", res.EventID, again.EventID)
	}
	later, err := s.Verify(plaidRequest(k1.sign(t, plaidBody, now), plaidBody, now))
	if err != nil || later.EventID == res.EventID {
		t.Errorf("the same body signed at another time: %+v, %v; want another event ID", later, err)
	}
	sandbox := strings.Replace(plaidBody, "production", "sandbox", 1)
	if res, err := s.Verify(plaidRequest(k1.sign(t, sandbox, now), sandbox, now)); err != nil || !res.Test {
		t.Errorf("sandbox webhook: %+v, %v; want Test", res, err)
	}
	if res, err := s.Verify(plaidRequest(k1.sign(t, "not json", now), "not json", now)); err != nil || !res.Malformed {
		t.Errorf("signed non-JSON body: %+v, %v; want Malformed", res, err)
	}

	sum := sha256.Sum256([]byte(plaidBody))
	bodyHash := hex.EncodeToString(sum[:])
	claims := fmt.Sprintf(`{"iat":%d,"request_body_sha256":%q}`, now.Unix(), bodyHash)
	good := k1.sign(t, plaidBody, now)
	parts := strings.Split(good, ".")
	hmacJWT := func() string { // HS256 keyed with the public JWK: the classic confusion attack
		in := b64u.EncodeToString([]byte(fmt.Sprintf(`{"alg":"HS256","kid":%q}`, k1.kid))) + "." + b64u.EncodeToString([]byte(claims))
		m := hmac.New(sha256.New, []byte(k1.jwk("null")))
		m.Write([]byte(in))
		return in + "." + b64u.EncodeToString(m.Sum(nil))
	}()
	der, _ := ecdsa.SignASN1(rand.Reader, k1.priv, func() []byte { d := sha256.Sum256([]byte(parts[0] + "." + parts[1])); return d[:] }())
	other := newPlaidTestKey(t, k1.kid) // the right kid, another key
	for _, c := range []struct {
		name, jwt, body string
		now             time.Time
		reason          Reason
	}{
		{"no header", "", plaidBody, now, ReasonMissingSignature},
		{"wrong kid", newPlaidTestKey(t, "unknown-kid").sign(t, plaidBody, now), plaidBody, now, ReasonBadSignature},
		{"another key, same kid", other.sign(t, plaidBody, now), plaidBody, now, ReasonBadSignature},
		{"alg none", b64u.EncodeToString([]byte(fmt.Sprintf(`{"alg":"none","kid":%q}`, k1.kid))) + "." + b64u.EncodeToString([]byte(claims)) + ".", plaidBody, now, ReasonUnknownVersion},
		{"alg HS256", hmacJWT, plaidBody, now, ReasonUnknownVersion},
		{"alg ES384", k1.jwt(t, fmt.Sprintf(`{"alg":"ES384","kid":%q}`, k1.kid), claims), plaidBody, now, ReasonUnknownVersion},
		{"tampered body", good, strings.Replace(plaidBody, `"new_transactions":3`, `"new_transactions":4`, 1), now, ReasonBadSignature},
		{"tampered claims", parts[0] + "." + b64u.EncodeToString([]byte(fmt.Sprintf(`{"iat":%d,"request_body_sha256":%q}`, now.Unix()+1, bodyHash))) + "." + parts[2], plaidBody, now, ReasonBadSignature},
		{"expired iat", k1.sign(t, plaidBody, now.Add(-5*time.Minute-time.Second)), plaidBody, now, ReasonStaleTimestamp},
		{"future iat", k1.sign(t, plaidBody, now.Add(6*time.Minute)), plaidBody, now, ReasonFutureTimestamp},
		{"ASN.1 signature", parts[0] + "." + parts[1] + "." + b64u.EncodeToString(der), plaidBody, now, ReasonMalformedHeader},
		{"two parts", parts[0] + "." + parts[1], plaidBody, now, ReasonMalformedHeader},
		{"four parts", good + ".x", plaidBody, now, ReasonMalformedHeader},
		{"header not base64", "!!." + parts[1] + "." + parts[2], plaidBody, now, ReasonMalformedHeader},
		{"header not JSON", b64u.EncodeToString([]byte("alg")) + "." + parts[1] + "." + parts[2], plaidBody, now, ReasonMalformedHeader},
		{"no kid", k1.jwt(t, `{"alg":"ES256"}`, claims), plaidBody, now, ReasonMalformedHeader},
		{"no iat", k1.jwt(t, fmt.Sprintf(`{"alg":"ES256","kid":%q}`, k1.kid), fmt.Sprintf(`{"request_body_sha256":%q}`, bodyHash)), plaidBody, now, ReasonMalformedHeader},
		{"no body hash", k1.jwt(t, fmt.Sprintf(`{"alg":"ES256","kid":%q}`, k1.kid), fmt.Sprintf(`{"iat":%d}`, now.Unix())), plaidBody, now, ReasonMalformedHeader},
		{"body hash not hex", k1.jwt(t, fmt.Sprintf(`{"alg":"ES256","kid":%q}`, k1.kid), fmt.Sprintf(`{"iat":%d,"request_body_sha256":"zz"}`, now.Unix())), plaidBody, now, ReasonBadSignature},
		{"too long", strings.Repeat("a", maxPlaidJWT+1), plaidBody, now, ReasonMalformedHeader},
	} {
		_, err := s.Verify(plaidRequest(c.jwt, c.body, c.now))
		if got := ReasonOf(err); got != c.reason {
			t.Errorf("%s: reason %q (%v), want %q", c.name, got, err, c.reason)
		}
	}

	// The tolerance is sources[].tolerance, as for every timestamped scheme.
	wide, err := New("plaid", Config{Secrets: []string{k1.jwk("null")}, Tolerance: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wide.Verify(plaidRequest(k1.sign(t, plaidBody, now.Add(-30*time.Minute)), plaidBody, now)); err != nil {
		t.Errorf("30 minutes old with a tolerance of 1h: %v", err)
	}
	// A key Plaid has expired verifies nothing after its expired_at.
	exp, err := New("plaid", Config{Secrets: []string{k1.jwk(fmt.Sprint(now.Unix() - 1))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exp.Verify(plaidRequest(k1.sign(t, plaidBody, now), plaidBody, now)); ReasonOf(err) != ReasonBadSignature || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired key: %v", err)
	}
}

func TestPlaidConfig(t *testing.T) {
	k := newPlaidTestKey(t, "kid-1")
	var m map[string]any
	json.Unmarshal([]byte(k.jwk("null")), &m)
	with := func(key string, v any) string {
		c := map[string]any{}
		for a, b := range m {
			c[a] = b
		}
		if v == nil {
			delete(c, key)
		} else {
			c[key] = v
		}
		b, _ := json.Marshal(c)
		return string(b)
	}
	for _, c := range []struct{ name, secret, want string }{
		{"not JSON", "-----BEGIN PUBLIC KEY-----", "not a JSON JWK"},
		{"no kid", with("kid", nil), "no kid"},
		{"RSA", with("kty", "RSA"), "want EC P-256"},
		{"P-384", with("crv", "P-384"), "want EC P-256"},
		{"alg HS256", with("alg", "HS256"), "want ES256"},
		{"short x", with("x", "AAAA"), "32 bytes"},
		{"not on the curve", with("y", b64u.EncodeToString(make([]byte, 32))), "not a P-256 point"},
		{"expired_at text", with("expired_at", "soon"), "expired_at"},
	} {
		_, err := New("plaid", Config{Secrets: []string{c.secret}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
	if _, err := New("plaid", Config{Secrets: []string{k.jwk("null"), k.jwk("null")}}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("the same kid twice: %v", err)
	}
	if _, err := New("plaid", Config{Secrets: []string{k.jwk("null")}, Options: map[string]string{"x": "y"}}); err == nil {
		t.Error("an unknown option was accepted")
	}
}

// FuzzPlaidJWT feeds arbitrary Plaid-Verification values to the parser and
// to Verify: no panic, every failure a *VerifyError, and nothing unsigned
// passes.
func FuzzPlaidJWT(f *testing.F) {
	k := newPlaidTestKey(f, "fuzz-kid")
	now := time.Unix(1_764_650_000, 0)
	f.Add(k.sign(f, plaidBody, now))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("..")
	f.Add("a.b.c")
	s, err := New("plaid", Config{Secrets: []string{newPlaidTestKey(f, "fuzz-kid").jwk("null")}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if _, err := parsePlaidJWT(v); err != nil && ReasonOf(err) == "" {
			t.Fatalf("parse error %v is not a VerifyError", err)
		}
		res, err := s.Verify(plaidRequest(v, plaidBody, now))
		if err == nil {
			t.Fatalf("%q verified with a key that signed nothing: %+v", v, res)
		}
		if ReasonOf(err) == "" {
			t.Fatalf("error %v is not a VerifyError", err)
		}
	})
}

// BenchmarkPlaidVerify is one Plaid webhook verified: the JWT parsed, one
// P-256 signature checked, the body hashed. Recorded in docs/PERFORMANCE.md.
func BenchmarkPlaidVerify(b *testing.B) {
	now := time.Unix(1_764_650_000, 0)
	k := newPlaidTestKey(b, "bench-kid")
	s, err := New("plaid", Config{Secrets: []string{k.jwk("null")}})
	if err != nil {
		b.Fatal(err)
	}
	req := plaidRequest(k.sign(b, plaidBody, now), plaidBody, now)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(req); err != nil {
			b.Fatal(err)
		}
	}
}
