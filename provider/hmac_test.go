package provider

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

func TestHMACConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		options map[string]string
		want    string // in the error
	}{
		{"no header", map[string]string{}, "header is required"},
		{"unknown key", map[string]string{"header": "X-Sig", "algo": "sha1"}, `"algo"`},
		{"unknown algorithm", map[string]string{"header": "X-Sig", "algorithm": "md5"}, "md5"},
		{"unknown encoding", map[string]string{"header": "X-Sig", "encoding": "base32"}, "base32"},
		{"body not signed", map[string]string{"header": "X-Sig", "signed": "{timestamp}", "timestamp_header": "X-Ts"}, "{body}"},
		{"body twice", map[string]string{"header": "X-Sig", "signed": "{body}{body}"}, "{body}"},
		{"unknown placeholder", map[string]string{"header": "X-Sig", "signed": "{id}.{body}"}, "{id}"},
		{"unclosed placeholder", map[string]string{"header": "X-Sig", "signed": "{body}.{timestamp"}, "unclosed"},
		{"timestamp without header", map[string]string{"header": "X-Sig", "signed": "{timestamp}.{body}"}, "timestamp_header"},
		{"unsigned timestamp header", map[string]string{"header": "X-Sig", "timestamp_header": "X-Ts"}, "timestamp_header"},
		{"id twice", map[string]string{"header": "X-Sig", "id_header": "X-Id", "id_json": "id"}, "id_header or id_json"},
		{"type twice", map[string]string{"header": "X-Sig", "type_header": "X-T", "type_json": "type"}, "type_header or type_json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("hmac", Config{Secrets: []string{"s3cr3t-value"}, Options: tc.options})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t-value") {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
}

// TestHMACVariants checks each option against a digest computed here
// independently of the scheme (crypto/hmac directly).
func TestHMACVariants(t *testing.T) {
	const secret = "generic-secret"
	body := `{"id":"dlv_1","kind":"ticket.closed"}`
	m1 := hmac.New(sha1.New, []byte(secret))
	m1.Write([]byte(body))
	sha1Hex := hex.EncodeToString(m1.Sum(nil))
	m5 := hmac.New(sha512.New, []byte(secret))
	m5.Write([]byte("1700000000:" + body))
	sha512B64 := base64.StdEncoding.EncodeToString(m5.Sum(nil))

	for _, tc := range []struct {
		name    string
		options map[string]string
		headers map[string]string
		id, typ string
	}{
		{
			name:    "sha1 hex with prefix, ids from headers",
			options: map[string]string{"header": "X-Hub-Signature", "algorithm": "sha1", "prefix": "sha1=", "id_header": "X-Delivery", "type_header": "X-Event"},
			headers: map[string]string{"X-Hub-Signature": "sha1=" + sha1Hex, "X-Delivery": "d-1", "X-Event": "push"},
			id:      "d-1", typ: "push",
		},
		{
			name:    "prefix compared case-insensitively",
			options: map[string]string{"header": "X-Hub-Signature", "algorithm": "SHA1", "prefix": "sha1="},
			headers: map[string]string{"X-Hub-Signature": "SHA1=" + sha1Hex},
		},
		{
			name: "sha512 base64 over a timestamp template, ids from JSON",
			options: map[string]string{"header": "x-sig", "algorithm": "sha512", "encoding": "base64",
				"signed": "{timestamp}:{body}", "timestamp_header": "x-ts", "id_json": "id", "type_json": "kind"},
			headers: map[string]string{"X-Sig": sha512B64, "X-Ts": "1700000000"},
			id:      "dlv_1", typ: "ticket.closed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, "hmac", Config{Secrets: []string{secret}, Options: tc.options, Tolerance: -1})
			h := http.Header{}
			for k, v := range tc.headers {
				h.Set(k, v)
			}
			res, err := s.Verify(&Request{Header: h, Body: []byte(body), Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if res.EventID != tc.id || res.EventType != tc.typ || res.Malformed {
				t.Errorf("result = %+v", res)
			}
			if _, err := s.Verify(signed(t, s, body, testNow, testNow)); err != nil {
				t.Errorf("round trip: %v", err)
			}
		})
	}

	// JSON expected but not sent: verified, flagged.
	s := mustNew(t, "hmac", Config{Secrets: []string{secret}, Options: map[string]string{"header": "X-Sig", "type_json": "type"}})
	res, err := s.Verify(signed(t, s, "not json", testNow, testNow))
	if err != nil || !res.Malformed {
		t.Errorf("res = %+v, err = %v; want Malformed", res, err)
	}
	// No JSON option: the body is not inspected.
	s = mustNew(t, "hmac", Config{Secrets: []string{secret}, Options: map[string]string{"header": "X-Sig"}})
	if res, err := s.Verify(signed(t, s, "not json", testNow, testNow)); err != nil || res.Malformed {
		t.Errorf("res = %+v, err = %v; want clean", res, err)
	}
	// A prefix that is missing is a malformed header.
	s = mustNew(t, "hmac", Config{Secrets: []string{secret}, Options: map[string]string{"header": "X-Sig", "prefix": "sha1=", "algorithm": "sha1"}})
	_, err = s.Verify(&Request{Header: http.Header{"X-Sig": {sha1Hex}}, Body: []byte(body), Now: testNow})
	wantReason(t, err, ReasonMalformedHeader, secret)
}
