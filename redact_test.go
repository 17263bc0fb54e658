package hookwatch_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch"
)

func TestSealHeaders(t *testing.T) {
	key := hookwatch.NewInstallationKey()
	h := http.Header{
		"Authorization":    {"Bearer abc"},
		"Cookie":           {"a=1", "b=2"},
		"X-Gitlab-Token":   {"glpat-1", "glpat-2"},
		"Stripe-Signature": {"t=1,v1=ab"},
		"Content-Type":     {"application/json"},
	}
	orig := h.Clone()
	got := hookwatch.SealHeaders(h, key)
	for _, k := range []string{"Authorization", "Cookie"} {
		if v := got.Values(k); len(v) != 1 || v[0] != hookwatch.Redacted {
			t.Errorf("%s = %q, want redacted", k, v)
		}
	}
	tok := got.Values("X-Gitlab-Token")
	if len(tok) != 2 || !strings.HasPrefix(tok[0], "hmac-sha256:") || !hookwatch.SealMatches(key, tok[0], "glpat-1") ||
		!hookwatch.SealMatches(key, tok[1], "glpat-2") || hookwatch.SealMatches(key, tok[0], "glpat-2") {
		t.Errorf("X-Gitlab-Token = %q, want the seal of each value", tok)
	}
	if hookwatch.SealMatches(hookwatch.NewInstallationKey(), tok[0], "glpat-1") {
		t.Errorf("a seal matched under another installation's key")
	}
	if got.Get("Stripe-Signature") != "t=1,v1=ab" || got.Get("Content-Type") != "application/json" {
		t.Errorf("other headers changed: %v", got)
	}
	for k, v := range orig {
		if strings.Join(h[k], ",") != strings.Join(v, ",") {
			t.Errorf("SealHeaders modified its argument's %s: %q", k, h[k])
		}
	}

	// Without a key every credential is redacted, seals included.
	if v := hookwatch.SealHeaders(got, nil).Get("X-Gitlab-Token"); v != hookwatch.Redacted {
		t.Errorf("without a key, X-Gitlab-Token = %q", v)
	}
	// A sender cannot pass a value off as a seal: it is sealed again.
	forged := hookwatch.Seal(key, "guess")
	if v := hookwatch.SealHeaders(http.Header{"X-Gitlab-Token": {forged}}, key).Get("X-Gitlab-Token"); v == forged || !hookwatch.SealMatches(key, v, forged) {
		t.Errorf("a seal-shaped token was kept as sent: %q", v)
	}
	// No credential: the same map, no copy.
	plain := http.Header{"Content-Type": {"application/json"}}
	if out := hookwatch.SealHeaders(plain, key); out == nil || len(out) != 1 {
		t.Errorf("SealHeaders(no credentials) = %v", out)
	} else {
		out.Set("X-Probe", "1")
		if plain.Get("X-Probe") != "1" {
			t.Errorf("SealHeaders copied a header map with no credential in it")
		}
	}
}

func TestRedactHeadersKeepsSealsForDisplayOnly(t *testing.T) {
	sealed := hookwatch.Seal(hookwatch.NewInstallationKey(), "glpat-1")
	h := http.Header{"X-Gitlab-Token": {sealed}, "Authorization": {"hmac-sha256:not-a-seal"}}
	got := hookwatch.RedactHeaders(h, false)
	if got.Get("X-Gitlab-Token") != sealed {
		t.Errorf("display: X-Gitlab-Token = %q, want its seal kept (it is not the token)", got.Get("X-Gitlab-Token"))
	}
	if got.Get("Authorization") != hookwatch.Redacted {
		t.Errorf("a value shaped almost like a seal was kept: %q", got.Get("Authorization"))
	}
	if v := hookwatch.RedactHeaders(h, true).Get("X-Gitlab-Token"); v != hookwatch.Redacted {
		t.Errorf("leaving Hookwatch: X-Gitlab-Token = %q, want redacted", v)
	}
}

// The receive path calls SealHeaders for every event: a request with no
// credential header costs a scan and no allocation.
func BenchmarkSealHeaders(b *testing.B) {
	h := http.Header{
		"Content-Type": {"application/json"}, "User-Agent": {"GitHub-Hookshot/abc"}, "Accept": {"*/*"},
		"X-Github-Delivery": {"72d3162e-cc78-11e3-81ab-4c9367dc0958"}, "X-Github-Event": {"push"},
		"X-Hub-Signature-256": {"sha256=0123456789abcdef"}, "Content-Length": {"1024"}, "X-Forwarded-For": {"192.0.2.1"},
	}
	b.Run("no credential", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hookwatch.SealHeaders(h, nil)
		}
	})
	withAuth := h.Clone()
	withAuth.Set("Authorization", "Bearer abc")
	b.Run("with Authorization", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hookwatch.SealHeaders(withAuth, nil)
		}
	})
}
