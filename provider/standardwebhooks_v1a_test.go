package provider

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"
)

// TestStandardWebhooksV1a checks Ed25519 "v1a" signatures with whpk_ public
// keys, computed here with crypto/ed25519 directly (no public v1a vector
// exists in the Standard Webhooks repository), alone and next to whsec_
// secrets.
func TestStandardWebhooksV1a(t *testing.T) {
	priv := edKey("sw-v1a")
	pub := "whpk_" + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	otherPub := "whpk_" + base64.StdEncoding.EncodeToString(edKey("other").Public().(ed25519.PublicKey))
	hmacKey := []byte("hmac key bytes!!")
	whsec := "whsec_" + base64.StdEncoding.EncodeToString(hmacKey)
	body := `{"type":"invoice.paid","data":{}}`
	ts := unix(testNow)
	v1a := "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte("msg_1."+ts+"."+body)))
	m := hmac.New(sha256.New, hmacKey)
	m.Write([]byte("msg_1." + ts + "." + body))
	v1 := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	req := func(sig string, at time.Time) *Request {
		return post(catURL, body, at, "webhook-id", "msg_1", "webhook-timestamp", unix(at), "webhook-signature", sig)
	}

	s := mustNew(t, "standardwebhooks", Config{Secrets: []string{pub}})
	res, err := s.Verify(req("v1,AAAA "+v1a, testNow))
	if err != nil || res.EventID != "msg_1" || res.EventType != "invoice.paid" {
		t.Fatalf("v1a: %+v %v", res, err)
	}
	r := req(v1a, testNow)
	r.Body = append(r.Body, ' ')
	_, err = s.Verify(r)
	wantReason(t, err, ReasonBadSignature)
	_, err = mustNew(t, "standardwebhooks", Config{Secrets: []string{otherPub}}).Verify(req(v1a, testNow))
	wantReason(t, err, ReasonBadSignature)
	r = req(v1a, testNow)
	r.Now = testNow.Add(time.Hour)
	_, err = s.Verify(r)
	wantReason(t, err, ReasonStaleTimestamp)
	_, err = s.Verify(req(v1, testNow))
	wantReason(t, err, ReasonUnknownVersion)
	_, err = s.Verify(req("v1a,"+base64.StdEncoding.EncodeToString([]byte("short")), testNow))
	wantReason(t, err, ReasonMalformedHeader)

	// Mixed: rotation from a whsec_ secret to a whpk_ key, or back.
	mixed := mustNew(t, "standardwebhooks", Config{Secrets: []string{otherPub, whsec, pub}})
	for _, sig := range []string{v1, v1a, v1 + " " + v1a} {
		if _, err := mixed.Verify(req(sig, testNow)); err != nil {
			t.Errorf("mixed %q: %v", sig[:3], err)
		}
	}
	if _, err := New("standardwebhooks", Config{Secrets: []string{"whpk_notbase64!"}}); err == nil {
		t.Error("bad whpk_ key accepted")
	}
	// whsec_-only sources keep the HMAC scheme, which signs.
	if _, ok := mustNew(t, "standardwebhooks", Config{Secrets: []string{whsec}}).(Signer); !ok {
		t.Error("whsec_ source lost its Signer")
	}
}
