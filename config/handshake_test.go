package config_test

import (
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch/config"
)

// TestHandshakeSecretSources: an asana source may leave secrets out (the
// handshake's is kept); any other provider still needs one.
func TestHandshakeSecretSources(t *testing.T) {
	if _, err := config.Parse([]byte("sources:\n  - name: asana\n    provider: asana\n"), env(nil)); err != nil {
		t.Fatalf("asana with no secrets: %v", err)
	}
	if _, err := config.Parse([]byte("sources:\n  - name: asana\n    provider: asana\n    secrets: [s3cret]\n"), env(nil)); err != nil {
		t.Fatalf("asana with a secret: %v", err)
	}
	_, err := config.Parse([]byte("sources:\n  - name: gh\n    provider: github\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "sources[0].secrets") {
		t.Fatalf("github with no secrets: %v, want sources[0].secrets named", err)
	}
}
