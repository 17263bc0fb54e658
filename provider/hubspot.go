package provider

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// hubspot verifies HubSpot webhooks in one of three signature versions,
// chosen with options.version (default "3"); the secret is the app's client
// secret.
//
//   - v3: `X-HubSpot-Signature-v3` is the base64 HMAC-SHA256 of method, URI,
//     raw body and `X-HubSpot-Request-Timestamp` concatenated, the timestamp being Unix
//     MILLISECONDS; requests older than the tolerance (5 minutes) are
//     rejected.
//   - v2: `X-HubSpot-Signature` is the hex SHA-256 (a plain hash, no HMAC) of
//     secret + method + URI + raw body.
//   - v1: `X-HubSpot-Signature` is the hex SHA-256 of secret + raw body.
//
// The URI is the URL HubSpot called (public_url plus query), so v2 and v3
// need public_url. v1 and v2 sign no time and can be replayed.
type hubspot struct {
	version   string
	secrets   []string
	tolerance time.Duration
}

func newHubSpot(cfg Config) (Scheme, error) {
	v := strings.TrimPrefix(strings.ToLower(cfg.Options["version"]), "v")
	if v == "" {
		v = "3"
	}
	if err := requireSecrets("hubspot", cfg.Secrets); err != nil {
		return nil, err
	}
	if err := checkOptions("hubspot", cfg.Options, "version"); err != nil {
		return nil, err
	}
	switch v {
	case "1":
	case "2", "3":
		if cfg.PublicURL == "" {
			return nil, fmt.Errorf("provider hubspot: signature v%s signs the URL: set public_url to the URL HubSpot calls", v)
		}
	default:
		return nil, fmt.Errorf("provider hubspot: options.version must be 1, 2 or 3, not %q", cfg.Options["version"])
	}
	return &hubspot{version: v, secrets: cfg.Secrets, tolerance: cfg.Tolerance}, nil
}

// hubspotDecoder undoes the percent-encodings HubSpot's v3 guide says to
// decode in the URI before signing.
var hubspotDecoder = strings.NewReplacer(
	"%3A", ":", "%2F", "/", "%3F", "?", "%40", "@", "%21", "!", "%24", "$",
	"%27", "'", "%28", "(", "%29", ")", "%2A", "*", "%2C", ",", "%3B", ";",
)

// hubspotURIs returns the URIs to try: as received, and with HubSpot's
// listed characters decoded (the SDKs sign the URI as is, the guide decodes).
func hubspotURIs(uri string) []string {
	if d := hubspotDecoder.Replace(uri); d != uri {
		return []string{uri, d}
	}
	return []string{uri}
}

func (s *hubspot) Verify(r *Request) (Result, error) {
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	matched := false
	switch s.version {
	case "3":
		v := header(r.Header, "X-HubSpot-Signature-v3")
		if v == "" {
			return Result{}, missing("X-HubSpot-Signature-v3")
		}
		sig, ok := decodeBase64(v)
		if !ok {
			return Result{}, Reject(ReasonMalformedHeader, "X-HubSpot-Signature-v3 is not base64")
		}
		ts := header(r.Header, "X-HubSpot-Request-Timestamp")
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return Result{}, Reject(ReasonMalformedHeader, "X-HubSpot-Request-Timestamp %q is not Unix milliseconds", truncate(ts, 32))
		}
		for _, uri := range hubspotURIs(r.URL) {
			for _, sec := range s.secrets {
				if equal(mac(sha256.New, []byte(sec), []byte(method+uri), r.Body, []byte(ts)), sig) {
					matched = true
				}
			}
		}
		if !matched {
			return Result{}, mismatch(len(s.secrets))
		}
		if err := checkTimestamp(time.UnixMilli(ms), r.Now, s.tolerance); err != nil {
			return Result{}, err
		}
	default:
		v := header(r.Header, "X-HubSpot-Signature")
		if v == "" {
			return Result{}, missing("X-HubSpot-Signature")
		}
		if got := strings.TrimPrefix(strings.ToLower(header(r.Header, "X-HubSpot-Signature-Version")), "v"); got != "" && got != s.version {
			return Result{}, Reject(ReasonUnknownVersion, "X-HubSpot-Signature-Version is v%s but the source expects v%s", truncate(got, 8), s.version)
		}
		sig, ok := decodeHex(v)
		if !ok {
			return Result{}, Reject(ReasonMalformedHeader, "X-HubSpot-Signature is not hex")
		}
		for _, sec := range s.secrets {
			if equal(hubspotHash(s.version, sec, method, r.URL, r.Body), sig) {
				matched = true
			}
		}
		if !matched {
			return Result{}, mismatch(len(s.secrets))
		}
	}
	return hubspotResult(r.Body), nil
}

// hubspotHash is the v1 or v2 signature.
func hubspotHash(version, secret, method, uri string, body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(secret))
	if version == "2" {
		h.Write([]byte(method + uri))
	}
	h.Write(body)
	return h.Sum(nil)
}

// hubspotResult reads a batch of webhook events ([{eventId, subscriptionType,
// ...}]); a body that is a single object (workflow actions) has no event ID.
func hubspotResult(body []byte) Result {
	if len(body) == 0 {
		return Result{}
	}
	events, ok := jsonArray(body)
	if !ok {
		if doc, ok := jsonObject(body); ok {
			return Result{EventID: jsonString(doc, "eventId"), EventType: jsonString(doc, "subscriptionType")}
		}
		return Result{Malformed: true}
	}
	ids := make([]string, len(events))
	types := make([]string, len(events))
	for i, e := range events {
		ids[i] = jsonString(e, "eventId")
		types[i] = jsonString(e, "subscriptionType")
	}
	return Result{EventID: batchID(ids), EventType: batchType(types)}
}

// Sign sets the headers HubSpot sends for the configured version.
func (s *hubspot) Sign(h http.Header, url string, body []byte, now time.Time) error {
	if len(s.secrets) == 0 {
		return fmt.Errorf("hubspot: no secret")
	}
	const method = http.MethodPost
	if s.version == "3" {
		ts := strconv.FormatInt(now.UnixMilli(), 10)
		h.Set("X-HubSpot-Request-Timestamp", ts)
		h.Set("X-HubSpot-Signature-v3", base64.StdEncoding.EncodeToString(mac(sha256.New, []byte(s.secrets[0]), []byte(method+url), body, []byte(ts))))
		return nil
	}
	h.Set("X-HubSpot-Signature-Version", "v"+s.version)
	h.Set("X-HubSpot-Signature", hex.EncodeToString(hubspotHash(s.version, s.secrets[0], method, url, body)))
	return nil
}
