package provider

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// Tests for the providers added with issue 19. Valid requests are computed
// here with crypto/* directly, never with the package's Sign.

type nextCase struct {
	provider  string
	body      string
	publicURL string
	options   map[string]string
	// build returns the headers (and URL) of a valid request signed with
	// secret at t.
	build      func(secret, body string, t time.Time) (http.Header, string)
	stale      time.Duration // 0: no signed time
	wantID     string
	wantType   string
	missingHdr string // the header whose absence is missing_signature
}

const nextURL = "https://hooks.example.com/in/src"

func nextCases() []nextCase {
	return []nextCase{
		{provider: "sentry", body: `{"action":"created","data":{"issue":{"id":"1170820242"}},"installation":{"uuid":"7a485448"}}`,
			build: func(sec, body string, _ time.Time) (http.Header, string) {
				return http.Header{"Sentry-Hook-Signature": {hmHex(sha256.New, sec, body)}, "Sentry-Hook-Resource": {"issue"}, "Request-Id": {"a9f6f5c2-0b1d-4e5f-9b64-5a3e6b1c2d3e"}}, nextURL
			}, wantID: "a9f6f5c2-0b1d-4e5f-9b64-5a3e6b1c2d3e", wantType: "issue.created", missingHdr: "Sentry-Hook-Signature"},
		{provider: "bitbucket", body: `{"push":{"changes":[]},"repository":{"full_name":"team/repo"}}`,
			build: func(sec, body string, _ time.Time) (http.Header, string) {
				return http.Header{"X-Hub-Signature": {"sha256=" + hmHex(sha256.New, sec, body)}, "X-Event-Key": {"repo:push"}, "X-Request-Uuid": {"4d3c1f9e-1111-2222-3333-444455556666"}}, nextURL
			}, wantID: "4d3c1f9e-1111-2222-3333-444455556666", wantType: "repo:push", missingHdr: "X-Hub-Signature"},
		{provider: "jira", body: `{"timestamp":1700000000000,"webhookEvent":"jira:issue_created","issue":{"key":"HW-1"}}`,
			build: func(sec, body string, _ time.Time) (http.Header, string) {
				return http.Header{"X-Hub-Signature": {"sha256=" + hmHex(sha256.New, sec, body)}, "X-Atlassian-Webhook-Identifier": {"1001"}}, nextURL
			}, wantID: "1001", wantType: "jira:issue_created", missingHdr: "X-Hub-Signature"},
		{provider: "dropbox", body: `{"list_folder":{"accounts":["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]},"delta":{"users":[12345678]}}`,
			build: func(sec, body string, _ time.Time) (http.Header, string) {
				return http.Header{"X-Dropbox-Signature": {hmHex(sha256.New, sec, body)}}, nextURL
			}, wantType: "list_folder", missingHdr: "X-Dropbox-Signature"},
		{provider: "box", body: `{"type":"webhook_event","id":"eac4fd65-c3c0-4a3b-9c2e-0d6e1c1a6e32","trigger":"FILE.UPLOADED","source":{"id":"12345","type":"file"}}`,
			build: func(sec, body string, t time.Time) (http.Header, string) {
				ts := t.UTC().Format(time.RFC3339)
				return http.Header{"Box-Delivery-Timestamp": {ts}, "Box-Signature-Primary": {hmB64(sha256.New, sec, body, ts)}, "Box-Signature-Secondary": {hmB64(sha256.New, "the-other-key", body, ts)}, "Box-Signature-Version": {"1"}, "Box-Signature-Algorithm": {"HmacSHA256"}}, nextURL
			}, stale: 11 * time.Minute, wantID: "eac4fd65-c3c0-4a3b-9c2e-0d6e1c1a6e32", wantType: "FILE.UPLOADED", missingHdr: "Box-Signature-Primary"},
		{provider: "docusign", body: `{"event":"envelope-completed","apiVersion":"v2.1","data":{"envelopeId":"93be49ab-0000-0000-0000-000000000000"}}`,
			build: func(sec, body string, _ time.Time) (http.Header, string) {
				// Two Connect keys active: ours is the second header.
				return http.Header{"X-Docusign-Signature-1": {hmB64(sha256.New, "another-connect-key", body)}, "X-Docusign-Signature-2": {hmB64(sha256.New, sec, body)}}, nextURL
			}, wantType: "envelope-completed", missingHdr: "X-Docusign-Signature-2"},
		{provider: "coinbase", body: `{"id":1,"scheduled_for":"2017-01-31T20:50:02Z","event":{"id":"24934862-d980-46cb-9402-43c81b0cdba6","type":"charge:created"}}`,
			build: func(sec, body string, _ time.Time) (http.Header, string) {
				return http.Header{"X-Cc-Webhook-Signature": {hmHex(sha256.New, sec, body)}}, nextURL
			}, wantID: "24934862-d980-46cb-9402-43c81b0cdba6", wantType: "charge:created", missingHdr: "X-Cc-Webhook-Signature"},
		{provider: "razorpay", body: `{"entity":"event","account_id":"acc_BFQ7uQEaa7j2z7","event":"payment.captured","payload":{}}`,
			build: func(sec, body string, _ time.Time) (http.Header, string) {
				return http.Header{"X-Razorpay-Signature": {hmHex(sha256.New, sec, body)}, "X-Razorpay-Event-Id": {"KyUadtRNFRv7gA"}}, nextURL
			}, wantID: "KyUadtRNFRv7gA", wantType: "payment.captured", missingHdr: "X-Razorpay-Signature"},
		{provider: "webflow", body: `{"triggerType":"form_submission","payload":{"name":"Contact"}}`,
			build: func(sec, body string, t time.Time) (http.Header, string) {
				ts := strconv.FormatInt(t.UnixMilli(), 10)
				return http.Header{"X-Webflow-Timestamp": {ts}, "X-Webflow-Signature": {hmHex(sha256.New, sec, ts, ":", body)}}, nextURL
			}, stale: 6 * time.Minute, wantType: "form_submission", missingHdr: "X-Webflow-Signature"},
		{provider: "trello", publicURL: nextURL, body: `{"action":{"id":"5f2b8a7e9c1d","type":"updateCard"},"model":{"id":"board1"}}`,
			build: func(sec, body string, _ time.Time) (http.Header, string) {
				return http.Header{"X-Trello-Webhook": {hmB64(sha1.New, sec, body, nextURL)}}, nextURL
			}, wantID: "5f2b8a7e9c1d", wantType: "updateCard", missingHdr: "X-Trello-Webhook"},
		{provider: "woocommerce", body: `{"id":727,"status":"processing"}`,
			build: func(sec, body string, _ time.Time) (http.Header, string) {
				return http.Header{"X-Wc-Webhook-Signature": {hmB64(sha256.New, sec, body)}, "X-Wc-Webhook-Topic": {"order.created"}, "X-Wc-Webhook-Delivery-Id": {"9f1c"}}, nextURL
			}, wantID: "9f1c", wantType: "order.created", missingHdr: "X-Wc-Webhook-Signature"},
		{provider: "okta", body: `{"eventType":"com.okta.event_hook","eventId":"b5a188b9-5ece-4636-b041-482ffda96311","data":{"events":[{"uuid":"1","eventType":"user.session.start"},{"uuid":"2","eventType":"user.session.start"}]}}`,
			build: func(sec, _ string, _ time.Time) (http.Header, string) {
				return http.Header{"Authorization": {sec}}, nextURL
			}, wantID: "b5a188b9-5ece-4636-b041-482ffda96311", wantType: "user.session.start", missingHdr: "Authorization"},
		{provider: "sanity", body: `{"_id":"movie-1","_type":"movie","title":"Alien"}`,
			build: func(sec, body string, t time.Time) (http.Header, string) {
				ts := strconv.FormatInt(t.UnixMilli(), 10)
				sig := base64.RawURLEncoding.EncodeToString(hm(sha256.New, sec, ts, ".", body))
				return http.Header{"Sanity-Webhook-Signature": {"t=" + ts + ",v1=" + sig}, "Idempotency-Key": {"msg_2cW1Ayb"}, "Sanity-Operation": {"update"}}, nextURL
			}, stale: 6 * time.Minute, wantID: "msg_2cW1Ayb", wantType: "update", missingHdr: "Sanity-Webhook-Signature"},
		{provider: "airtable", body: `{"base":{"id":"appXXXXXXXXXXXXXX"},"webhook":{"id":"achXXXXXXXXXXXXXX"},"timestamp":"2022-02-01T21:25:05.663Z"}`,
			build: func(sec, body string, _ time.Time) (http.Header, string) {
				key, _ := base64.StdEncoding.DecodeString(sec)
				return http.Header{"X-Airtable-Content-Mac": {"hmac-sha256=" + hmHex(sha256.New, string(key), body)}}, nextURL
			}, wantType: "ping", missingHdr: "X-Airtable-Content-Mac"},
		{provider: "postmark", body: `{"RecordType":"Delivery","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483"}`,
			build: func(sec, _ string, _ time.Time) (http.Header, string) {
				return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(sec))}}, nextURL
			}, wantType: "Delivery", missingHdr: "Authorization"},
	}
}

