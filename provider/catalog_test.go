package provider

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tests for the second half of the catalogue (twilio ... zendesk, clerk,
// resend). Valid requests are computed here with crypto/* directly, never
// with the package's Sign, so a wrong recipe cannot pass by agreeing with
// itself.

func hm(h func() hash.Hash, key string, msg ...string) []byte {
	m := hmac.New(h, []byte(key))
	for _, s := range msg {
		m.Write([]byte(s))
	}
	return m.Sum(nil)
}

func hmHex(h func() hash.Hash, key string, msg ...string) string {
	return hex.EncodeToString(hm(h, key, msg...))
}

func hmB64(h func() hash.Hash, key string, msg ...string) string {
	return base64.StdEncoding.EncodeToString(hm(h, key, msg...))
}

// catalogVector is a public test vector of this half of the catalogue.
type catalogVector struct {
	Provider  string            `json:"provider"`
	Secret    string            `json:"secret"`
	Options   map[string]string `json:"options"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Now       int64             `json:"now"`
	NowMS     int64             `json:"now_ms"`
	Headers   map[string]string `json:"headers"`
	BodyFile  string            `json:"body_file"`
	EventID   string            `json:"event_id"`
	EventType string            `json:"event_type"`
	Malformed bool              `json:"malformed"`
}

var catalogProviders = []string{"twilio", "paddle", "square", "pagerduty", "hubspot", "sendgrid",
	"discord", "gitlab", "linear", "mailgun", "twitch", "zoom", "typeform", "lemonsqueezy",
	"intercom", "vercel", "calendly", "zendesk", "clerk", "resend",
	// issue 19
	"sentry", "bitbucket", "jira", "dropbox", "box", "docusign", "coinbase", "razorpay", "webflow",
	"trello", "woocommerce", "okta", "msgraph", "postmark", "sanity", "airtable"}

func TestCatalogRegistered(t *testing.T) {
	for _, name := range catalogProviders {
		info, ok := Lookup(name)
		if !ok || info.Name != name || info.Summary == "" || info.New == nil {
			t.Errorf("%s: registry entry %+v", name, info)
		}
		if src, err := os.ReadFile(filepath.Join("..", "testdata", "providers", name, "SOURCE.md")); err != nil || len(src) == 0 {
			t.Errorf("%s: no testdata SOURCE.md: %v", name, err)
		}
	}
	for _, name := range []string{"twilio", "square"} {
		if info, _ := Lookup(name); !info.NeedsPublicURL {
			t.Errorf("%s: NeedsPublicURL is false", name)
		}
	}
}

// TestCatalogPublicVectors verifies the providers' own published examples,
// then checks that a tampered body, another secret or (when timestamped) a
// later clock make them fail, and that rotation keeps them passing.
func TestCatalogPublicVectors(t *testing.T) {
	files := vectorFiles(catalogProviders...)
	if len(files) < 10 {
		t.Fatalf("found %d vector files, want at least 10", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			var v catalogVector
			body := loadVector(t, f, &v)
			h := vectorHeader(v.Headers)
			now := time.Unix(v.Now, 0)
			if v.NowMS != 0 {
				now = time.UnixMilli(v.NowMS)
			}
			method := v.Method
			if method == "" {
				method = http.MethodPost
			}
			req := func() *Request {
				return &Request{Method: method, URL: v.URL, Header: h.Clone(), Body: append([]byte(nil), body...), Now: now}
			}
			cfg := func(secrets ...string) Config {
				return Config{Secrets: secrets, Options: v.Options, PublicURL: v.URL}
			}
			s := mustNew(t, v.Provider, cfg(v.Secret))
			res, err := s.Verify(req())
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.EventID != v.EventID || res.EventType != v.EventType || res.Malformed != v.Malformed {
				t.Errorf("result = %+v, want id %q type %q malformed %v", res, v.EventID, v.EventType, v.Malformed)
			}

			r := req()
			if len(r.Body) == 0 {
				r.URL += "x" // nothing to tamper with but the URL
			} else {
				r.Body = append(r.Body, ' ')
			}
			_, err = s.Verify(r)
			wantRejected(t, err, v.Secret, ReasonBadSignature)

			if v.Provider != "sendgrid" { // a public key: tested in TestCatalogSendGridKeys
				other := otherSecret(v.Provider)
				_, err = mustNew(t, v.Provider, cfg(other)).Verify(req())
				wantRejected(t, err, v.Secret, ReasonBadSignature)
				if _, err := mustNew(t, v.Provider, cfg(other, v.Secret)).Verify(req()); err != nil {
					t.Errorf("with the vector's secret second: %v", err)
				}
			}
			if v.Now != 0 || v.NowMS != 0 {
				r := req()
				r.Now = r.Now.Add(24 * time.Hour)
				_, err := s.Verify(r)
				wantReason(t, err, ReasonStaleTimestamp, v.Secret)
			}
		})
	}
}

// otherSecret is a valid secret of the provider's form that is not the
// vector's.
func otherSecret(provider string) string {
	switch provider {
	case "clerk", "resend":
		return "whsec_" + base64.StdEncoding.EncodeToString([]byte("not the secret"))
	}
	return "not-the-secret"
}

// wantRejected asserts err is a *VerifyError with one of the reasons.
func wantRejected(t testing.TB, err error, secret string, reasons ...Reason) {
	t.Helper()
	got := ReasonOf(err)
	for _, r := range reasons {
		if got == r {
			wantReason(t, err, r, secret)
			return
		}
	}
	t.Fatalf("err = %v, want a rejection with reason in %v", err, reasons)
}

// catalogCase builds valid requests for one scheme by an independent
// computation of the provider's recipe.
type catalogCase struct {
	name    string
	secret  string // for Ed25519 schemes, a seed string; see pub
	options map[string]string
	body    string
	// build returns a valid request for body, signed with secret at
	// signedAt.
	build func(secret, body string, signedAt time.Time) *Request
	// stale is how far past signedAt the request is stale; 0 when the
	// scheme signs no time.
	stale time.Duration
	// reencode rewrites the request's signature into the wrong encoding.
	reencode  func(r *Request)
	wantID    string
	wantType  string
	publicURL string
	// cfgSecret maps a signing secret to the configured one (public key).
	cfgSecret func(string) string
}

const catURL = "https://hooks.example.com/in/src"

func post(url, body string, now time.Time, kv ...string) *Request {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return &Request{Method: http.MethodPost, URL: url, Header: h, Body: []byte(body), Now: now}
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// swapEnc rewrites header k from hex to base64 or the reverse, keeping any
// prefix before sep.
func swapEnc(k, prefix string, toB64 bool) func(r *Request) {
	return func(r *Request) {
		v := strings.TrimPrefix(r.Header.Get(k), prefix)
		if toB64 {
			v = hexToB64(v)
		} else {
			v = b64ToHex(v)
		}
		r.Header.Set(k, prefix+v)
	}
}

// hexToB64After returns a reencode that rewrites the hex signature following
// the first (or, with last, the final) marker in header k as base64.
func hexToB64After(k, marker string, last bool) func(r *Request) {
	return func(r *Request) {
		v := r.Header.Get(k)
		i := strings.Index(v, marker)
		if last {
			i = strings.LastIndex(v, marker)
		}
		r.Header.Set(k, v[:i]+marker+hexToB64(v[i+len(marker):]))
	}
}

func edKey(seed string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(seed))
	return ed25519.NewKeyFromSeed(s[:])
}

func edPubHex(seed string) string {
	return hex.EncodeToString(edKey(seed).Public().(ed25519.PublicKey))
}

var catalogCases = []catalogCase{
	{
		name: "twilio", secret: "auth-token-1", publicURL: catURL,
		body: "From=%2B15005550006&MessageSid=SM123&MessageStatus=delivered&Body=hi+there",
		build: func(sec, body string, at time.Time) *Request {
			// Sorted names, name+value appended to the URL.
			s := catURL + "Bodyhi there" + "From+15005550006" + "MessageSidSM123" + "MessageStatusdelivered"
			r := post(catURL, body, at, "X-Twilio-Signature", hmB64(sha1.New, sec, s), "I-Twilio-Idempotency-Token", "idem-1")
			return r
		},
		reencode: swapEnc("X-Twilio-Signature", "", false),
		wantID:   "idem-1", wantType: "delivered",
	},
	{
		name: "paddle", secret: "pdl_ntfset_test",
		body: `{"event_id":"evt_1","event_type":"transaction.completed","data":{}}`,
		build: func(sec, body string, at time.Time) *Request {
			ts := unix(at)
			return post(catURL, body, at, "Paddle-Signature", "ts="+ts+";h1=deadbeef;h1="+hmHex(sha256.New, sec, ts+":"+body))
		},
		stale:    6 * time.Minute,
		reencode: hexToB64After("Paddle-Signature", "h1=", true),
		wantID:   "evt_1", wantType: "transaction.completed",
	},
	{
		name: "square", secret: "sq-key", publicURL: catURL,
		body: `{"event_id":"e-1","type":"payment.updated"}`,
		build: func(sec, body string, at time.Time) *Request {
			return post(catURL, body, at, "X-Square-Hmacsha256-Signature", hmB64(sha256.New, sec, catURL+body))
		},
		reencode: swapEnc("X-Square-Hmacsha256-Signature", "", false),
		wantID:   "e-1", wantType: "payment.updated",
	},
	{
		name: "pagerduty", secret: "pd-secret",
		body: `{"event":{"id":"01DEN2","event_type":"incident.triggered"}}`,
		build: func(sec, body string, at time.Time) *Request {
			return post(catURL, body, at, "X-PagerDuty-Signature", "v1="+hmHex(sha256.New, "old", body)+",v1="+hmHex(sha256.New, sec, body))
		},
		reencode: func(r *Request) {
			parts := strings.Split(r.Header.Get("X-PagerDuty-Signature"), ",")
			for i, p := range parts {
				parts[i] = "v1=" + hexToB64(strings.TrimPrefix(p, "v1="))
			}
			r.Header.Set("X-PagerDuty-Signature", strings.Join(parts, ","))
		},
		wantID: "01DEN2", wantType: "incident.triggered",
	},
	{
		name: "hubspot", secret: "client-secret", publicURL: catURL + "?a=b%3Ac",
		body: `[{"eventId":7,"subscriptionType":"contact.creation"},{"eventId":8,"subscriptionType":"contact.creation"}]`,
		build: func(sec, body string, at time.Time) *Request {
			ts := strconv.FormatInt(at.UnixMilli(), 10)
			// HubSpot's guide decodes %3A in the URI before signing.
			r := post(catURL+"?a=b%3Ac", body, at, "X-HubSpot-Request-Timestamp", ts,
				"X-HubSpot-Signature-v3", hmB64(sha256.New, sec, "POST"+catURL+"?a=b:c"+body+ts))
			return r
		},
		stale:    6 * time.Minute,
		reencode: swapEnc("X-HubSpot-Signature-v3", "", false),
		wantID:   "batch:", wantType: "contact.creation",
	},
	{
		name: "discord", secret: "discord-seed",
		cfgSecret: edPubHex,
		body:      `{"id":"1234","type":2,"data":{"name":"hi"}}`,
		build: func(seed, body string, at time.Time) *Request {
			ts := unix(at)
			sig := ed25519.Sign(edKey(seed), []byte(ts+body))
			return post(catURL, body, at, "X-Signature-Ed25519", hex.EncodeToString(sig), "X-Signature-Timestamp", ts)
		},
		stale:    6 * time.Minute,
		reencode: swapEnc("X-Signature-Ed25519", "", true),
		wantID:   "1234", wantType: "APPLICATION_COMMAND",
	},
	{
		name: "gitlab", secret: "gl-token",
		body: `{"object_kind":"push"}`,
		build: func(sec, body string, at time.Time) *Request {
			return post(catURL, body, at, "X-Gitlab-Token", sec, "X-Gitlab-Event", "Push Hook",
				"Idempotency-Key", "idem-42", "X-Gitlab-Event-UUID", "uuid-1")
		},
		wantID: "idem-42", wantType: "Push Hook",
	},
	{
		name: "linear", secret: "lin_wh_secret",
		build: func(sec, _ string, at time.Time) *Request {
			body := fmt.Sprintf(`{"action":"create","type":"Issue","data":{"id":"x"},"webhookTimestamp":%d}`, at.UnixMilli())
			return post(catURL, body, at, "Linear-Signature", hmHex(sha256.New, sec, body), "Linear-Delivery", "dlv-1", "Linear-Event", "Issue")
		},
		stale:    2 * time.Minute,
		reencode: swapEnc("Linear-Signature", "", true),
		wantID:   "dlv-1", wantType: "Issue.create",
	},
	{
		name: "mailgun", secret: "key-mailgun",
		build: func(sec, _ string, at time.Time) *Request {
			ts := unix(at)
			tok := "tok-" + ts
			body := fmt.Sprintf(`{"signature":{"timestamp":"%s","token":"%s","signature":"%s"},"event-data":{"id":"mg-1","event":"delivered"}}`,
				ts, tok, hmHex(sha256.New, sec, ts+tok))
			return post(catURL, body, at)
		},
		stale:  6 * time.Minute,
		wantID: "mg-1", wantType: "delivered",
	},
	{
		name: "twitch", secret: "twitch-secret-123",
		body: `{"subscription":{"type":"channel.follow"},"event":{}}`,
		build: func(sec, body string, at time.Time) *Request {
			ts := at.UTC().Format(time.RFC3339Nano)
			return post(catURL, body, at, "Twitch-Eventsub-Message-Id", "msg-1", "Twitch-Eventsub-Message-Timestamp", ts,
				"Twitch-Eventsub-Message-Type", "notification",
				"Twitch-Eventsub-Message-Signature", "sha256="+hmHex(sha256.New, sec, "msg-1"+ts+body))
		},
		stale:    11 * time.Minute,
		reencode: swapEnc("Twitch-Eventsub-Message-Signature", "sha256=", true),
		wantID:   "msg-1", wantType: "channel.follow",
	},
	{
		name: "zoom", secret: "zoom-secret-token",
		body: `{"event":"meeting.started","event_ts":1626230691572,"payload":{}}`,
		build: func(sec, body string, at time.Time) *Request {
			ts := unix(at)
			return post(catURL, body, at, "X-Zm-Request-Timestamp", ts, "X-Zm-Signature", "v0="+hmHex(sha256.New, sec, "v0:"+ts+":"+body))
		},
		stale:    6 * time.Minute,
		reencode: swapEnc("X-Zm-Signature", "v0=", true),
		wantType: "meeting.started",
	},
	{
		name: "typeform", secret: "tf-secret",
		body: `{"event_id":"01F","event_type":"form_response","form_response":{}}`,
		build: func(sec, body string, at time.Time) *Request {
			return post(catURL, body, at, "Typeform-Signature", "sha256="+hmB64(sha256.New, sec, body))
		},
		reencode: swapEnc("Typeform-Signature", "sha256=", false),
		wantID:   "01F", wantType: "form_response",
	},
	{
		name: "lemonsqueezy", secret: "ls-secret",
		body: `{"meta":{"event_name":"order_created"},"data":{"id":"1"}}`,
		build: func(sec, body string, at time.Time) *Request {
			return post(catURL, body, at, "X-Signature", hmHex(sha256.New, sec, body), "X-Event-Name", "order_created")
		},
		reencode: swapEnc("X-Signature", "", true),
		wantType: "order_created",
	},
	{
		name: "intercom", secret: "ic-client-secret",
		body: `{"type":"notification_event","id":"notif_1","topic":"conversation.user.created"}`,
		build: func(sec, body string, at time.Time) *Request {
			return post(catURL, body, at, "X-Hub-Signature", "sha1="+hmHex(sha1.New, sec, body))
		},
		reencode: swapEnc("X-Hub-Signature", "sha1=", true),
		wantID:   "notif_1", wantType: "conversation.user.created",
	},
	{
		name: "vercel", secret: "vc-secret",
		body: `{"id":"evt_v","type":"deployment.created","payload":{}}`,
		build: func(sec, body string, at time.Time) *Request {
			return post(catURL, body, at, "X-Vercel-Signature", hmHex(sha1.New, sec, body))
		},
		reencode: swapEnc("X-Vercel-Signature", "", true),
		wantID:   "evt_v", wantType: "deployment.created",
	},
	{
		name: "calendly", secret: "cal-signing-key",
		body: `{"event":"invitee.created","payload":{}}`,
		build: func(sec, body string, at time.Time) *Request {
			ts := unix(at)
			return post(catURL, body, at, "Calendly-Webhook-Signature", "t="+ts+",v1="+hmHex(sha256.New, sec, ts+"."+body))
		},
		stale:    4 * time.Minute,
		reencode: hexToB64After("Calendly-Webhook-Signature", "v1=", false),
		wantType: "invitee.created",
	},
	{
		name: "zendesk", secret: "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==",
		body: `{"id":"zd-1","type":"zen:event-type:ticket.created","detail":{}}`,
		build: func(sec, body string, at time.Time) *Request {
			ts := at.UTC().Format(time.RFC3339)
			return post(catURL, body, at, "X-Zendesk-Webhook-Signature-Timestamp", ts,
				"X-Zendesk-Webhook-Signature", hmB64(sha256.New, sec, ts+body), "X-Zendesk-Webhook-Invocation-Id", "inv-1")
		},
		stale:    6 * time.Minute,
		reencode: swapEnc("X-Zendesk-Webhook-Signature", "", false),
		wantID:   "zd-1", wantType: "zen:event-type:ticket.created",
	},
}

func (c catalogCase) config(secrets ...string) Config {
	cfg := Config{Options: c.options, PublicURL: c.publicURL}
	for _, s := range secrets {
		if c.cfgSecret != nil {
			s = c.cfgSecret(s)
		}
		cfg.Secrets = append(cfg.Secrets, s)
	}
	return cfg
}

// TestCatalogSchemes checks each scheme accepts a request built from the
// provider's recipe and rejects a tampered body, another secret, a stale
// timestamp and a signature in the wrong encoding, and accepts rotated
// secrets.
func TestCatalogSchemes(t *testing.T) {
	for _, c := range catalogCases {
		t.Run(c.name, func(t *testing.T) {
			s := mustNew(t, c.name, c.config(c.secret))
			res, err := s.Verify(c.build(c.secret, c.body, testNow))
			if err != nil {
				t.Fatalf("Verify valid: %v", err)
			}
			if !strings.HasPrefix(res.EventID, c.wantID) || (c.wantID == "" && res.EventID != "") || res.EventType != c.wantType || res.Malformed || res.Handshake != nil {
				t.Errorf("result = %+v, want id %q type %q", res, c.wantID, c.wantType)
			}

			// Tampered: the body changes after signing.
			r := c.build(c.secret, c.body, testNow)
			if c.name == "mailgun" {
				// Mailgun signs only timestamp+token: tamper with the token.
				r.Body = []byte(strings.Replace(string(r.Body), `"token":"tok-`, `"token":"tok-x`, 1))
			} else if c.name == "twilio" {
				r.Body = append(r.Body, "&Extra=1"...)
			} else if c.name != "gitlab" { // GitLab signs nothing
				r.Body = []byte(strings.Replace(string(r.Body), "{", `{"x":1,`, 1))
			}
			if c.name != "gitlab" {
				_, err = s.Verify(r)
				wantReason(t, err, ReasonBadSignature, c.secret)
			}

			// Another secret; then rotation with the right one second.
			_, err = mustNew(t, c.name, c.config("some-other-secret")).Verify(c.build(c.secret, c.body, testNow))
			wantReason(t, err, ReasonBadSignature, c.secret)
			if _, err := mustNew(t, c.name, c.config("some-other-secret", c.secret)).Verify(c.build(c.secret, c.body, testNow)); err != nil {
				t.Errorf("rotated secrets: %v", err)
			}

			if c.stale != 0 {
				r := c.build(c.secret, c.body, testNow.Add(-c.stale))
				r.Now = testNow
				_, err := s.Verify(r)
				wantReason(t, err, ReasonStaleTimestamp, c.secret)
				r = c.build(c.secret, c.body, testNow.Add(c.stale))
				r.Now = testNow
				_, err = s.Verify(r)
				wantReason(t, err, ReasonFutureTimestamp, c.secret)
			}

			if c.reencode != nil {
				r := c.build(c.secret, c.body, testNow)
				c.reencode(r)
				_, err := s.Verify(r)
				wantRejected(t, err, c.secret, ReasonMalformedHeader, ReasonBadSignature)
			}

			// No signature at all.
			r = c.build(c.secret, c.body, testNow)
			r.Header = http.Header{}
			if c.name == "mailgun" {
				r.Body = []byte(`{"event-data":{"id":"mg-1"}}`)
			}
			_, err = s.Verify(r)
			wantReason(t, err, ReasonMissingSignature, c.secret)

			// A scheme that can sign must produce what it verifies.
			if signer, ok := s.(Signer); ok && c.name != "mailgun" && c.name != "linear" {
				h := http.Header{}
				body := c.body
				if err := signer.Sign(h, c.publicURL, []byte(body), testNow); err != nil {
					t.Fatalf("Sign: %v", err)
				}
				url := c.publicURL
				if _, err := s.Verify(&Request{Method: http.MethodPost, URL: url, Header: h, Body: []byte(body), Now: testNow}); err != nil {
					t.Errorf("Verify(Sign(...)): %v", err)
				}
			}
		})
	}
}
