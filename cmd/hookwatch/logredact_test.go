package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch/config"
)

// serve's logger redacts URLs in messages, string attributes, errors and
// grouped attributes, in both formats.
func TestLoggerRedactsURLs(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		log := newLogger(&Env{Stderr: &buf}, config.Log{Level: "info", Format: format})
		log = log.With("store", "postgres://hw:with-s3cret@db/hw")
		log.Info("posting to https://app.example.com/x?apikey=msg-s3cret",
			"error", errors.New(`Post "https://u:err-s3cret@app.example.com/x": refused`),
			"dest", "https://app.example.com/x?token=attr-s3cret",
			"req", map[string]string{"k": "v"})
		log.WithGroup("g").Info("grouped", "url", "https://h/x?key=grp-s3cret")
		out := buf.String()
		if strings.Contains(out, "s3cret") {
			t.Errorf("%s log leaks a secret:\n%s", format, out)
		}
		for _, w := range []string{"apikey=[redacted]", "token=[redacted]", "postgres://[redacted]@db/hw", "https://[redacted]@app.example.com/x", "key=[redacted]"} {
			if !strings.Contains(out, w) {
				t.Errorf("%s log lacks %q:\n%s", format, w, out)
			}
		}
	}
}
