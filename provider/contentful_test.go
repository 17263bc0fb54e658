package provider

import (
	"crypto/sha256"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The vectors were computed with Contentful's own toolkit
// (testdata/providers/contentful/SOURCE.md); the other requests are signed
// here with crypto/* over a canonical string written out by hand.

const (
	cfSecret = "hookwatch-contentful-test-secret-0123456789abcdefghijklmnopqrstu"
	cfOther  = "0000000000000000000000000000000000000000000000000000000000000000"
	cfTopic  = "ContentManagement.Entry.publish"
	cfBody   = `{"sys":{"id":"3wtvPBbBjiMKqKKga8I2Cu","type":"Entry","version":12},"fields":{}}`
)

func cfVerify(t *testing.T, r *Request, secrets ...string) (Result, error) {
	t.Helper()
	return mustNew(t, "contentful", Config{Secrets: secrets}).Verify(r)
}

func TestContentfulVectors(t *testing.T) {
	files := vectorFiles("contentful")
	if len(files) != 2 {
		t.Fatalf("found %d Contentful vectors, want 2", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var v catalogVector
			body := loadVector(t, f, &v)
			req := func() *Request {
				return &Request{Method: v.Method, URL: v.URL, Header: vectorHeader(v.Headers), Body: append([]byte(nil), body...), Now: time.UnixMilli(v.NowMS)}
			}
			res, err := cfVerify(t, req(), v.Secret)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.EventID != v.EventID || res.EventType != v.EventType || res.Malformed {
				t.Errorf("result %+v, want id %q type %q", res, v.EventID, v.EventType)
			}
			if _, err := cfVerify(t, req(), cfOther, v.Secret); err != nil {
				t.Errorf("the vector's secret second: %v", err)
			}
			_, err = cfVerify(t, req(), cfOther)
			wantRejected(t, err, v.Secret, ReasonBadSignature)
			// Method, path, query, body: each is signed.
			for name, tamper := range map[string]func(r *Request){
				"method": func(r *Request) { r.Method = "PUT" },
				"path":   func(r *Request) { r.URL = strings.Replace(r.URL, "hooks.example.com/", "hooks.example.com/x", 1) },
				"query":  func(r *Request) { r.URL += map[bool]string{true: "&y=1", false: "?y=1"}[strings.Contains(r.URL, "?")] },
				"body":   func(r *Request) { r.Body = append(r.Body, ' ') },
				"signed header list": func(r *Request) {
					r.Header.Set("X-Extra", "1")
					r.Header.Set("X-Contentful-Signed-Headers", r.Header.Get("X-Contentful-Signed-Headers")+",x-extra")
				},
			} {
				r := req()
				tamper(r)
				_, err := cfVerify(t, r, v.Secret)
				if ReasonOf(err) != ReasonBadSignature {
					t.Errorf("tampered %s: err = %v, want bad_signature", name, err)
				}
			}
			// The toolkit's default TTL is 30 s.
			r := req()
			r.Now = r.Now.Add(31 * time.Second)
			_, err = cfVerify(t, r, v.Secret)
			wantRejected(t, err, v.Secret, ReasonStaleTimestamp)
			r = req()
			r.Now = r.Now.Add(29 * time.Second)
			if _, err := cfVerify(t, r, v.Secret); err != nil {
				t.Errorf("29 s after signing: %v", err)
			}
		})
	}
}

// cfRequest is a POST to /in/cf signed over the topic header, with the
// canonical string written out.
func cfRequest(secret, body string, at time.Time) *Request {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	list := "x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic"
	canonical := "POST\n/in/cf?a%253D1%2526b%253D2\n" +
		"x-contentful-signed-headers:" + list + ";x-contentful-timestamp:" + ts + ";x-contentful-topic:" + cfTopic + "\n" + body
	h := http.Header{
		"X-Contentful-Topic":          {cfTopic},
		"X-Contentful-Signed-Headers": {list},
		"X-Contentful-Timestamp":      {ts},
		"X-Contentful-Signature":      {hmHex(sha256.New, secret, canonical)},
		"X-Contentful-Webhook-Name":   {"hookwatch"}, // not signed
	}
	return &Request{Method: http.MethodPost, URL: "https://hooks.example.com/in/cf?a=1&b=2", Header: h, Body: []byte(body), Now: at}
}

