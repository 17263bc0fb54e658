package hookwatch

import (
	"encoding/hex"
	"net/http"
	"strings"
	"unicode/utf8"
)

// secretHeaders are request headers whose values are credentials: shown as
// "[redacted]" everywhere Hookwatch displays or reports headers.
var secretHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"Cookie":              true,
	"Set-Cookie":          true,
	"X-Gitlab-Token":      true, // GitLab sends the shared secret itself
	"X-Api-Key":           true,
	"X-Auth-Token":        true,
}

// signatureHeaders carry signatures: not secrets, but never sent to an error
// tracker, and redacted where headers leave Hookwatch.
var signatureHeaders = []string{"signature", "hmac", "x-hub-", "x-slack-", "x-twilio-", "x-zm-", "x-hookwatch-sig"}

// IsSecretHeader reports whether a header's value is a credential.
func IsSecretHeader(name string) bool {
	return secretHeaders[http.CanonicalHeaderKey(name)]
}

// IsSignatureHeader reports whether a header carries a signature or secret.
func IsSignatureHeader(name string) bool {
	if IsSecretHeader(name) {
		return true
	}
	l := strings.ToLower(name)
	for _, s := range signatureHeaders {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// RedactHeaders returns a copy of h with credential headers' values replaced
// by "[redacted]". With signatures set, signature headers are redacted too.
func RedactHeaders(h http.Header, signatures bool) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		if IsSecretHeader(k) || (signatures && IsSignatureHeader(k)) {
			out[k] = []string{"[redacted]"}
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	return out
}

// TextOrHex returns a body or answer as it can be shown or put in JSON: the
// text itself when it is UTF-8, else its hex with encoding "hex".
func TextOrHex(b []byte) (text, encoding string) {
	if utf8.Valid(b) {
		return string(b), ""
	}
	return hex.EncodeToString(b), "hex"
}