func nextSecret(provider string) (secret, other string) {
	if provider == "airtable" {
		return base64.StdEncoding.EncodeToString([]byte("airtable mac secret bytes")), base64.StdEncoding.EncodeToString([]byte("not the secret"))
	}
	if provider == "postmark" {
		return "hookwatch:s3cr3t-pass", "hookwatch:wrong"
	}
	return "the-" + provider + "-secret", "not-the-secret"
}

func TestNextProviders(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	for _, c := range nextCases() {
		t.Run(c.provider, func(t *testing.T) {
			secret, other := nextSecret(c.provider)
			newS := func(secrets ...string) Scheme {
				return mustNew(t, c.provider, Config{Secrets: secrets, PublicURL: c.publicURL, Options: c.options})
			}
			req := func(h http.Header, url, body string, at time.Time) *Request {
				return &Request{Method: http.MethodPost, URL: url, Header: h, Body: []byte(body), Now: at}
			}
			h, url := c.build(secret, c.body, now)
			res, err := newS(secret).Verify(req(h, url, c.body, now))
			if err != nil {
				t.Fatalf("valid request: %v", err)
			}
			if res.EventID != c.wantID || res.EventType != c.wantType || res.Malformed || res.Handshake != nil {
				t.Errorf("result %+v, want id %q type %q", res, c.wantID, c.wantType)
			}
			// Rotation: the right secret second still passes.
			if _, err := newS(other, secret).Verify(req(h, url, c.body, now)); err != nil {
				t.Errorf("secret listed second: %v", err)
			}
			// Another secret fails.
			_, err = newS(other).Verify(req(h, url, c.body, now))
			wantRejected(t, err, secret, ReasonBadSignature)
			// A tampered body fails (schemes that sign it).
			if c.provider != "okta" && c.provider != "postmark" {
				_, err = newS(secret).Verify(req(h, url, c.body+" ", now))
				wantRejected(t, err, secret, ReasonBadSignature)
			}
			// Without the signature header.
			h2 := h.Clone()
			h2.Del(c.missingHdr)
			switch c.provider {
			case "docusign":
				h2.Del("X-Docusign-Signature-1")
			case "box":
				h2.Del("Box-Signature-Secondary")
			}
			_, err = newS(secret).Verify(req(h2, url, c.body, now))
			wantRejected(t, err, secret, ReasonMissingSignature)
			if c.stale != 0 {
				_, err = newS(secret).Verify(req(h, url, c.body, now.Add(c.stale)))
				wantRejected(t, err, secret, ReasonStaleTimestamp)
				_, err = newS(secret).Verify(req(h, url, c.body, now.Add(-c.stale)))
				wantRejected(t, err, secret, ReasonFutureTimestamp)
			}
			// Not JSON but validly signed: stored, marked malformed.
			if c.provider != "okta" && c.provider != "postmark" && c.provider != "msgraph" {
				hb, url := c.build(secret, "not json", now)
				res, err := newS(secret).Verify(req(hb, url, "not json", now))
				if err != nil || !res.Malformed {
					t.Errorf("signed non-JSON body: %+v %v, want malformed", res, err)
				}
			}
			// Sign agrees with the independent computation.
			if sg, ok := newS(secret).(Signer); ok {
				hs := http.Header{}
				if err := sg.Sign(hs, url, []byte(c.body), now); err != nil {
					t.Fatal(err)
				}
				if _, err := newS(secret).Verify(req(hs, url, c.body, now)); err != nil {
					t.Errorf("a request made by Sign: %v", err)
				}
			}
		})
	}
}

