// Package encrypt is encryption at rest: AES-256-GCM under a list of keys,
// the first of which encrypts while every one decrypts (so keys rotate
// without downtime). The stores (sqlite/, postgres/) receive a Cipher
// through their Open options and seal an event's or a quarantined
// request's headers and body on write and open them on read; nothing above
// the stores knows.
//
// A sealed payload is nonce (12 random bytes) || ciphertext || tag, with
// the row's table and ID as additional data: a payload copied into another
// row, or another table, does not open. A row stores the ID of its key
// (KeyID: the first 8 bytes of the key's SHA-256, in hex), never the key.
package encrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

const nonceSize = 12

// KeyID is the ID stored beside each row sealed under key: the first 8
// bytes of its SHA-256, in hex (`base64 -d <<<KEY | sha256sum | cut -c1-16`).
// It names a key in errors and listings without revealing it.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// ParseKey decodes a key written as base64 of 32 bytes (standard or URL
// alphabet, padded or not). The error never quotes the key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("a key must be base64 of %d bytes, this one decodes to %d (make one with: openssl rand -base64 32)", KeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("a key must be base64 of %d bytes, this one is not base64 (make one with: openssl rand -base64 32)", KeySize)
}

// Cipher seals and opens payloads. A nil *Cipher is encryption off: it
// writes plaintext and opens only plaintext rows.
type Cipher struct {
	primary *key // nil: decrypt only
	keys    map[string]*key
	ids     []string // in the order given
}

type key struct {
	id   string
	aead cipher.AEAD
}

// New returns a cipher over keys (each KeySize bytes): the first seals,
// every one opens. With decryptOnly, nothing is sealed any more (rows are
// written in plaintext, and rotation decrypts the others): the way to turn
// encryption off.
func New(keys [][]byte, decryptOnly bool) (*Cipher, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("encrypt: no key")
	}
	c := &Cipher{keys: make(map[string]*key, len(keys))}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("encrypt: key %d is %d bytes, not %d", i, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("encrypt: key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("encrypt: key %d: %w", i, err)
		}
		kk := &key{id: KeyID(k), aead: aead}
		if _, dup := c.keys[kk.id]; dup {
			return nil, fmt.Errorf("encrypt: key %d (ID %s) is listed twice", i, kk.id)
		}
		c.keys[kk.id] = kk
		c.ids = append(c.ids, kk.id)
		if i == 0 && !decryptOnly {
			c.primary = kk
		}
	}
	return c, nil
}

// KeyID returns the ID of the key that seals ("" when c is nil or decrypt
// only: rows are written in plaintext).
func (c *Cipher) KeyID() string {
	if c == nil || c.primary == nil {
		return ""
	}
	return c.primary.id
}

// Has reports whether c opens rows sealed under the key with this ID ("":
// plaintext, always).
func (c *Cipher) Has(id string) bool {
	if id == "" {
		return true
	}
	if c == nil {
		return false
	}
	_, ok := c.keys[id]
	return ok
}

// KeyIDs returns the IDs of every key, the sealing one first.
func (c *Cipher) KeyIDs() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.ids)
}

// Seal encrypts plaintext under the first key, bound to aad, and returns
// the key's ID and nonce || ciphertext. With encryption off it returns ""
// and plaintext itself.
func (c *Cipher) Seal(aad, plaintext []byte) (keyID string, sealed []byte, err error) {
	if c == nil || c.primary == nil {
		return "", plaintext, nil
	}
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+c.primary.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return "", nil, fmt.Errorf("encrypt: nonce: %w", err)
	}
	return c.primary.id, c.primary.aead.Seal(out, out, plaintext, aad), nil
}

// Open decrypts what Seal returned under the key keyID for aad. A keyID of
// "" is a plaintext row: sealed is returned as it is. A key c lacks is an
// EINVALID error naming its ID; a payload that does not authenticate
// (altered, or moved from another row) is an EINTERNAL error: never
// garbage.
func (c *Cipher) Open(keyID string, aad, sealed []byte) ([]byte, error) {
	if keyID == "" {
		return sealed, nil
	}
	if !c.Has(keyID) {
		return nil, MissingKeyError(keyID, c)
	}
	k := c.keys[keyID]
	if len(sealed) < nonceSize+k.aead.Overhead() {
		return nil, hookwatch.Errorf(hookwatch.EINTERNAL, "encrypted payload is too short: altered or damaged")
	}
	out, err := k.aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], aad)
	if err != nil {
		return nil, hookwatch.Errorf(hookwatch.EINTERNAL, "encrypted payload does not authenticate under key ID %s: altered, damaged or moved from another row", keyID)
	}
	return out, nil
}

