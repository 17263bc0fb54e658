package provider

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Adyen's notification signatures are in the body. The vectors come from
// Adyen's PHP and Node libraries (testdata/providers/adyen/SOURCE.md);
// the other requests are signed here with crypto/* directly.

const (
	adyenKey   = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
	adyenOther = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00"
)

// adyenSign is the documented recipe, computed independently.
func adyenSign(keyHex, psp, orig, merchant, ref, value, currency, code, success string) string {
	key, _ := hex.DecodeString(keyHex)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(psp + ":" + orig + ":" + merchant + ":" + ref + ":" + value + ":" + currency + ":" + code + ":" + success))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// adyenItemJSON is one NotificationRequestItem with the given signature.
func adyenItemJSON(psp, code, success, value, sig string) string {
	return fmt.Sprintf(`{"NotificationRequestItem":{"pspReference":%q,"merchantAccountCode":"HookwatchECOM","merchantReference":"order-17","amount":{"value":%s,"currency":"EUR"},"eventCode":%q,"success":%q,"additionalData":{"hmacSignature":%q}}}`, psp, value, code, success, sig)
}

func adyenSignedItem(keyHex, psp, code, success, value string) string {
	return adyenItemJSON(psp, code, success, value, adyenSign(keyHex, psp, "", "HookwatchECOM", "order-17", value, "EUR", code, success))
}

func adyenBodyOf(live string, items ...string) []byte {
	return []byte(`{"live":"` + live + `","notificationItems":[` + strings.Join(items, ",") + `]}`)
}

func adyenVerify(t *testing.T, body []byte, keys ...string) (Result, error) {
	t.Helper()
	return mustNew(t, "adyen", Config{Secrets: keys}).Verify(&Request{Method: http.MethodPost, URL: nextURL, Header: http.Header{"Content-Type": {"application/json"}}, Body: body, Now: time.Now()})
}

func TestAdyenVectors(t *testing.T) {
	files := vectorFiles("adyen")
	if len(files) != 3 {
		t.Fatalf("found %d Adyen vectors, want 3", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var v vector
			body := loadVector(t, f, &v)
			res, err := adyenVerify(t, body, v.Secret)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.EventID != v.EventID || res.EventType != v.EventType || res.Test != v.Test || res.Malformed {
				t.Errorf("result %+v, want id %q type %q test %v", res, v.EventID, v.EventType, v.Test)
			}
			other := adyenKey
			if v.Secret == adyenKey {
				other = adyenOther
			}
			_, err = adyenVerify(t, body, other)
			wantRejected(t, err, v.Secret, ReasonBadSignature)
			if _, err := adyenVerify(t, body, other, strings.ToLower(v.Secret)); err != nil {
				t.Errorf("the vector's key second, in lower case: %v", err)
			}
			// Every signed field, tampered, fails.
			for _, field := range []string{`"pspReference":"`, `"merchantAccountCode":"`, `"merchantReference":"`, `"currency":"`, `"eventCode":"`, `"success":"`} {
				tampered := strings.Replace(string(body), field, field+"X", 1)
				_, err := adyenVerify(t, []byte(tampered), v.Secret)
				wantRejected(t, err, v.Secret, ReasonBadSignature)
			}
			tampered := strings.Replace(string(body), `"value":`, `"value":9`, 1)
			_, err = adyenVerify(t, []byte(tampered), v.Secret)
			wantRejected(t, err, v.Secret, ReasonBadSignature)
		})
	}
}