func TestNextHandshakes(t *testing.T) {
	now := time.Now()
	verify := func(provider string, cfg Config, r *Request) (Result, error) {
		t.Helper()
		r.Now = now
		if r.Header == nil {
			r.Header = http.Header{}
		}
		return mustNew(t, provider, cfg).Verify(r)
	}
	// Dropbox: GET ?challenge= is echoed as text/plain.
	res, err := verify("dropbox", Config{Secrets: []string{"dropbox-app-secret"}}, &Request{Method: "GET", URL: nextURL + "?challenge=abc123"})
	if err != nil || res.Handshake == nil || string(res.Handshake.Body) != "abc123" || res.Handshake.ContentType != "text/plain; charset=utf-8" {
		t.Errorf("dropbox challenge: %+v %v", res, err)
	}
	_, err = verify("dropbox", Config{Secrets: []string{"dropbox-app-secret"}}, &Request{Method: "GET", URL: nextURL})
	wantRejected(t, err, "dropbox-app-secret", ReasonMissingSignature)
	_, err = verify("dropbox", Config{Secrets: []string{"dropbox-app-secret"}}, &Request{Method: "GET", URL: nextURL + "?challenge=" + string(make([]byte, 0)) + longString(maxChallenge+1)})
	wantRejected(t, err, "dropbox-app-secret", ReasonMalformedHeader)

	// Okta: the GET verification needs the secret header, answers JSON.
	okta := Config{Secrets: []string{"okta-secret"}, Options: map[string]string{"header": "X-Hook-Auth"}}
	res, err = verify("okta", okta, &Request{Method: "GET", Header: http.Header{"X-Hook-Auth": {"okta-secret"}, "X-Okta-Verification-Challenge": {"rQ5Fq"}}})
	var ans map[string]string
	if err != nil || res.Handshake == nil || json.Unmarshal(res.Handshake.Body, &ans) != nil || ans["verification"] != "rQ5Fq" {
		t.Errorf("okta verification: %+v %v", res, err)
	}
	_, err = verify("okta", okta, &Request{Method: "GET", Header: http.Header{"X-Hook-Auth": {"wrong"}, "X-Okta-Verification-Challenge": {"rQ5Fq"}}})
	wantRejected(t, err, "okta-secret", ReasonBadSignature)
	if _, err := New("okta", Config{Secrets: []string{"x"}, Options: map[string]string{"heder": "X"}}); err == nil {
		t.Error("okta accepted an unknown option")
	}

	// Trello: HEAD answered 200.
	res, err = verify("trello", Config{Secrets: []string{"dropbox-app-secret"}, PublicURL: nextURL}, &Request{Method: "HEAD"})
	if err != nil || res.Handshake == nil || res.Handshake.Status != 200 {
		t.Errorf("trello HEAD: %+v %v", res, err)
	}

	// WooCommerce: the unsigned save ping, and nothing else unsigned.
	res, err = verify("woocommerce", Config{Secrets: []string{"dropbox-app-secret"}}, &Request{Method: "POST", Body: []byte("webhook_id=42")})
	if err != nil || res.Handshake == nil {
		t.Errorf("woocommerce ping: %+v %v", res, err)
	}
	_, err = verify("woocommerce", Config{Secrets: []string{"dropbox-app-secret"}}, &Request{Method: "POST", Body: []byte(`{"id":1}`)})
	wantRejected(t, err, "dropbox-app-secret", ReasonMissingSignature)

	// Microsoft Graph: validationToken echoed; clientState checked on every item.
	g := Config{Secrets: []string{"client-state-secret"}}
	res, err = verify("msgraph", g, &Request{Method: "POST", URL: nextURL + "?validationToken=Validation%3A+Testing+client+application+reachability"})
	if err != nil || res.Handshake == nil || string(res.Handshake.Body) != "Validation: Testing client application reachability" {
		t.Errorf("msgraph validation: %+v %v", res, err)
	}
	two := func(a, b string) []byte {
		return []byte(`{"value":[{"subscriptionId":"s1","clientState":"` + a + `","changeType":"created","resource":"Users/1/Messages/2"},{"subscriptionId":"s1","clientState":"` + b + `","changeType":"created"}]}`)
	}
	res, err = verify("msgraph", g, &Request{Method: "POST", URL: nextURL, Body: two("client-state-secret", "client-state-secret")})
	if err != nil || res.EventType != "created" {
		t.Errorf("msgraph notifications: %+v %v", res, err)
	}
	_, err = verify("msgraph", g, &Request{Method: "POST", URL: nextURL, Body: two("client-state-secret", "forged")})
	wantRejected(t, err, "client-state-secret", ReasonBadSignature)
	_, err = verify("msgraph", g, &Request{Method: "POST", URL: nextURL, Body: []byte(`{"value":[{"changeType":"created"}]}`)})
	wantRejected(t, err, "client-state-secret", ReasonMissingSignature)
}

