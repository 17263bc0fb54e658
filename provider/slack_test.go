package provider

import (
	"net/http"
	"net/url"
	"testing"
)

func TestSlackBodies(t *testing.T) {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	s := mustNew(t, "slack", Config{Secrets: []string{secret}})
	interactive := url.Values{"payload": {`{"type":"block_actions","trigger_id":"1.2.3","actions":[]}`}}.Encode()
	for _, tc := range []struct {
		name, body         string
		id, typ            string
		malformed, handsha bool
	}{
		{"events api", `{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"reaction_added"}}`, "Ev08MFMKH6", "reaction_added", false, false},
		{"top-level type only", `{"type":"app_rate_limited","team_id":"T1"}`, "", "app_rate_limited", false, false},
		{"interactivity", interactive, "", "block_actions", false, false},
		{"slash command", "command=%2Fdeploy&text=prod", "", "/deploy", false, false},
		{"broken json", `{"type":"event_callback",`, "", "", true, false},
		{"broken payload", "payload=%7Bnope", "", "", true, false},
		{"url_verification", `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`, "", "url_verification", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Verify(signed(t, s, tc.body, testNow, testNow))
			if err != nil {
				t.Fatal(err)
			}
			if res.EventID != tc.id || res.EventType != tc.typ || res.Malformed != tc.malformed || (res.Handshake != nil) != tc.handsha {
				t.Errorf("result = %+v", res)
			}
			if tc.handsha {
				hs := res.Handshake
				if hs.Status != http.StatusOK || string(hs.Body) != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
					t.Errorf("handshake = %d %q", hs.Status, hs.Body)
				}
			}
		})
	}
}

// TestSlackHandshakeNeedsSignature: the challenge is only answered for a
// correctly signed, fresh request.
func TestSlackHandshakeNeedsSignature(t *testing.T) {
	s := mustNew(t, "slack", Config{Secrets: []string{"right"}})
	forger := mustNew(t, "slack", Config{Secrets: []string{"wrong"}})
	body := `{"challenge":"abc","type":"url_verification"}`
	res, err := s.Verify(signed(t, forger, body, testNow, testNow))
	wantReason(t, err, ReasonBadSignature, "right")
	if res.Handshake != nil {
		t.Fatal("handshake answered for a forged request")
	}
	res, err = s.Verify(signed(t, s, body, testNow.Add(-DefaultTolerance-1e9), testNow))
	wantReason(t, err, ReasonStaleTimestamp)
	if res.Handshake != nil {
		t.Fatal("handshake answered for a stale request")
	}
}

func TestSlackHeaderCases(t *testing.T) {
	s := mustNew(t, "slack", Config{Secrets: []string{"xoxs-signing-9f2c"}})
	r := signed(t, s, `{"type":"event_callback"}`, testNow, testNow)
	good := r.Header.Get("X-Slack-Signature")
	for _, tc := range []struct {
		name, sig, ts string
		want          Reason
	}{
		{"v1 version", "v1=" + good[3:], r.Header.Get("X-Slack-Request-Timestamp"), ReasonUnknownVersion},
		{"no version", good[3:], r.Header.Get("X-Slack-Request-Timestamp"), ReasonMalformedHeader},
		{"no timestamp header", good, "", ReasonMalformedHeader},
		{"timestamp not a number", good, "soon", ReasonMalformedHeader},
		{"timestamp re-formatted", good, "0" + r.Header.Get("X-Slack-Request-Timestamp"), ReasonBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("X-Slack-Signature", tc.sig)
			if tc.ts != "" {
				h.Set("X-Slack-Request-Timestamp", tc.ts)
			}
			_, err := s.Verify(&Request{Header: h, Body: r.Body, Now: testNow})
			wantReason(t, err, tc.want, "xoxs-signing-9f2c", good)
		})
	}
}
