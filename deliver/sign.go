package deliver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts a Standard Webhooks secret: whsec_ then the key in
// base64.
const SecretPrefix = "whsec_"

// ParseSecret decodes a "whsec_<base64>" destination secret into the HMAC
// key, as Standard Webhooks libraries do.
func ParseSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("a destination secret is %s followed by base64 (generate one: echo %s$(head -c 32 /dev/urandom | base64))", SecretPrefix, SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("the part after %s is not valid base64", SecretPrefix)
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("the key is %d bytes: use at least 16 (24 to 64 is usual)", len(key))
	}
	return key, nil
}

// Sign returns the webhook-signature value for a message: "v1," then the
// base64 HMAC-SHA256 of "id.timestamp.body" with key.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
