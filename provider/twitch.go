package provider

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// twitch verifies Twitch EventSub webhooks: `Twitch-Eventsub-Message-Signature:
// sha256=<hex>`, the HMAC-SHA256 of message ID + timestamp + raw body keyed
// with the subscription's secret. The timestamp is RFC 3339 (with
// nanoseconds); Twitch asks receivers to reject messages older than ten
// minutes, the default tolerance here. A `webhook_callback_verification`
// message is answered, after verification, with its challenge as plain text;
// a `revocation` is stored as an event.
type twitch struct {
	keys      [][]byte
	tolerance time.Duration
}

// twitchTolerance is the age beyond which Twitch says to drop a message.
const twitchTolerance = 10 * time.Minute

func newTwitch(cfg Config) (Scheme, error) {
	if err := plainConfig("twitch", cfg); err != nil {
		return nil, err
	}
	return &twitch{keys: stringKeys(cfg.Secrets), tolerance: toleranceOr(cfg.Tolerance, twitchTolerance)}, nil
}

func (s *twitch) Verify(r *Request) (Result, error) {
	v := header(r.Header, "Twitch-Eventsub-Message-Signature")
	if v == "" {
		return Result{}, missing("Twitch-Eventsub-Message-Signature")
	}
	hx, ok := strings.CutPrefix(v, "sha256=")
	if !ok {
		return Result{}, Reject(ReasonUnknownVersion, "Twitch-Eventsub-Message-Signature does not start with sha256=")
	}
	sig, ok := decodeHex(hx)
	if !ok {
		return Result{}, Reject(ReasonMalformedHeader, "Twitch-Eventsub-Message-Signature is not hex")
	}
	id := header(r.Header, "Twitch-Eventsub-Message-Id")
	ts := header(r.Header, "Twitch-Eventsub-Message-Timestamp")
	if id == "" || ts == "" {
		return Result{}, Reject(ReasonMalformedHeader, "Twitch-Eventsub-Message-Id and -Timestamp are both required")
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return Result{}, Reject(ReasonMalformedHeader, "Twitch-Eventsub-Message-Timestamp %q is not RFC 3339", truncate(ts, 40))
	}
	if !macMatches(sha256.New, s.keys, sig, []byte(id), []byte(ts), r.Body) {
		return Result{}, mismatch(len(s.keys))
	}
	if err := checkTimestamp(t, r.Now, s.tolerance); err != nil {
		return Result{}, err
	}
	kind := header(r.Header, "Twitch-Eventsub-Message-Type")
	doc, ok := jsonObject(r.Body)
	if !ok {
		return Result{EventID: id, EventType: kind, Malformed: true}, nil
	}
	subType := jsonString(doc, "subscription.type")
	switch kind {
	case "webhook_callback_verification":
		return Result{Handshake: &Handshake{
			Status:      http.StatusOK,
			ContentType: "text/plain",
			Body:        []byte(jsonString(doc, "challenge")),
		}}, nil
	case "revocation":
		return Result{EventID: id, EventType: "revocation." + subType}, nil
	}
	return Result{EventID: id, EventType: subType}, nil
}

// Sign sets the Twitch-Eventsub-Message-* headers for body at now. It keeps
// a message ID already set in h (Twitch reuses it on retries) and makes up
// one otherwise.
func (s *twitch) Sign(h http.Header, _ string, body []byte, now time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("twitch: no secret")
	}
	id := h.Get("Twitch-Eventsub-Message-Id")
	if id == "" {
		id = randomID()
		h.Set("Twitch-Eventsub-Message-Id", id)
	}
	if h.Get("Twitch-Eventsub-Message-Type") == "" {
		h.Set("Twitch-Eventsub-Message-Type", "notification")
	}
	ts := now.UTC().Format(time.RFC3339Nano)
	h.Set("Twitch-Eventsub-Message-Timestamp", ts)
	h.Set("Twitch-Eventsub-Message-Signature", "sha256="+hex.EncodeToString(mac(sha256.New, s.keys[0], []byte(id), []byte(ts), body)))
	return nil
}

// randomID returns a random UUID-shaped identifier for signers that must
// invent a message ID.
func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}
