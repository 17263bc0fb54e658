package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
)

// TestProviderContentfulAdyenServe runs `hookwatch serve` with a Contentful
// and an Adyen source and sends each a request signed the providers' way
// (computed here with crypto/*): the signed ones are stored with the
// provider's event ID and type, Adyen's is answered "[accepted]", and a
// tampered copy of each is refused 401 and not stored.
func TestProviderContentfulAdyenServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	const (
		cfSecret = "e2e-contentful-signing-secret-0123456789abcdefghijklmnopqrstuvwx"
		adyenKey = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
	)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "hw.db")
	p := serve(t, dir, fmt.Sprintf(`store: %q
log: {level: warn}
sources:
  - name: cms
    provider: contentful
    secrets: [%q]
  - name: payments
    provider: adyen
    secrets: [%q]
`, "sqlite:"+dbPath, cfSecret, adyenKey))
	public, cfgPath := p.public, p.config

	send := func(path string, h http.Header, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+public+path, strings.NewReader(body))
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// Contentful: signed over method, path and query (the query escaped
	// twice, as Contentful's toolkit normalises it), the signed headers and
	// the body.
	cfBody := `{"sys":{"id":"5KsDBWseXY6QegucYAoacS","type":"Entry","version":3},"fields":{"title":{"en-US":"Hello"}}}`
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	list := "x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic"
	m := hmac.New(sha256.New, []byte(cfSecret))
	m.Write([]byte("POST\n/in/cms?env%253Dmaster\nx-contentful-signed-headers:" + list + ";x-contentful-timestamp:" + ts +
		";x-contentful-topic:ContentManagement.Entry.publish\n" + cfBody))
	cfHeader := http.Header{
		"Content-Type":                {"application/vnd.contentful.management.v1+json"},
		"X-Contentful-Topic":          {"ContentManagement.Entry.publish"},
		"X-Contentful-Signed-Headers": {list},
		"X-Contentful-Timestamp":      {ts},
		"X-Contentful-Signature":      {hex.EncodeToString(m.Sum(nil))},
	}
	if code, body := send("/in/cms?env=master", cfHeader, cfBody); code != 200 {
		t.Fatalf("signed Contentful webhook: %d %s\n%s", code, body, p.logs)
	}
	if code, body := send("/in/cms?env=master", cfHeader, strings.Replace(cfBody, "Hello", "Hellp", 1)); code != 401 || !strings.Contains(body, "bad_signature") {
		t.Errorf("tampered Contentful webhook: %d %s, want 401 bad_signature", code, body)
	}

	// Adyen: the signature is in the body, per notification item.
	key, _ := hex.DecodeString(adyenKey)
	m = hmac.New(sha256.New, key)
	m.Write([]byte("8816178952380553::HookwatchECOM:order-17:2500:EUR:AUTHORISATION:true"))
	adBody := `{"live":"false","notificationItems":[{"NotificationRequestItem":{"pspReference":"8816178952380553","merchantAccountCode":"HookwatchECOM","merchantReference":"order-17","amount":{"value":2500,"currency":"EUR"},"eventCode":"AUTHORISATION","success":"true","additionalData":{"hmacSignature":"` +
		base64.StdEncoding.EncodeToString(m.Sum(nil)) + `"}}}]}`
	jsonType := http.Header{"Content-Type": {"application/json"}}
	if code, body := send("/in/payments", jsonType, adBody); code != 200 || body != "[accepted]" {
		t.Fatalf("signed Adyen notification: %d %q, want 200 [accepted]\n%s", code, body, p.logs)
	}
	if code, body := send("/in/payments", jsonType, strings.Replace(adBody, `"value":2500`, `"value":25`, 1)); code != 401 || !strings.Contains(body, "bad_signature") {
		t.Errorf("tampered Adyen notification: %d %s, want 401 bad_signature", code, body)
	}

	// hookwatch send signs inside the body for Adyen, and the Contentful
	// headers.
	payload := filepath.Join(dir, "capture.json")
	os.WriteFile(payload, []byte(`{"live":"false","notificationItems":[{"NotificationRequestItem":{"pspReference":"8816178952380553","merchantAccountCode":"HookwatchECOM","amount":{"value":2500,"currency":"EUR"},"eventCode":"CAPTURE","success":"true"}}]}`), 0o600)
	if out, stderr, err := runBinary(t, "send", "--config", cfgPath, "--source", "payments", "--file", payload); err != nil || !strings.Contains(out, "[accepted]") {
		t.Errorf("hookwatch send to the adyen source: %v\n%s%s", err, out, stderr)
	}
	payload = filepath.Join(dir, "entry.json")
	os.WriteFile(payload, []byte(`{"sys":{"id":"sent-by-hookwatch","type":"Entry","version":1}}`), 0o600)
	if out, stderr, err := runBinary(t, "send", "--config", cfgPath, "--source", "cms", "--file", payload, "-H", "X-Contentful-Topic: ContentManagement.Entry.save"); err != nil {
		t.Errorf("hookwatch send to the contentful source: %v\n%s%s", err, out, stderr)
	}

	store, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, want := range []struct{ source, id, typ string }{
		{"cms", "ContentManagement.Entry.publish:5KsDBWseXY6QegucYAoacS:3", "ContentManagement.Entry.publish"},
		{"payments", "8816178952380553:AUTHORISATION:true", "AUTHORISATION"},
	} {
		// Newest first: the event hookwatch send made, then the one above.
		evs, err := store.ListEvents(context.Background(), hookwatch.EventFilter{Source: want.source, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[1].ProviderEventID != want.id || evs[1].Type != want.typ || !evs[0].Test {
			t.Errorf("%s: stored %d events (%+v), want the signed one with id %q type %q and a test event from hookwatch send", want.source, len(evs), evs, want.id, want.typ)
		}
	}
}
