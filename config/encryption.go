package config

import (
	"fmt"

	"github.com/hookwatch/hookwatch/encrypt"
)

// Encryption turns on encryption at rest of events' and quarantined
// requests' headers and bodies (docs/configuration.md#encryption).
type Encryption struct {
	// Keys are base64 of 32 bytes each (openssl rand -base64 32): the
	// first encrypts what is written, every one decrypts. None: plaintext.
	Keys []string `yaml:"keys" secret:"true"`
	// DecryptOnly writes new rows in plaintext while every key still
	// decrypts, and `hookwatch store rotate-key` decrypts the rest: the
	// way to turn encryption off.
	DecryptOnly bool `yaml:"decrypt_only"`
}

// validateEncryption checks the encryption section; a key is never quoted.
func (c *Config) validateEncryption(bad func(path, format string, args ...any)) {
	e := c.Encryption
	if e.DecryptOnly && len(e.Keys) == 0 {
		bad("encryption.decrypt_only", "needs the keys that decrypt the stored rows in encryption.keys")
	}
	ids := map[string]int{}
	for i, s := range e.Keys {
		p := fmt.Sprintf("encryption.keys[%d]", i)
		if s == "" {
			if v, ok := c.unset[p]; ok {
				bad(p, "environment variable %s is not set", v)
			} else {
				bad(p, "empty key (make one with: openssl rand -base64 32)")
			}
			continue
		}
		k, err := encrypt.ParseKey(s)
		if err != nil {
			bad(p, "%v", err)
			continue
		}
		id := encrypt.KeyID(k)
		if j, dup := ids[id]; dup {
			bad(p, "the same key as encryption.keys[%d] (key ID %s)", j, id)
		}
		ids[id] = i
	}
}