// MissingKeyError is the error for rows sealed under keyID, which c (nil:
// no encryption configured) cannot open.
func MissingKeyError(keyID string, c *Cipher) error {
	if c == nil {
		return hookwatch.Errorf(hookwatch.EINVALID,
			"the store holds rows encrypted with key ID %s, and no encryption key is configured: add the key whose ID that is to encryption.keys", keyID)
	}
	return hookwatch.Errorf(hookwatch.EINVALID,
		"the store holds rows encrypted with key ID %s, which encryption.keys (IDs %s) does not list: add the key whose ID that is (a wrong key has another ID)",
		keyID, strings.Join(c.ids, ", "))
}

// AAD is the additional data binding a payload to its row: the table and
// the row's ID.
func AAD(table, id string) []byte {
	return []byte("hookwatch\x00" + table + "\x00" + id)
}

// SealPayload returns the stored columns of a row's headers and body, and
// its key ID. In plaintext, headers are their JSON and the body is as it
// is; sealed, both are in one payload in the body column (the length of
// the headers' JSON as a uvarint, the JSON, then the body) and the headers
// column is empty.
func (c *Cipher) SealPayload(table, id string, headers http.Header, body []byte) (headersCol string, bodyCol []byte, keyID string, err error) {
	h, err := json.Marshal(headers)
	if err != nil {
		return "", nil, "", fmt.Errorf("encode headers: %w", err)
	}
	if c.KeyID() == "" {
		if body == nil {
			body = []byte{}
		}
		return string(h), body, "", nil
	}
	plain := make([]byte, 0, binary.MaxVarintLen64+len(h)+len(body))
	plain = binary.AppendUvarint(plain, uint64(len(h)))
	plain = append(append(plain, h...), body...)
	keyID, sealed, err := c.Seal(AAD(table, id), plain)
	if err != nil {
		return "", nil, "", err
	}
	return "", sealed, keyID, nil
}

// OpenPayload is the inverse of SealPayload: the headers and body of the
// row id of table from its stored columns.
func (c *Cipher) OpenPayload(table, id, keyID, headersCol string, bodyCol []byte) (http.Header, []byte, error) {
	h := []byte(headersCol)
	body := bodyCol
	if keyID != "" {
		plain, err := c.Open(keyID, AAD(table, id), bodyCol)
		if err != nil {
			return nil, nil, err
		}
		n, k := binary.Uvarint(plain)
		if k <= 0 || n > uint64(len(plain)-k) {
			return nil, nil, hookwatch.Errorf(hookwatch.EINTERNAL, "decrypted payload is malformed")
		}
		h, body = plain[k:k+int(n)], plain[k+int(n):]
	}
	headers := http.Header{}
	if err := json.Unmarshal(h, &headers); err != nil {
		return nil, nil, fmt.Errorf("decode headers: %w", err)
	}
	return headers, body, nil
}

// SealSent returns the stored columns of an attempt's request as sent (nil:
// nothing recorded, a nil body column), sealed like a payload bound to the
// attempt (its delivery and time) when c seals.
func (c *Cipher) SealSent(deliveryID string, at time.Time, r *hookwatch.SentRequest) (headersCol string, bodyCol []byte, keyID string, err error) {
	if r == nil {
		return "", nil, "", nil
	}
	return c.SealPayload("attempts", sentID(deliveryID, at), r.Headers, r.Body)
}

// OpenSent is the inverse of SealSent: nil when bodyCol is nil.
func (c *Cipher) OpenSent(deliveryID string, at time.Time, url, keyID, headersCol string, bodyCol []byte, size int) (*hookwatch.SentRequest, error) {
	if bodyCol == nil {
		return nil, nil
	}
	h, body, err := c.OpenPayload("attempts", sentID(deliveryID, at), keyID, headersCol, bodyCol)
	if err != nil {
		return nil, err
	}
	return &hookwatch.SentRequest{URL: url, Headers: h, Body: body, BodySize: size}, nil
}

func sentID(deliveryID string, at time.Time) string {
	return deliveryID + "@" + strconv.FormatInt(at.UnixMicro(), 10)
}

