package provider

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testNow is the arrival time used by tests that sign their own requests.
var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// mustNew builds a registered scheme or fails the test.
func mustNew(t testing.TB, name string, cfg Config) Scheme {
	t.Helper()
	s, err := New(name, cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	return s
}

// signed builds a request for body signed by s at signedAt, arriving at now.
func signed(t testing.TB, s Scheme, body string, signedAt, now time.Time) *Request {
	t.Helper()
	signer, ok := s.(Signer)
	if !ok {
		t.Fatalf("%T does not implement Signer", s)
	}
	h := http.Header{}
	if err := signer.Sign(h, "https://hooks.example.com/in", []byte(body), signedAt); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return &Request{Method: http.MethodPost, URL: "https://hooks.example.com/in", Header: h, Body: []byte(body), Now: now}
}

// wantReason asserts err is a *VerifyError with the given reason and that its
// text leaks none of the given secrets.
func wantReason(t testing.TB, err error, want Reason, secrets ...string) {
	t.Helper()
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v (%T), want *VerifyError with reason %s", err, err, want)
	}
	if ve.Reason != want {
		t.Fatalf("reason = %s (%q), want %s", ve.Reason, ve.Detail, want)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error %q leaks %q", err, s)
		}
	}
}

// schemeCase describes one of this file's schemes for the shared negative
// tests: how to find its signature header and how to corrupt it.
type schemeCase struct {
	name        string
	options     map[string]string
	secret      string // a valid secret in the scheme's form
	other       string // another valid secret
	sigHeader   string // the header Sign writes the signature to
	timestamped bool
	body        string
	// reencode rewrites a valid signature header so that the digest is in
	// the wrong encoding (hex <-> base64).
	reencode func(string) string
	// addSig returns header with one more, non-matching signature added, or
	// "" when the format carries a single signature.
	addSig func(string) string
}

