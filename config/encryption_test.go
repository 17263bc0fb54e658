package config_test

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch/config"
	"github.com/hookwatch/hookwatch/encrypt"
)

func TestEncryption(t *testing.T) {
	raw := make([]byte, 32)
	rand.Read(raw)
	key := base64.StdEncoding.EncodeToString(raw)
	old := make([]byte, 32)
	rand.Read(old)
	oldKey := base64.StdEncoding.EncodeToString(old)

	cfg, err := config.Parse([]byte("encryption:\n  keys: [\"${HOOKWATCH_ENCRYPTION_KEY}\", \""+oldKey+"\"]\n"),
		env(map[string]string{"HOOKWATCH_ENCRYPTION_KEY": key}))
	if err != nil {
		t.Fatal(err)
	}
	// The keys as the stores' cipher gets them (cmd/hookwatch/wire_test.go
	// checks the cipher made of them).
	if len(cfg.Encryption.Keys) != 2 || cfg.Encryption.Keys[0] != key || cfg.Encryption.Keys[1] != oldKey {
		t.Fatalf("keys not expanded in order: %d keys", len(cfg.Encryption.Keys))
	}
	// config show never prints a key.
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), key) || strings.Contains(string(out), oldKey) || !strings.Contains(string(out), "[redacted]") {
		t.Fatalf("config show prints a key:\n%s", out)
	}

	short := base64.StdEncoding.EncodeToString(raw[:16])
	for _, tc := range []struct{ yaml, want string }{
		{"encryption:\n  keys: [\"${HOOKWATCH_ENCRYPTION_KEY}\"]\n", "line 2: encryption.keys[0]: environment variable HOOKWATCH_ENCRYPTION_KEY is not set"},
		{"encryption:\n  keys: [\"" + short + "\"]\n", "line 2: encryption.keys[0]: a key must be base64 of 32 bytes, this one decodes to 16"},
		{"encryption:\n  keys: [\"not a key\"]\n", "encryption.keys[0]: a key must be base64 of 32 bytes, this one is not base64"},
		{"encryption:\n  keys: [\"" + key + "\", \"" + key + "\"]\n", "encryption.keys[1]: the same key as encryption.keys[0] (key ID " + encrypt.KeyID(raw) + ")"},
		{"encryption:\n  decrypt_only: true\n", "line 2: encryption.decrypt_only: needs the keys"},
	} {
		_, err := config.Parse([]byte(tc.yaml), env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), short) || strings.Contains(err.Error(), key) {
			t.Errorf("%q: the error quotes the key: %v", tc.yaml, err)
		}
	}
}
