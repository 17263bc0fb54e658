package provider

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// airtable verifies Airtable webhook notification pings:
// `X-Airtable-Content-MAC: hmac-sha256=<hex>`, the HMAC-SHA256 of the raw
// body keyed with the webhook's macSecretBase64 DECODED from base64 (the
// secret configured is that base64 string, as the create-webhook API
// returns it). No timestamp is signed. A ping only says a webhook has new
// payloads (list them with the API): no event ID, type "ping".
type airtable struct{ keys [][]byte }

var airtableMAC = bodyMAC{header: "X-Airtable-Content-MAC", prefix: "hmac-sha256=", hash: sha256.New}

func newAirtable(cfg Config) (Scheme, error) {
	if err := plainConfig("airtable", cfg); err != nil {
		return nil, err
	}
	s := &airtable{}
	for i, sec := range cfg.Secrets {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sec))
		if err != nil || len(k) == 0 {
			return nil, fmt.Errorf("provider airtable: secret %d is not base64 (use the webhook's macSecretBase64 as returned when it was created)", i+1)
		}
		s.keys = append(s.keys, k)
	}
	return s, nil
}

func (s *airtable) Verify(r *Request) (Result, error) {
	if err := airtableMAC.verify(r, s.keys); err != nil {
		return Result{}, err
	}
	if _, ok := jsonObject(r.Body); !ok {
		return Result{Malformed: true}, nil
	}
	return Result{EventType: "ping"}, nil
}

// Sign sets X-Airtable-Content-MAC.
func (s *airtable) Sign(h http.Header, _ string, body []byte, _ time.Time) error {
	if len(s.keys) == 0 {
		return fmt.Errorf("airtable: no secret")
	}
	h.Set(airtableMAC.header, airtableMAC.sign(s.keys[0], body))
	return nil
}
