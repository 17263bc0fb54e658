package ingest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
)

// TestProviderAck: a source whose provider expects a fixed answer body
// (Adyen's "[accepted]") gets it, as text/plain with 200, for a stored
// event and for a duplicate; Airtable gets the empty body it asks for; a
// rejection is the usual JSON 401; other sources keep the JSON answer.
func TestProviderAck(t *testing.T) {
	store := openStore(t)
	const key = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
	const airtableSecret = "c2VjcmV0LW1hYy1rZXktZm9yLWFpcnRhYmxlLXRlc3Q=" // base64, as Airtable returns macSecretBase64
	srv, _ := serveReceiver(t, store, ingest.Options{Sources: newSources(t, sourceSpec{name: "adyen", prov: "adyen", secret: key},
		sourceSpec{name: "stripe", prov: "stripe", secret: stripeSecret}, sourceSpec{name: "airtable", prov: "airtable", secret: airtableSecret})}, nil)

	k, _ := hex.DecodeString(key)
	m := hmac.New(sha256.New, k)
	m.Write([]byte("7914073381342284::TestMerchant:order-1:1130:EUR:AUTHORISATION:true"))
	sig := base64.StdEncoding.EncodeToString(m.Sum(nil))
	body := `{"live":"true","notificationItems":[{"NotificationRequestItem":{"pspReference":"7914073381342284","merchantAccountCode":"TestMerchant","merchantReference":"order-1","amount":{"value":1130,"currency":"EUR"},"eventCode":"AUTHORISATION","success":"true","additionalData":{"hmacSignature":"` + sig + `"}}}]}`
	post := func(path, body string, h http.Header) reply {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		for k, v := range h {
			req.Header[k] = v
		}
		return do(t, req)
	}
	for i := range 2 { // the second is a duplicate
		r := post("/in/adyen", body, nil)
		if r.status != http.StatusOK || r.raw != "[accepted]" || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("signed notification %d: %d %q %q, want 200 [accepted] text/plain", i+1, r.status, r.raw, r.header.Get("Content-Type"))
		}
	}
	evs, err := store.ListEvents(context.Background(), hookwatch.EventFilter{Source: "adyen", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ProviderEventID != "7914073381342284:AUTHORISATION:true" || evs[0].Type != "AUTHORISATION" {
		t.Fatalf("stored %+v, want one AUTHORISATION event", evs)
	}
	r := post("/in/adyen", strings.Replace(body, `"value":1130`, `"value":1`, 1), nil)
	if r.status != http.StatusUnauthorized || r.body["error"] != "bad_signature" {
		t.Errorf("tampered notification: %d %s, want 401 bad_signature", r.status, r.raw)
	}
	// Airtable asks for a 200 (or 204) with an empty body.
	ping := `{"base":{"id":"appAck"},"webhook":{"id":"achAck"},"timestamp":"2026-12-02T15:00:00.000Z"}`
	r = post("/in/airtable", ping, signed(t, "airtable", airtableSecret, ping, time.Now()))
	if r.status != http.StatusOK || r.raw != "" || r.header.Get("Content-Length") != "0" {
		t.Errorf("airtable ping: %d %q (Content-Length %q), want 200 with an empty body", r.status, r.raw, r.header.Get("Content-Length"))
	}
	if r = post("/in/airtable", ping+" ", signed(t, "airtable", airtableSecret, ping, time.Now())); r.status != http.StatusUnauthorized {
		t.Errorf("airtable ping with a body it was not signed over: %d %s, want 401", r.status, r.raw)
	}
	stripeBody := `{"id":"evt_ack_1","type":"invoice.paid"}`
	r = post("/in/stripe", stripeBody, signed(t, "stripe", stripeSecret, stripeBody, time.Now()))
	if r.status != http.StatusOK || r.body["id"] == nil {
		t.Errorf("stripe: %d %s, want the JSON answer with an id", r.status, r.raw)
	}
}
