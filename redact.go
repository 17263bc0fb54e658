package hookwatch

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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
	"X-Hook-Secret":       true, // Asana's handshake hands over its signing secret
}

// tokenHeaders are the credential headers whose value a scheme compares
// with a configured secret (GitLab sends its secret token itself). Where a
// request is kept to be verified again later (the quarantine), they are
// stored sealed (Seal), never as they came; other credentials are redacted.
var tokenHeaders = map[string]bool{
	"X-Gitlab-Token": true,
}

// signatureHeaders carry signatures: not secrets, but never sent to an error
// tracker, and redacted where headers leave Hookwatch.
var signatureHeaders = []string{"signature", "hmac", "x-hub-", "x-slack-", "x-twilio-", "x-zm-", "x-hookwatch-sig"}

// secretHeaderLen[n] is set when a secret header's name has n bytes: most
// names are not, and need no canonicalising (the receive path asks about
// every header of every request).
var secretHeaderLen = func() (l [32]bool) {
	for k := range secretHeaders {
		l[len(k)] = true
	}
	return l
}()

// IsSecretHeader reports whether a header's value is a credential.
func IsSecretHeader(name string) bool {
	if secretHeaders[name] {
		return true
	}
	if len(name) >= len(secretHeaderLen) || !secretHeaderLen[len(name)] {
		return false
	}
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

// Redacted is what a credential header's value is replaced with.
const Redacted = "[redacted]"

// RedactHeaders returns a copy of h with credential headers' values replaced
// by "[redacted]". With signatures set, signature headers are redacted too.
// A credential header whose values are all seals (SealHeaders) is kept as
// it is unless signatures is set: a seal is not the credential, and the
// quarantine needs it to verify the request again.
func RedactHeaders(h http.Header, signatures bool) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		if signatures && IsSignatureHeader(k) || IsSecretHeader(k) && !allSeals(v) {
			out[k] = []string{Redacted}
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	return out
}

// SealHeaders returns h as it may be stored: every credential header
// redacted, except the token headers (X-Gitlab-Token), which are sealed
// under key (Seal) so that a kept request can be verified again by sealing
// each configured secret the same way. With a nil key they are redacted
// too. h is not modified; h itself is returned, not a copy, when it holds
// no credential header: the receive path calls it for every request.
func SealHeaders(h http.Header, key []byte) http.Header {
	var out http.Header
	for k, v := range h {
		if !IsSecretHeader(k) {
			continue
		}
		if out == nil {
			// A shallow copy: the other headers' value slices are shared
			// with h, and neither is modified.
			out = make(http.Header, len(h))
			for k, v := range h {
				out[k] = v
			}
		}
		if key == nil || !tokenHeaders[http.CanonicalHeaderKey(k)] {
			out[k] = []string{Redacted}
			continue
		}
		sealed := make([]string, len(v))
		for i, s := range v {
			// Even a value that looks like a seal is sealed: what the
			// sender put there is not trusted to be one.
			sealed[i] = Seal(key, s)
		}
		out[k] = sealed
	}
	if out == nil {
		return h
	}
	return out
}

// InstallationKeySize is the size of an installation key, in bytes.
const InstallationKeySize = 32

// NewInstallationKey returns a new random installation key (the stores make
// one when they are first opened).
func NewInstallationKey() []byte {
	k := make([]byte, InstallationKeySize)
	rand.Read(k) // never fails: crypto/rand.Read panics rather than err
	return k
}

// sealPrefix starts every sealed value.
const sealPrefix = "hmac-sha256:"

// Seal returns the keyed hash a token header is stored as:
// "hmac-sha256:" and the standard base64 of HMAC-SHA256(key, value). key is
// the installation key (Store.InstallationKey), kept in its own table: rows
// copied without it (an export, a log, a screenshot) cannot be checked
// against guesses. Whoever has the whole store can, as with any hash: the
// token itself should be random.
func Seal(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return sealPrefix + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// IsSeal reports whether v has the form of a Seal.
func IsSeal(v string) bool {
	b, ok := strings.CutPrefix(v, sealPrefix)
	if !ok || len(b) != base64.StdEncoding.EncodedLen(sha256.Size) {
		return false
	}
	_, err := base64.StdEncoding.DecodeString(b)
	return err == nil
}

// SealMatches reports whether sealed is Seal(key, value), comparing in
// constant time.
func SealMatches(key []byte, sealed, value string) bool {
	return IsSeal(sealed) && hmac.Equal([]byte(sealed), []byte(Seal(key, value)))
}

func allSeals(vs []string) bool {
	for _, v := range vs {
		if !IsSeal(v) {
			return false
		}
	}
	return len(vs) > 0
}

// TextOrHex returns a body or answer as it can be shown or put in JSON: the
// text itself when it is UTF-8, else its hex with encoding "hex".
func TextOrHex(b []byte) (text, encoding string) {
	if utf8.Valid(b) {
		return string(b), ""
	}
	return hex.EncodeToString(b), "hex"
}