func TestAdyenBatchAndRejections(t *testing.T) {
	a := adyenSignedItem(adyenKey, "8816178952380553", "AUTHORISATION", "false", "2500")
	b := adyenSignedItem(adyenKey, "8816178952380553", "AUTHORISATION", "true", "2500")
	c := adyenSignedItem(adyenKey, "8816178952380999", "CAPTURE", "true", "2500")

	// One item: pspReference:eventCode:success, so a failed and a later
	// successful AUTHORISATION are two events.
	ra, err := adyenVerify(t, adyenBodyOf("true", a), adyenKey)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := adyenVerify(t, adyenBodyOf("true", b), adyenKey)
	if err != nil {
		t.Fatal(err)
	}
	if ra.EventID != "8816178952380553:AUTHORISATION:false" || rb.EventID != "8816178952380553:AUTHORISATION:true" || ra.Test || ra.EventType != "AUTHORISATION" {
		t.Errorf("results %+v and %+v", ra, rb)
	}
	// A batch: every item verifies; one ID for the batch, stable across
	// retries; the common type, or "batch".
	r1, err := adyenVerify(t, adyenBodyOf("true", a, b, c), adyenKey)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := adyenVerify(t, adyenBodyOf("true", a, b, c), adyenKey)
	r3, _ := adyenVerify(t, adyenBodyOf("true", c, b, a), adyenKey)
	if !strings.HasPrefix(r1.EventID, "batch:") || r1.EventID != r2.EventID || r1.EventID == r3.EventID || r1.EventType != "batch" {
		t.Errorf("batch results %+v %+v %+v", r1, r2, r3)
	}
	// Rotation: items signed with either configured key pass.
	d := adyenSignedItem(adyenOther, "8816178952381111", "REFUND", "true", "100")
	if _, err := adyenVerify(t, adyenBodyOf("true", a, d), adyenKey, adyenOther); err != nil {
		t.Errorf("items signed with two configured keys: %v", err)
	}
	// One bad item rejects the whole request, wherever it is.
	bad := adyenItemJSON("8816178952382222", "CAPTURE", "true", "100", adyenSign(adyenOther, "8816178952382222", "", "HookwatchECOM", "order-17", "100", "EUR", "CAPTURE", "true"))
	for _, body := range [][]byte{adyenBodyOf("true", bad, a), adyenBodyOf("true", a, b, bad)} {
		_, err := adyenVerify(t, body, adyenKey)
		wantRejected(t, err, adyenKey, ReasonBadSignature)
	}
	// An item without a signature.
	unsigned := strings.Replace(a, `"hmacSignature"`, `"hmacSignatureX"`, 1)
	_, err = adyenVerify(t, adyenBodyOf("true", a, unsigned), adyenKey)
	wantRejected(t, err, adyenKey, ReasonMissingSignature)
	// Not base64.
	notB64 := adyenItemJSON("1", "CAPTURE", "true", "1", "%%not-base64%%")
	_, err = adyenVerify(t, adyenBodyOf("true", notB64), adyenKey)
	wantRejected(t, err, adyenKey, ReasonMalformedHeader)
	// Not a notification at all: nothing is signed.
	for _, body := range []string{"not json", `{}`, `{"notificationItems":[]}`, `{"notificationItems":[{}]}`, `[]`} {
		_, err := adyenVerify(t, []byte(body), adyenKey)
		wantRejected(t, err, adyenKey, ReasonMissingSignature)
	}
}

func TestAdyenConfig(t *testing.T) {
	for _, secret := range []string{"not hex", "0x12", "ABC"} {
		_, err := New("adyen", Config{Secrets: []string{secret}})
		if err == nil || !strings.Contains(err.Error(), "not hex") {
			t.Errorf("secret %q: err = %v, want one saying it is not hex", secret, err)
		}
	}
	if _, err := New("adyen", Config{Secrets: []string{adyenKey}, Options: map[string]string{"x": "y"}}); err == nil {
		t.Error("an unknown option was accepted")
	}
}

func TestAdyenSignBody(t *testing.T) {
	unsigned := []byte(`{"live":"false","notificationItems":[` +
		`{"NotificationRequestItem":{"pspReference":"1","merchantAccountCode":"M","amount":{"value":10,"currency":"EUR"},"eventCode":"CAPTURE","success":"true"}},` +
		`{"NotificationRequestItem":{"pspReference":"2","merchantAccountCode":"M","amount":{"value":0,"currency":"EUR"},"eventCode":"REFUND","success":"false","additionalData":{"hmacSignature":"old","other":"kept"}}}]}`)
	s := mustNew(t, "adyen", Config{Secrets: []string{adyenKey, adyenOther}})
	signed, err := s.(BodySigner).SignBody(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	// Signed with the first key, checked against the independent recipe.
	if !strings.Contains(string(signed), adyenSign(adyenKey, "1", "", "M", "", "10", "EUR", "CAPTURE", "true")) ||
		!strings.Contains(string(signed), adyenSign(adyenKey, "2", "", "M", "", "0", "EUR", "REFUND", "false")) || !strings.Contains(string(signed), `"other":"kept"`) {
		t.Errorf("signed body %s", signed)
	}
	if _, err := adyenVerify(t, signed, adyenKey); err != nil {
		t.Errorf("a body signed by SignBody: %v", err)
	}
	for _, bad := range []string{"not json", `{"notificationItems":[]}`, `{"notificationItems":[{"x":1}]}`} {
		if _, err := s.(BodySigner).SignBody([]byte(bad)); err == nil {
			t.Errorf("SignBody(%s) succeeded", bad)
		}
	}
}
