package hookwatch_test

import (
	"testing"

	"github.com/hookwatch/hookwatch"
)

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain URL unchanged", "https://app.example.com/webhooks", "https://app.example.com/webhooks"},
		{"port and path kept", "http://127.0.0.1:3000/in/stripe", "http://127.0.0.1:3000/in/stripe"},
		{"query values hidden, keys kept", "https://app.example.com/hook?apikey=s3cr3t&v=2", "https://app.example.com/hook?apikey=[redacted]&v=[redacted]"},
		{"empty query value stays empty", "https://h/p?a=&b=x", "https://h/p?a=&b=[redacted]"},
		{"bare query part may be a token", "https://h/p?S3CRETTOKEN", "https://h/p?[redacted]"},
		{"user and password", "https://bob:hunter2@h.example.com/x", "https://[redacted]@h.example.com/x"},
		{"user alone (a token as user name)", "https://ghp_token123@github.com/org/repo", "https://[redacted]@github.com/org/repo"},
		{"fragment hidden", "https://h/cb#access_token=abc", "https://h/cb#[redacted]"},
		{"everything at once", "https://u:p@h:8443/a/b?k=v#f", "https://[redacted]@h:8443/a/b?k=[redacted]#[redacted]"},
		{"postgres URL", "postgres://hw:pa55@db.internal:5432/hookwatch?sslmode=require&password=pa55", "postgres://[redacted]@db.internal:5432/hookwatch?sslmode=[redacted]&password=[redacted]"},
		{"postgres URL with a password net/url rejects", "postgres://hw:p#ss?w/rd@db/hookwatch", "postgres://[redacted]@db/hookwatch"},
		{"postgres keyword DSN", "host=db user=hw password=pa55 dbname=hookwatch", "host=db user=hw password=[redacted] dbname=hookwatch"},
		{"postgres keyword DSN, quoted", "host=db password='pa 55' sslpassword=x", "host=db password=[redacted] sslpassword=[redacted]"},
		{"IPv6 host", "http://u:p@[::1]:8080/x?k=v", "http://[redacted]@[::1]:8080/x?k=[redacted]"},
		{"sqlite store unchanged", "sqlite:./data/hookwatch.db", "sqlite:./data/hookwatch.db"},
		{"sqlite absolute path unchanged", "sqlite:/var/lib/hookwatch/hw.db", "sqlite:/var/lib/hookwatch/hw.db"},
		{"host:port is not a URL", "127.0.0.1:8081", "127.0.0.1:8081"},
		{"listen address", ":8080", ":8080"},
		{"plain words", "stripe", "stripe"},
		{"email address", "ops@example.com", "ops@example.com"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hookwatch.RedactURL(tc.in); got != tc.want {
				t.Errorf("RedactURL(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			// Redacting twice (a message quoting a redacted URL, redacted
			// again before printing) changes nothing more.
			if got := hookwatch.RedactURLs(tc.want); got != tc.want {
				t.Errorf("RedactURLs(%q) = %q: not idempotent", tc.want, got)
			}
		})
	}
}

func TestRedactURLsInText(t *testing.T) {
	in := `Post "https://app.example.com/hook?apikey=s3cr3t": dial tcp: connection refused; store postgres://hw:pa55@db/hw is down`
	want := `Post "https://app.example.com/hook?apikey=[redacted]": dial tcp: connection refused; store postgres://[redacted]@db/hw is down`
	if got := hookwatch.RedactURLs(in); got != want {
		t.Errorf("RedactURLs\n got %q\nwant %q", got, want)
	}
	in = "cannot connect to postgres://hw:pw@db/hw?sslmode=disable: refused."
	want = "cannot connect to postgres://[redacted]@db/hw?sslmode=[redacted]: refused."
	if got := hookwatch.RedactURLs(in); got != want {
		t.Errorf("RedactURLs with punctuation after the URL\n got %q\nwant %q", got, want)
	}
	if got := hookwatch.RedactURLs("no URL here"); got != "no URL here" {
		t.Errorf("text without a URL changed: %q", got)
	}
}
