package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
)

func runStoreNewKey(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "store new-key", `Prints a new encryption key (base64 of 32 random bytes) on the first line and
its key ID on stderr. Put the key in the environment (HOOKWATCH_ENCRYPTION_KEY)
and reference it from encryption.keys; the same as: openssl rand -base64 32`)
	asJSON := fs.Bool("json", false, `print {"key": ..., "key_id": ...}`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	k := make([]byte, encrypt.KeySize)
	if _, err := rand.Read(k); err != nil {
		return fmt.Errorf("store new-key: %w", err)
	}
	key, id := base64.StdEncoding.EncodeToString(k), encrypt.KeyID(k)
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(map[string]string{"key": key, "key_id": id})
	}
	fmt.Fprintln(env.Stdout, key)
	fmt.Fprintf(env.Stderr, "key ID %s: list the key first in encryption.keys to encrypt with it, then run hookwatch store rotate-key\n", id)
	return nil
}

// rotateReport is what store rotate-key prints with --json.
type rotateReport struct {
	// KeyID is the key rows were moved to ("" with decrypt_only: plaintext).
	KeyID  string                    `json:"key_id"`
	DryRun bool                      `json:"dry_run,omitempty"`
	Tables map[string]*rotateTable   `json:"tables"`
	Keys   map[string]map[string]int `json:"rows_by_key_id"`
	// Retired are configured keys no row uses any more: they can be
	// removed from encryption.keys.
	Retired []string `json:"retired_key_ids"`
}

type rotateTable struct {
	Rows      int `json:"rows"`
	ToRewrite int `json:"to_rewrite"`
	Rewritten int `json:"rewritten"`
}

func runStoreRotateKey(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "store rotate-key", `Moves every event and quarantined request to the first key of encryption.keys:
rows sealed under an older key, and rows written in plaintext before encryption
was turned on, are re-encrypted under it; with encryption.decrypt_only, every
row is decrypted instead (the way to turn encryption off). It runs in small
batches, each its own transaction, while instances keep serving; it can be
stopped and run again at any time. Progress goes to stderr.

When it is done it says which configured keys no row uses any more: remove
them from encryption.keys. On PostgreSQL, first restart every instance with
the new key listed first, so that none keeps writing under the old one.

Example: hookwatch store rotate-key --config hookwatch.yaml`)
	path := configFlag(fs, "store and encryption keys")
	batch := fs.Int("batch", 200, "rows per transaction")
	dryRun := fs.Bool("dry-run", false, "count the rows to rewrite, change nothing")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *batch < 1 || *batch > 10000 {
		return hookwatch.Errorf(hookwatch.EINVALID, "--batch %d is out of range 1..10000", *batch)
	}
	cfg, store, err := openCLI(ctx, env, *path)
	if err != nil {
		return err
	}
	defer store.Close()
	r, ok := store.(hookwatch.Rekeyer)
	if !ok {
		return hookwatch.Errorf(hookwatch.EINVALID, "store rotate-key: this store cannot rotate keys")
	}
	cipher, err := newCipher(cfg.Encryption)
	if err != nil {
		return err
	}
	rep := &rotateReport{KeyID: cipher.KeyID(), DryRun: *dryRun, Tables: map[string]*rotateTable{}}
	before, err := r.KeyUsage(ctx)
	if err != nil {
		return fmt.Errorf("store rotate-key: %w", err)
	}
	for _, table := range hookwatch.RekeyTables {
		t := &rotateTable{}
		for id, n := range before[table] {
			t.Rows += n
			if id != rep.KeyID {
				t.ToRewrite += n
			}
		}
		rep.Tables[table] = t
	}
	target := "key ID " + rep.KeyID
	if rep.KeyID == "" {
		target = "plaintext"
	}
	if !*dryRun {
		for _, table := range hookwatch.RekeyTables {
			t := rep.Tables[table]
			if t.ToRewrite == 0 {
				continue
			}
			last := time.Now()
			for after := ""; ; {
				next, n, err := r.RekeyPage(ctx, table, after, *batch)
				if err != nil {
					return fmt.Errorf("store rotate-key: %s after %q (%d rewritten so far; run it again to go on): %w", table, after, t.Rewritten, err)
				}
				t.Rewritten += n
				if next == "" {
					break
				}
				after = next
				if time.Since(last) >= time.Second {
					last = time.Now()
					fmt.Fprintf(env.Stderr, "%s: %d of %d rewritten to %s (%.0f%%)\n", table, t.Rewritten, t.ToRewrite, target, 100*float64(t.Rewritten)/float64(max(t.ToRewrite, 1)))
				}
			}
			fmt.Fprintf(env.Stderr, "%s: %d rewritten to %s\n", table, t.Rewritten, target)
		}
	}
	after, err := r.KeyUsage(ctx)
	if err != nil {
		return fmt.Errorf("store rotate-key: %w", err)
	}
	rep.Keys = after
	rep.Retired = []string{}
	for _, id := range cipher.KeyIDs() {
		used := false
		for _, table := range hookwatch.RekeyTables {
			used = used || after[table][id] > 0
		}
		if !used && id != rep.KeyID {
			rep.Retired = append(rep.Retired, id)
		}
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(rep)
	}
	for _, table := range hookwatch.RekeyTables {
		t := rep.Tables[table]
		verb := "rewrote"
		n := t.Rewritten
		if *dryRun {
			verb, n = "would rewrite", t.ToRewrite
		}
		fmt.Fprintf(env.Stdout, "%s: %s %d of %d rows to %s; now %s\n", table, verb, n, t.Rows, target, usageText(after[table]))
	}
	if len(rep.Retired) > 0 {
		fmt.Fprintf(env.Stdout, "no row uses key ID %s any more: remove it from encryption.keys\n", strings.Join(rep.Retired, ", "))
	}
	return nil
}

// usageText prints rows by key ID: "12 under 1a2b..., 3 in plaintext".
func usageText(u map[string]int) string {
	if len(u) == 0 {
		return "no rows"
	}
	ids := make([]string, 0, len(u))
	for id := range u {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		if id == "" {
			parts = append(parts, fmt.Sprintf("%d in plaintext", u[id]))
		} else {
			parts = append(parts, fmt.Sprintf("%d under key ID %s", u[id], id))
		}
	}
	return strings.Join(parts, ", ")
}
