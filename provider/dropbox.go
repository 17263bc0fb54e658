package provider

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// dropbox verifies Dropbox webhooks. Dropbox first checks the endpoint with
// `GET ?challenge=<value>` and expects the value echoed as text/plain (it is
// answered here, never stored, and the value is bounded); notifications are
// POSTs whose `X-Dropbox-Signature` is the hex HMAC-SHA256 of the raw body
// keyed with the app secret. A notification only says which accounts
// changed: it has no event ID (not deduplicated); the type is "list_folder"
// (or "delta" for the older format).
type dropbox struct{ keys [][]byte }

var dropboxMAC = bodyMAC{header: "X-Dropbox-Signature", hash: sha256.New}

// maxChallenge bounds a challenge value echoed back.
const maxChallenge = 1024

func newDropbox(cfg Config) (Scheme, error) {
	if err := plainConfig("dropbox", cfg); err != nil {
		return nil, err
	}
	return &dropbox{keys: stringKeys(cfg.Secrets)}, nil
}

// queryParam returns the named query parameter of a request URL.
func queryParam(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Query().Get(name)
}

func (s *dropbox) Verify(r *Request) (Result, error) {
	if r.Method == http.MethodGet {
		c := queryParam(r.URL, "challenge")
		if c == "" {
			return Result{}, Reject(ReasonMissingSignature, "a GET from Dropbox carries ?challenge=; this one has none")
		}
		if len(c) > maxChallenge {
			return Result{}, Reject(ReasonMalformedHeader, "challenge is longer than %d bytes", maxChallenge)
		}
		return Result{Handshake: &Handshake{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte(c)}}, nil
	}
	if err := dropboxMAC.verify(r, s.keys); err != nil {
		return Result{}, err
	}
	doc, ok := jsonObject(r.Body)
	if !ok {
		return Result{Malformed: true}, nil
	}
	res := Result{}
	switch {
	case doc["list_folder"] != nil:
		res.EventType = "list_folder"
	case doc["delta"] != nil:
		res.EventType = "delta"
	}
	return res, nil
}

// Sign sets X-Dropbox-Signature.
func (s *dropbox) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("dropbox: no secret")
	}
	h.Set(dropboxMAC.header, dropboxMAC.sign(s.keys[0], body))
	return nil
}
