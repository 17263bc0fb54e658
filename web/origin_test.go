package web_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch/web"
)

// TestCrossSitePostRefused: a POST sent by a browser from another site is
// refused even with a valid CSRF token (it could have been read or fixed
// by another bug); same-origin forms and clients that send no Origin (curl,
// scripts) still work with the token.
func TestCrossSitePostRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.client()
	csrf := e.signIn(c)
	ctx := context.Background()
	paused := func() bool {
		st, err := e.store.DestinationStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st["app"].Paused
	}
	post := func(path string, form url.Values, headers map[string]string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, e.dash.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	withToken := url.Values{"csrf": {csrf}}
	for _, tc := range []struct {
		name    string
		headers map[string]string
	}{
		{"Origin of another site", map[string]string{"Origin": "https://evil.example"}},
		{"Origin of another port", map[string]string{"Origin": "http://" + strings.Split(strings.TrimPrefix(e.dash.URL, "http://"), ":")[0] + ":1"}},
		{"opaque Origin", map[string]string{"Origin": "null"}},
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"Sec-Fetch-Site same-site", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://sub.evil.example"}},
		{"Sec-Fetch-Site wins over a matching Origin", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": e.dash.URL}},
	} {
		status, body := post("/destinations/app/pause", withToken, tc.headers)
		if status != http.StatusForbidden || !strings.Contains(body, "sent from another site") {
			t.Errorf("%s: %d, want 403 saying the request came from another site\n%.500s", tc.name, status, body)
		}
		if paused() {
			t.Fatalf("%s: the destination was paused", tc.name)
		}
	}
	// A cross-site sign-in (login CSRF) is refused too, before the password.
	signin := e.client()
	_, page := e.get(signin, "/signin")
	form := url.Values{"csrf": {csrfRE.FindStringSubmatch(page)[1]}, "name": {user}, "password": {password}}
	req, _ := http.NewRequest(http.MethodPost, e.dash.URL+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := signin.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %d, want 403", resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "hw_session" {
			t.Error("cross-site sign-in set a session cookie")
		}
	}

	// The dashboard's own forms, as a browser sends them.
	if status, body := post("/destinations/app/pause", withToken, map[string]string{"Origin": e.dash.URL, "Sec-Fetch-Site": "same-origin"}); status != http.StatusSeeOther || !paused() {
		t.Errorf("same-origin pause: %d, paused %v\n%.500s", status, paused(), body)
	}
	// A script without Origin still needs the token, and works with it.
	if status, _ := post("/destinations/app/resume", url.Values{}, nil); status != http.StatusForbidden || !paused() {
		t.Errorf("no Origin, no token: %d, want 403", status)
	}
	if status, _ := post("/destinations/app/resume", withToken, nil); status != http.StatusSeeOther || paused() {
		t.Errorf("no Origin, with the token: %d, paused %v; want 303 and resumed", status, paused())
	}
}

// TestTrustedBaseOrigin: behind a proxy that rewrites Host, a browser
// without Sec-Fetch-Site sends dashboard.base_url's Origin, which differs
// from Host: it is accepted, and only it.
func TestTrustedBaseOrigin(t *testing.T) {
	t.Parallel()
	_, srv, _ := bareDashboard(t, web.Options{BaseURL: "https://hookwatch.example/"})
	token := signinForm(t, srv)
	for origin, want := range map[string]int{"https://hookwatch.example": http.StatusSeeOther, "http://hookwatch.example": http.StatusForbidden, "https://evil.example": http.StatusForbidden} {
		form := url.Values{"csrf": {token}, "name": {user}, "password": {password}}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		req.AddCookie(&http.Cookie{Name: "hw_signin", Value: token})
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Origin %s: %d, want %d", origin, resp.StatusCode, want)
		}
	}
}

// TestSecureCookies: cookies are Secure when the dashboard is served over
// HTTPS (base_url, TLS, or a trusted proxy's X-Forwarded-Proto), and only
// then: a Secure cookie over plain HTTP would never come back.
func TestSecureCookies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		opts    web.Options
		tls     bool
		headers map[string]string
		secure  bool
	}{
		{"plain HTTP", web.Options{}, false, nil, false},
		{"https base_url", web.Options{BaseURL: "https://hookwatch.example"}, false, nil, true},
		{"http base_url", web.Options{BaseURL: "http://hookwatch.internal:8081"}, false, nil, false},
		{"trusted X-Forwarded-Proto", web.Options{TrustForwardedProto: true}, false, map[string]string{"X-Forwarded-Proto": "https"}, true},
		{"trusted proxy, plain HTTP", web.Options{TrustForwardedProto: true}, false, map[string]string{"X-Forwarded-Proto": "http"}, false},
		{"trusted proxy, no header", web.Options{TrustForwardedProto: true}, false, nil, false},
		{"untrusted X-Forwarded-Proto", web.Options{}, false, map[string]string{"X-Forwarded-Proto": "https"}, false},
		{"TLS", web.Options{}, true, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv, _ := bareDashboard(t, tc.opts)
			client := http.DefaultClient
			if tc.tls {
				tlsSrv := httptest.NewUnstartedServer(srv.Config.Handler)
				tlsSrv.StartTLS()
				t.Cleanup(tlsSrv.Close)
				srv = tlsSrv
				client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
			}
			client = &http.Client{Transport: client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			do := func(req *http.Request) *http.Response {
				for k, v := range tc.headers {
					req.Header.Set(k, v)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			resp := do(mustRequest(t, http.MethodGet, srv.URL+"/signin", nil))
			var token string
			for _, c := range resp.Cookies() {
				if c.Name == "hw_signin" {
					token = c.Value
					if c.Secure != tc.secure {
						t.Errorf("hw_signin Secure = %v, want %v", c.Secure, tc.secure)
					}
				}
			}
			form := url.Values{"csrf": {token}, "name": {user}, "password": {password}}
			req := mustRequest(t, http.MethodPost, srv.URL+"/signin", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: "hw_signin", Value: token})
			resp = do(req)
			found := false
			for _, c := range resp.Cookies() {
				if c.Name == "hw_session" && c.Value != "" {
					found = true
					if c.Secure != tc.secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
						t.Errorf("hw_session = %+v, want Secure %v, HttpOnly, SameSite=Strict", c, tc.secure)
					}
				}
			}
			if !found {
				t.Fatalf("sign-in: %d without a session cookie", resp.StatusCode)
			}
		})
	}
}

func mustRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