// SealFilterError returns the stored columns of why a route's filter
// failed for an event (table event_filters): the text as it is and no
// sealed bytes when c does not seal or there is no text (the filter was
// false), otherwise "" and the text sealed, bound to the event and the
// route, with its key ID.
func (c *Cipher) SealFilterError(eventID string, route int, msg string) (plain string, sealed []byte, keyID string, err error) {
	if msg == "" || c.KeyID() == "" {
		return msg, nil, "", nil
	}
	keyID, sealed, err = c.Seal(AAD("event_filters", filterID(eventID, route)), []byte(msg))
	if err != nil {
		return "", nil, "", err
	}
	return "", sealed, keyID, nil
}

// OpenFilterError is the inverse of SealFilterError.
func (c *Cipher) OpenFilterError(eventID string, route int, keyID, plain string, sealed []byte) (string, error) {
	if keyID == "" {
		return plain, nil
	}
	b, err := c.Open(keyID, AAD("event_filters", filterID(eventID, route)), sealed)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func filterID(eventID string, route int) string { return eventID + "#" + strconv.Itoa(route) }

// SealSecret seals a secret the store must be able to read back (a
// handshake secret), bound to aad: under c's key when c seals, else under
// the installation key (called only then), with the key ID
// hookwatch.InstallationKeyID. Unlike payloads, a secret is never stored in
// plaintext.
func (c *Cipher) SealSecret(installationKey func() ([]byte, error), aad, secret []byte) (keyID string, sealed []byte, err error) {
	if c.KeyID() != "" {
		return c.Seal(aad, secret)
	}
	ik, err := installationKey()
	if err != nil {
		return "", nil, err
	}
	aead, err := installationAEAD(ik)
	if err != nil {
		return "", nil, err
	}
	out := make([]byte, nonceSize, nonceSize+len(secret)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return "", nil, fmt.Errorf("encrypt: nonce: %w", err)
	}
	return hookwatch.InstallationKeyID, aead.Seal(out, out, secret, aad), nil
}

// OpenSecret opens what SealSecret returned; installationKey is called only
// for a secret sealed under it.
func (c *Cipher) OpenSecret(installationKey func() ([]byte, error), keyID string, aad, sealed []byte) ([]byte, error) {
	if keyID == "" {
		return nil, hookwatch.Errorf(hookwatch.EINTERNAL, "a secret is stored unsealed: the store is damaged")
	}
	if keyID != hookwatch.InstallationKeyID {
		return c.Open(keyID, aad, sealed)
	}
	ik, err := installationKey()
	if err != nil {
		return nil, err
	}
	aead, err := installationAEAD(ik)
	if err != nil {
		return nil, err
	}
	if len(sealed) < nonceSize+aead.Overhead() {
		return nil, hookwatch.Errorf(hookwatch.EINTERNAL, "sealed secret is too short: altered or damaged")
	}
	out, err := aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], aad)
	if err != nil {
		return nil, hookwatch.Errorf(hookwatch.EINTERNAL, "sealed secret does not authenticate under the installation key: altered, damaged or moved from another row")
	}
	return out, nil
}

// ResealSecret returns secret, opened from under keyID, sealed again under
// c's sealing key when that is another key (the secret was kept before a
// rotation, or before encryption.keys was set), so that the store can write
// it back and the old key can be removed; ok is false when there is nothing
// to do or the sealing failed (the store tries again at the next read).
func (c *Cipher) ResealSecret(keyID string, aad, secret []byte) (newKeyID string, sealed []byte, ok bool) {
	kid := c.KeyID()
	if kid == "" || kid == keyID {
		return "", nil, false
	}
	newKeyID, sealed, err := c.Seal(aad, secret)
	return newKeyID, sealed, err == nil
}

// installationAEAD is AES-256-GCM under a key derived from the
// installation key (never the installation key itself, which seals token
// headers by HMAC).
func installationAEAD(installationKey []byte) (cipher.AEAD, error) {
	if len(installationKey) != hookwatch.InstallationKeySize {
		return nil, hookwatch.Errorf(hookwatch.EINTERNAL, "encrypt: the installation key is %d bytes, not %d", len(installationKey), hookwatch.InstallationKeySize)
	}
	k := sha256.Sum256(append([]byte("hookwatch secret seal\x00"), installationKey...))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