func hexToB64(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func b64ToHex(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

var schemeCases = []schemeCase{
	{
		name: "stripe", secret: "whsec_test_secret", other: "whsec_rotated_secret",
		sigHeader: "Stripe-Signature", timestamped: true,
		body: `{"id":"evt_1","object":"event","type":"invoice.paid"}`,
		reencode: func(h string) string {
			i := strings.Index(h, "v1=")
			return h[:i+3] + hexToB64(h[i+3:])
		},
		addSig: func(h string) string {
			return h + ",v1=" + strings.Repeat("ab", 32) + ",v0=" + strings.Repeat("cd", 32)
		},
	},
	{
		name: "github", secret: "gh-secret", other: "gh-secret-2", sigHeader: "X-Hub-Signature-256",
		body:     `{"zen":"Keep it logically awesome.","hook_id":1}`,
		reencode: func(h string) string { return "sha256=" + hexToB64(strings.TrimPrefix(h, "sha256=")) },
	},
	{
		name: "shopify", secret: "shpss_0123456789abcdef", other: "shpss_fedcba9876543210", sigHeader: "X-Shopify-Hmac-Sha256",
		body:     `{"id":820982911946154508,"email":"jon@example.com"}`,
		reencode: b64ToHex,
	},
	{
		name: "slack", secret: "8f742231b10e8888abcd99yyyzzz85a5", other: "0123456789abcdef0123456789abcdef",
		sigHeader: "X-Slack-Signature", timestamped: true,
		body:     `{"type":"event_callback","event_id":"Ev1","event":{"type":"message"}}`,
		reencode: func(h string) string { return "v0=" + hexToB64(strings.TrimPrefix(h, "v0=")) },
	},
	{
		name: "standardwebhooks", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", other: "whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==",
		sigHeader: "Webhook-Signature", timestamped: true,
		body:     `{"type":"user.created","data":{"id":"u_1"}}`,
		reencode: func(h string) string { return "v1," + b64ToHex(strings.TrimPrefix(h, "v1,")) },
		addSig: func(h string) string {
			bogus := base64.StdEncoding.EncodeToString(make([]byte, 32))
			return "v1," + bogus + " v1a," + bogus + " " + h + " v2," + bogus
		},
	},
	{
		name: "svix", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", other: "c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==",
		sigHeader: "Svix-Signature", timestamped: true,
		body:     `{"type":"invoice.paid","data":{}}`,
		reencode: func(h string) string { return "v1," + b64ToHex(strings.TrimPrefix(h, "v1,")) },
		addSig: func(h string) string {
			return h + " v1," + base64.StdEncoding.EncodeToString(make([]byte, 32))
		},
	},
	{
		name: "hmac", secret: "generic-secret", other: "generic-secret-2", sigHeader: "X-Signature", timestamped: true,
		options: map[string]string{
			"header": "X-Signature", "prefix": "sha256=", "signed": "{timestamp}.{body}",
			"timestamp_header": "X-Timestamp", "type_json": "event", "id_header": "X-Delivery",
		},
		body:     `{"event":"order.created"}`,
		reencode: func(h string) string { return "sha256=" + hexToB64(strings.TrimPrefix(h, "sha256=")) },
	},
}

func (c schemeCase) build(t testing.TB, secrets ...string) Scheme {
	return mustNew(t, c.name, Config{Secrets: secrets, Options: c.options})
}

// TestSchemeNegatives runs the same attacks against every scheme.
func TestSchemeNegatives(t *testing.T) {
	for _, c := range schemeCases {
		t.Run(c.name, func(t *testing.T) {
			s := c.build(t, c.secret)
			leaks := func(r *Request) []string {
				return []string{c.secret, r.Header.Get(c.sigHeader)}
			}

			t.Run("round trip", func(t *testing.T) {
				if _, err := s.Verify(signed(t, s, c.body, testNow, testNow)); err != nil {
					t.Fatalf("Sign then Verify: %v", err)
				}
			})
			t.Run("tampered body", func(t *testing.T) {
				r := signed(t, s, c.body, testNow, testNow)
				r.Body = append([]byte(nil), r.Body...)
				r.Body[len(r.Body)-1] = ' '
				_, err := s.Verify(r)
				wantReason(t, err, ReasonBadSignature, leaks(r)...)
			})
			t.Run("wrong secret", func(t *testing.T) {
				r := signed(t, c.build(t, c.other), c.body, testNow, testNow)
				_, err := s.Verify(r)
				wantReason(t, err, ReasonBadSignature, leaks(r)...)
			})
			t.Run("rotation", func(t *testing.T) {
				both := c.build(t, c.secret, c.other)
				if _, err := both.Verify(signed(t, c.build(t, c.other), c.body, testNow, testNow)); err != nil {
					t.Fatalf("second secret: %v", err)
				}
				if _, err := both.Verify(signed(t, s, c.body, testNow, testNow)); err != nil {
					t.Fatalf("first secret: %v", err)
				}
			})
			t.Run("missing header", func(t *testing.T) {
				r := signed(t, s, c.body, testNow, testNow)
				r.Header.Del(c.sigHeader)
				_, err := s.Verify(r)
				wantReason(t, err, ReasonMissingSignature)
			})
			t.Run("wrong encoding", func(t *testing.T) {
				r := signed(t, s, c.body, testNow, testNow)
				r.Header.Set(c.sigHeader, c.reencode(r.Header.Get(c.sigHeader)))
				_, err := s.Verify(r)
				wantReason(t, err, ReasonMalformedHeader, leaks(r)...)
			})
			t.Run("multiple signatures", func(t *testing.T) {
				if c.addSig == nil {
					t.Skip("the format carries a single signature")
				}
				r := signed(t, s, c.body, testNow, testNow)
				r.Header.Set(c.sigHeader, c.addSig(r.Header.Get(c.sigHeader)))
				if _, err := s.Verify(r); err != nil {
					t.Fatalf("one matching signature among several: %v", err)
				}
				wrong := signed(t, c.build(t, c.other), c.body, testNow, testNow)
				wrong.Header.Set(c.sigHeader, c.addSig(wrong.Header.Get(c.sigHeader)))
				_, err := s.Verify(wrong)
				wantReason(t, err, ReasonBadSignature, leaks(r)...)
			})
			t.Run("timestamps", func(t *testing.T) {
				if !c.timestamped {
					t.Skip("the provider signs no timestamp")
				}
				for _, tc := range []struct {
					skew time.Duration
					want Reason
				}{
					{-DefaultTolerance - time.Second, ReasonStaleTimestamp},
					{DefaultTolerance + time.Second, ReasonFutureTimestamp},
					{-DefaultTolerance + time.Second, ""},
					{DefaultTolerance - time.Second, ""},
				} {
					r := signed(t, s, c.body, testNow.Add(tc.skew), testNow)
					_, err := s.Verify(r)
					if tc.want == "" {
						if err != nil {
							t.Errorf("skew %s: %v", tc.skew, err)
						}
						continue
					}
					wantReason(t, err, tc.want, leaks(r)...)
				}
				// A configured tolerance replaces the default.
				wide := mustNew(t, c.name, Config{Secrets: []string{c.secret}, Options: c.options, Tolerance: time.Hour})
				if _, err := wide.Verify(signed(t, s, c.body, testNow.Add(-30*time.Minute), testNow)); err != nil {
					t.Errorf("30 min old with 1h tolerance: %v", err)
				}
			})
			t.Run("unknown option", func(t *testing.T) {
				opts := map[string]string{"bogus_key": "1"}
				for k, v := range c.options {
					opts[k] = v
				}
				_, err := New(c.name, Config{Secrets: []string{c.secret}, Options: opts})
				if err == nil || !strings.Contains(err.Error(), "bogus_key") {
					t.Fatalf("err = %v, want one naming bogus_key", err)
				}
			})
		})
	}
}

// TestRegistered checks every scheme of this file is registered, signs and
// verifies.
func TestRegistered(t *testing.T) {
	for _, c := range schemeCases {
		info, ok := Lookup(c.name)
		if !ok || info.Name != c.name || info.Summary == "" || info.New == nil {
			t.Errorf("%s: registry entry %+v", c.name, info)
			continue
		}
		if _, ok := c.build(t, c.secret).(Signer); !ok {
			t.Errorf("%s does not implement Signer", c.name)
		}
	}
}

// vector is one public test vector, as stored in testdata/providers.
// loadVector reads the test vector file f into v and returns the body
// file it names, read from beside it.
// vectorFiles lists the *.vector.json files under testdata/providers for the
// named providers, in order.
func vectorFiles(names ...string) []string {
	var files []string
	for _, name := range names {
		m, _ := filepath.Glob(filepath.Join("..", "testdata", "providers", name, "*.vector.json"))
		files = append(files, m...)
	}
	return files
}

// vectorHeader turns a vector's header map into an http.Header (canonical
// keys, as h.Set would write them).
func vectorHeader(m map[string]string) http.Header {
	h := http.Header{}
	for k, val := range m {
		h.Set(k, val)
	}
	return h
}

func loadVector(t *testing.T, f string, v interface{ bodyFile() string }) []byte {
	t.Helper()
	raw, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join(filepath.Dir(f), v.bodyFile()))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func (v *vector) bodyFile() string        { return v.BodyFile }
func (v *catalogVector) bodyFile() string { return v.BodyFile }

type vector struct {
	Provider  string            `json:"provider"`
	Secret    string            `json:"secret"`
	Now       int64             `json:"now"`
	Headers   map[string]string `json:"headers"`
	BodyFile  string            `json:"body_file"`
	EventID   string            `json:"event_id"`
	EventType string            `json:"event_type"`
	Malformed bool              `json:"malformed"`
	Test      bool              `json:"test"`
}

// TestPublicVectors verifies the providers' own published examples (see the
// SOURCE.md beside each), then checks that they stop verifying once the
// body, the secret or the clock is wrong.
func TestPublicVectors(t *testing.T) {
	var names []string
	for _, c := range schemeCases {
		names = append(names, c.name)
	}
	files := vectorFiles(names...)
	if len(files) < 6 {
		t.Fatalf("found %d vector files, want at least 6", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			var v vector
			body := loadVector(t, f, &v)
			h := vectorHeader(v.Headers)
			req := func() *Request {
				return &Request{Method: http.MethodPost, Header: h.Clone(), Body: append([]byte(nil), body...), Now: time.Unix(v.Now, 0)}
			}
			s := mustNew(t, v.Provider, Config{Secrets: []string{v.Secret}})
			res, err := s.Verify(req())
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.EventID != v.EventID || res.EventType != v.EventType || res.Malformed != v.Malformed || res.Test != v.Test {
				t.Errorf("result = %+v, want id %q type %q malformed %v test %v", res, v.EventID, v.EventType, v.Malformed, v.Test)
			}

			r := req()
			r.Body = append(r.Body, ' ')
			_, err = s.Verify(r)
			wantReason(t, err, ReasonBadSignature, v.Secret)

			other := mustNew(t, v.Provider, Config{Secrets: []string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("not the secret"))}})
			_, err = other.Verify(req())
			wantReason(t, err, ReasonBadSignature, v.Secret)

			rotated := mustNew(t, v.Provider, Config{Secrets: []string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("new")), v.Secret}})
			if _, err := rotated.Verify(req()); err != nil {
				t.Errorf("with the vector's secret second: %v", err)
			}

			if v.Now != 0 { // timestamped: a day later the same request is stale
				r := req()
				r.Now = r.Now.Add(24 * time.Hour)
				_, err := s.Verify(r)
				wantReason(t, err, ReasonStaleTimestamp, v.Secret)
			}
		})
	}
}
