package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// mailgun verifies Mailgun webhooks. Mailgun signs inside the body: a
// `signature` object {timestamp, token, signature} where signature is the hex
// HMAC-SHA256 of timestamp+token keyed with the HTTP webhook signing key.
// Since the body itself is not signed, only the token's one-time use stops a
// replay: tokens that verified are remembered for twice the tolerance and a
// second use is rejected with ReasonReplayed. Legacy form-encoded webhooks
// (timestamp, token, signature fields) are accepted too.
//
// Events of a subaccount's domain are signed with the subaccount's key and
// also carry `signature.parent-signature`, the same HMAC keyed with the
// primary account's key: either one matching a configured key passes, so a
// source may be configured with the primary key for all its subaccounts.
//
// The token cache is in memory, per scheme (per source), bounded; a restart
// forgets it, and several Hookwatch replicas do not share it. A store-backed
// cache may replace it.
type mailgun struct {
	keys      [][]byte
	tolerance time.Duration
	tokens    *tokenCache
}

// mailgunMaxTokens bounds the token cache. At Mailgun's peak rates a source
// sees far fewer distinct tokens within the replay window.
const mailgunMaxTokens = 100_000

func newMailgun(cfg Config) (Scheme, error) {
	if err := plainConfig("mailgun", cfg); err != nil {
		return nil, err
	}
	tol := toleranceOr(cfg.Tolerance, DefaultTolerance)
	ttl := 2 * tol
	if tol < 0 {
		ttl = 2 * DefaultTolerance
	}
	return &mailgun{keys: stringKeys(cfg.Secrets), tolerance: cfg.Tolerance, tokens: newTokenCache(mailgunMaxTokens, ttl)}, nil
}

// mailgunSigned is what Mailgun signs and the event fields read from one
// request.
type mailgunSigned struct {
	timestamp, token, signature string
	parentSignature             string // subaccount events: keyed with the primary account's key
	eventID, eventType          string
}

// parseMailgun reads the signature fields from a JSON or form body.
func parseMailgun(body []byte) (mailgunSigned, bool) {
	if doc, ok := jsonObject(body); ok {
		return mailgunSigned{
			timestamp:       jsonString(doc, "signature.timestamp"),
			token:           jsonString(doc, "signature.token"),
			signature:       jsonString(doc, "signature.signature"),
			parentSignature: jsonString(doc, "signature.parent-signature"),
			eventID:         jsonString(doc, "event-data.id"),
			eventType:       jsonString(doc, "event-data.event"),
		}, true
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("signature") == "" {
		return mailgunSigned{}, false
	}
	return mailgunSigned{
		timestamp: form.Get("timestamp"),
		token:     form.Get("token"),
		signature: form.Get("signature"),
		eventID:   form.Get("Message-Id"),
		eventType: form.Get("event"),
	}, true
}

func (s *mailgun) Verify(r *Request) (Result, error) {
	m, ok := parseMailgun(r.Body)
	if !ok || m.signature == "" {
		return Result{}, Reject(ReasonMissingSignature, "body has no signature object")
	}
	if m.timestamp == "" || m.token == "" {
		return Result{}, Reject(ReasonMalformedHeader, "signature object lacks timestamp or token")
	}
	sig, ok := decodeHex(m.signature)
	if !ok {
		return Result{}, Reject(ReasonMalformedHeader, "signature.signature is not hex")
	}
	t, err := parseUnix(m.timestamp)
	if err != nil {
		return Result{}, err
	}
	sigs := [][]byte{sig}
	// A parent-signature that is not hex is skipped, as a garbled entry of a
	// multi-signature header is: it cannot verify, the signature still may.
	if parent, ok := decodeHex(m.parentSignature); ok {
		sigs = append(sigs, parent)
	}
	matched := false
	for _, k := range s.keys {
		want := mac(sha256.New, k, []byte(m.timestamp), []byte(m.token))
		for _, got := range sigs {
			if equal(want, got) {
				matched = true
			}
		}
	}
	if !matched {
		return Result{}, mismatch(len(s.keys))
	}
	if err := checkTimestamp(t, r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	// The same token with the same body is Mailgun retrying (after a 503,
	// say): accepted, and absorbed by dedupe on the event ID. The same token
	// with another body is a forged replay of the signature object.
	if !s.tokens.add(m.token, sha256.Sum256(r.Body), r.Now) {
		return Result{}, Reject(ReasonReplayed, "token was already used by an earlier request with another body")
	}
	return Result{EventID: m.eventID, EventType: m.eventType}, nil
}

// Sign sets no header: Mailgun signs inside the body, which Sign cannot
// change. It checks instead that the body's signature object was made with
// the first secret, so a sender learns early that its body would be
// rejected; build the object with MailgunSignature.
func (s *mailgun) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("mailgun: no secret")
	}
	m, ok := parseMailgun(body)
	if !ok || m.signature == "" {
		return fmt.Errorf("mailgun: the body must carry its signature object (Mailgun signs inside the body)")
	}
	want := hex.EncodeToString(mac(sha256.New, s.keys[0], []byte(m.timestamp), []byte(m.token)))
	if !strings.EqualFold(want, m.signature) {
		return fmt.Errorf("mailgun: the body's signature object was not made with the first secret")
	}
	return nil
}

// MailgunSignature returns the signature Mailgun puts in a webhook body for
// timestamp (Unix seconds) and token, keyed with signingKey. Use it to build
// the body passed to the mailgun scheme's Sign.
func MailgunSignature(signingKey string, timestamp int64, token string) string {
	return hex.EncodeToString(mac(sha256.New, []byte(signingKey), []byte(strconv.FormatInt(timestamp, 10)), []byte(token)))
}

// tokenCache remembers one-time tokens for a TTL, holding at most max of
// them; when full it drops expired tokens, then the oldest.
type tokenCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	seen  map[string]time.Time
	body  map[string][sha256.Size]byte // digest of the body first seen with each token
	order []string                     // insertion order, for eviction
}

func newTokenCache(max int, ttl time.Duration) *tokenCache {
	return &tokenCache{ttl: ttl, max: max, seen: make(map[string]time.Time), body: make(map[string][sha256.Size]byte)}
}

// add records token with the digest of its body at now and reports whether
// it may pass: new (unseen, or seen longer ago than the TTL), or seen with the
// same body digest (a retry of the same request).
func (c *tokenCache) add(token string, digest [sha256.Size]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at, ok := c.seen[token]; ok && now.Sub(at) < c.ttl {
		return c.body[token] == digest
	}
	for len(c.order) > 0 && (len(c.seen) >= c.max || now.Sub(c.seen[c.order[0]]) >= c.ttl) {
		old := c.order[0]
		c.order = c.order[1:]
		if at, ok := c.seen[old]; ok && (now.Sub(at) >= c.ttl || len(c.seen) >= c.max) {
			delete(c.seen, old)
			delete(c.body, old)
		}
	}
	c.seen[token] = now
	c.body[token] = digest
	c.order = append(c.order, token)
	return true
}