func longString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}

func TestBoxAndJiraHeaderEdges(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	body := `{"id":"e1","trigger":"FILE.UPLOADED"}`
	ts := now.UTC().Format(time.RFC3339)
	box := mustNew(t, "box", Config{Secrets: []string{"primary-key", "secondary-key"}})
	for _, tc := range []struct {
		name string
		h    http.Header
		want Reason
	}{
		{"secondary key only matches", http.Header{"Box-Delivery-Timestamp": {ts}, "Box-Signature-Primary": {hmB64(sha256.New, "retired", body, ts)}, "Box-Signature-Secondary": {hmB64(sha256.New, "secondary-key", body, ts)}}, ""},
		{"primary garbled, secondary valid", http.Header{"Box-Delivery-Timestamp": {ts}, "Box-Signature-Primary": {"%%%"}, "Box-Signature-Secondary": {hmB64(sha256.New, "secondary-key", body, ts)}}, ""},
		{"unknown version", http.Header{"Box-Delivery-Timestamp": {ts}, "Box-Signature-Version": {"2"}, "Box-Signature-Primary": {hmB64(sha256.New, "primary-key", body, ts)}}, ReasonUnknownVersion},
		{"timestamp not RFC 3339", http.Header{"Box-Delivery-Timestamp": {"yesterday"}, "Box-Signature-Primary": {hmB64(sha256.New, "primary-key", body, "yesterday")}}, ReasonMalformedHeader},
		{"timestamp not the signed one", http.Header{"Box-Delivery-Timestamp": {now.Add(time.Second).UTC().Format(time.RFC3339)}, "Box-Signature-Primary": {hmB64(sha256.New, "primary-key", body, ts)}}, ReasonBadSignature},
	} {
		_, err := box.Verify(&Request{Method: "POST", Header: tc.h, Body: []byte(body), Now: now})
		if ReasonOf(err) != tc.want || (tc.want == "" && err != nil) {
			t.Errorf("box %s: %v, want %q", tc.name, err, tc.want)
		}
	}
	jira := mustNew(t, "jira", Config{Secrets: []string{"k"}})
	for v, want := range map[string]Reason{
		"sha1=" + hmHex(sha1.New, "k", body):      ReasonUnknownVersion,
		"SHA256=" + hmHex(sha256.New, "k", body):  "",
		hmHex(sha256.New, "k", body):              ReasonMalformedHeader,
		"sha256=zz":                               ReasonMalformedHeader,
		"sha256=" + hmHex(sha256.New, "k2", body): ReasonBadSignature,
	} {
		_, err := jira.Verify(&Request{Method: "POST", Header: http.Header{"X-Hub-Signature": {v}}, Body: []byte(body), Now: now})
		if ReasonOf(err) != want || (want == "" && err != nil) {
			t.Errorf("jira %q: %v, want %q", v, err, want)
		}
	}
	if _, err := New("postmark", Config{Secrets: []string{"no-colon"}}); err == nil {
		t.Error("postmark accepted a secret that is not user:password")
	}
}
