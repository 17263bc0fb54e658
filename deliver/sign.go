package deliver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/hookwatch/hookwatch"
)

// SecretPrefix starts a Standard Webhooks secret: whsec_ then the key in
// base64.
const SecretPrefix = hookwatch.SigningSecretPrefix

// ParseSecret decodes a "whsec_<base64>" destination secret into the HMAC
// key, as Standard Webhooks libraries do (hookwatch.ParseSigningSecret).
func ParseSecret(s string) ([]byte, error) { return hookwatch.ParseSigningSecret(s) }

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
