package provider_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/hookwatch/hookwatch/provider"
)

// stripeSignature signs body the way Stripe documents it: HMAC-SHA256 of
// "{t}.{body}" keyed with the whole whsec_ secret, hex-encoded, in
// "t=...,v1=...". Written out here so the example shows the wire format.
func stripeSignature(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify a Stripe webhook inside your own handler, using the provider
// package as a library: build the scheme once, verify the exact bytes of
// each request, and use the event ID it extracts to dedupe.
func Example_verifyInYourHandler() {
	const secret = "whsec_example_secret"
	stripe, err := provider.New("stripe", provider.Config{Secrets: []string{secret}})
	if err != nil {
		panic(err) // a config mistake: the message names what to fix
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		res, err := stripe.Verify(&provider.Request{
			Method: r.Method, URL: r.URL.String(), Header: r.Header, Body: body, Now: time.Now(),
		})
		if err != nil {
			// The reason is a word safe to show the caller; no secret in it.
			fmt.Println("rejected:", provider.ReasonOf(err))
			http.Error(w, string(provider.ReasonOf(err)), http.StatusUnauthorized)
			return
		}
		fmt.Println("verified", res.EventID, res.EventType)
	})

	body := []byte(`{"id":"evt_1OaBc","object":"event","type":"invoice.paid","livemode":true}`)
	send := func(signature string) {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(body))
		req.Header.Set("Stripe-Signature", signature)
		handler.ServeHTTP(httptest.NewRecorder(), req)
	}
	send(stripeSignature(secret, time.Now(), body))
	send(stripeSignature("whsec_someone_else", time.Now(), body))
	send(stripeSignature(secret, time.Now().Add(-time.Hour), body))
	// Output:
	// verified evt_1OaBc invoice.paid
	// rejected: bad_signature
	// rejected: stale_timestamp
}

// A scheme that signs the URL refuses to be built without public_url: the
// error says what to set, before the first webhook arrives.
func ExampleNew_publicURL() {
	info, _ := provider.Lookup("twilio")
	fmt.Println("twilio signs the URL:", info.NeedsPublicURL)
	_, err := provider.New("twilio", provider.Config{Secrets: []string{"auth-token"}})
	fmt.Println(err)
	// Output:
	// twilio signs the URL: true
	// provider twilio signs the URL: set public_url to the URL the provider calls
}

// Verify with a named scheme and several secrets (a rotation in progress),
// answer a provider's handshake, and read the event ID and type.
func Example_namedSchemeRotationAndHandshake() {
	dropbox, err := provider.New("dropbox", provider.Config{Secrets: []string{"old-app-secret", "new-app-secret"}})
	if err != nil {
		panic(err)
	}
	// Dropbox checks the endpoint with a GET challenge first.
	res, _ := dropbox.Verify(&provider.Request{Method: http.MethodGet, URL: "https://hooks.example.com/in/dropbox?challenge=c5a7", Header: http.Header{}, Now: time.Now()})
	fmt.Printf("handshake: %d %s\n", res.Handshake.Status, res.Handshake.Body)

	body := []byte(`{"list_folder":{"accounts":["dbid:AAH4f99T0taONIb"]}}`)
	m := hmac.New(sha256.New, []byte("new-app-secret"))
	m.Write(body)
	h := http.Header{"X-Dropbox-Signature": {hex.EncodeToString(m.Sum(nil))}}
	res, err = dropbox.Verify(&provider.Request{Method: http.MethodPost, URL: "https://hooks.example.com/in/dropbox", Header: h, Body: body, Now: time.Now()})
	fmt.Printf("verified: %v, type %q, id %q\n", err == nil, res.EventType, res.EventID)

	info, _ := provider.Lookup("dropbox")
	fmt.Println("methods:", info.AllowedMethods())
	// Output:
	// handshake: 200 c5a7
	// verified: true, type "list_folder", id ""
	// methods: [POST GET]
}