func TestContentfulScheme(t *testing.T) {
	now := time.UnixMilli(1_764_680_000_123)
	res, err := cfVerify(t, cfRequest(cfSecret, cfBody, now), cfSecret)
	if err != nil {
		t.Fatalf("valid request: %v", err)
	}
	if res.EventID != cfTopic+":3wtvPBbBjiMKqKKga8I2Cu:12" || res.EventType != cfTopic || res.Malformed || res.Test {
		t.Errorf("result %+v", res)
	}
	// An unsigned header may change; a signed one may not.
	r := cfRequest(cfSecret, cfBody, now)
	r.Header.Set("X-Contentful-Webhook-Name", "renamed")
	if _, err := cfVerify(t, r, cfSecret); err != nil {
		t.Errorf("changed unsigned header: %v", err)
	}
	r = cfRequest(cfSecret, cfBody, now)
	r.Header.Set("X-Contentful-Topic", "ContentManagement.Entry.delete")
	_, err = cfVerify(t, r, cfSecret)
	wantRejected(t, err, cfSecret, ReasonBadSignature)

	// The list must name the timestamp, even when the signature matches
	// what the sender computed without it.
	r = cfRequest(cfSecret, cfBody, now)
	r.Header.Set("X-Contentful-Signed-Headers", "x-contentful-signed-headers,x-contentful-topic")
	_, err = cfVerify(t, r, cfSecret)
	wantRejected(t, err, cfSecret, ReasonMalformedHeader)
	if !strings.Contains(err.Error(), "x-contentful-timestamp") {
		t.Errorf("err = %v, want it to name x-contentful-timestamp", err)
	}

	for name, c := range map[string]struct {
		header, value string
		reason        Reason
	}{
		"no signature":      {"X-Contentful-Signature", "", ReasonMissingSignature},
		"signature not hex": {"X-Contentful-Signature", strings.Repeat("zz", 32), ReasonMalformedHeader},
		"short signature":   {"X-Contentful-Signature", "abcd", ReasonMalformedHeader},
		"no list":           {"X-Contentful-Signed-Headers", "", ReasonMalformedHeader},
		"no timestamp":      {"X-Contentful-Timestamp", "", ReasonMalformedHeader},
		"timestamp seconds": {"X-Contentful-Timestamp", "1764680000.123", ReasonMalformedHeader},
	} {
		r := cfRequest(cfSecret, cfBody, now)
		if c.value == "" {
			r.Header.Del(c.header)
		} else {
			r.Header.Set(c.header, c.value)
		}
		_, err := cfVerify(t, r, cfSecret)
		if ReasonOf(err) != c.reason {
			t.Errorf("%s: err = %v, want %s", name, err, c.reason)
		}
	}

	// Expired and future timestamps; the tolerance is configurable.
	at := func(signed time.Time) *Request {
		r := cfRequest(cfSecret, cfBody, signed)
		r.Now = now
		return r
	}
	_, err = cfVerify(t, at(now.Add(-time.Minute)), cfSecret)
	wantRejected(t, err, cfSecret, ReasonStaleTimestamp)
	_, err = cfVerify(t, at(now.Add(time.Minute)), cfSecret)
	wantRejected(t, err, cfSecret, ReasonFutureTimestamp)
	long := mustNew(t, "contentful", Config{Secrets: []string{cfSecret}, Tolerance: 5 * time.Minute})
	if _, err := long.Verify(at(now.Add(-time.Minute))); err != nil {
		t.Errorf("a minute old with a 5 minute tolerance: %v", err)
	}

	// Signed but not JSON: stored, marked malformed, no ID.
	res, err = cfVerify(t, cfRequest(cfSecret, "not json", now), cfSecret)
	if err != nil || !res.Malformed || res.EventID != "" || res.EventType != cfTopic {
		t.Errorf("signed non-JSON body: %+v %v", res, err)
	}
	// A body without sys.version: no ID, so never deduplicated.
	res, err = cfVerify(t, cfRequest(cfSecret, `{"sys":{"id":"x"}}`, now), cfSecret)
	if err != nil || res.EventID != "" {
		t.Errorf("no version: %+v %v", res, err)
	}

	// A bodyless DELETE (Contentful sends GET and DELETE webhooks without a
	// body) is signed over an empty body.
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	del := &Request{Method: http.MethodDelete, URL: "https://hooks.example.com/in/cf", Now: now, Header: http.Header{
		"X-Contentful-Topic":          {"ContentManagement.Entry.delete"},
		"X-Contentful-Signed-Headers": {"x-contentful-signed-headers,x-contentful-timestamp"},
		"X-Contentful-Timestamp":      {ts},
		"X-Contentful-Signature":      {hmHex(sha256.New, cfSecret, "DELETE\n/in/cf\nx-contentful-signed-headers:x-contentful-signed-headers,x-contentful-timestamp;x-contentful-timestamp:"+ts+"\n")},
	}}
	if res, err := cfVerify(t, del, cfSecret); err != nil || res.EventType != "ContentManagement.Entry.delete" || res.Malformed {
		t.Errorf("bodyless DELETE: %+v %v", res, err)
	}
	if info, _ := Lookup("contentful"); !slices.Contains(info.AllowedMethods(), http.MethodDelete) || !slices.Contains(info.AllowedMethods(), http.MethodGet) {
		t.Errorf("contentful methods %v, want GET and DELETE among them", info.AllowedMethods())
	}

	// Sign makes requests Verify accepts.
	h := http.Header{}
	s := mustNew(t, "contentful", Config{Secrets: []string{cfSecret}})
	if err := s.(Signer).Sign(h, "https://hooks.example.com/in/cf?z=1", []byte(cfBody), now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(&Request{Method: "POST", URL: "https://hooks.example.com/in/cf?z=1", Header: h, Body: []byte(cfBody), Now: now}); err != nil {
		t.Errorf("a request made by Sign: %v", err)
	}
}

func TestContentfulPath(t *testing.T) {
	// Expected values from Node: the toolkit's getNormalizedEncodedURI.
	for in, want := range map[string]string{
		"/in/cf":                     "/in/cf",
		"/in/cf?a=1&b=2":             "/in/cf?a%253D1%2526b%253D2",
		"/in/c%20f?x=%41&y=%C3%A9":   "/in/c%2520f?x%253D%252541%2526y%253D%2525C3%2525A9",
		"/a?b?c":                     "/a?b",
		"/in/cf?":                    "/in/cf",
		"/p/(x)!~*'-_.;,:@&=+$#?q=~": "/p/(x)!~*'-_.;,:@&=+$#?q%253D~",
	} {
		if got := contentfulPath(in); got != want {
			t.Errorf("contentfulPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContentfulConfig(t *testing.T) {
	_, err := New("contentful", Config{Secrets: []string{"short"}})
	if err == nil || !strings.Contains(err.Error(), "64") {
		t.Errorf("a 5-character secret: err = %v, want one saying secrets have 64 characters", err)
	}
}
