package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
	"github.com/hookwatch/hookwatch/postgres"
	"github.com/hookwatch/hookwatch/postgres/pgtest"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
	"github.com/jackc/pgx/v5"
)

// TestServeFailsWithoutItsEncryptionKey starts the real binary on a store
// whose events are encrypted, with no key and with a wrong key: it exits at
// once with one line naming the key ID it needs, and never the keys.
func TestServeFailsWithoutItsEncryptionKey(t *testing.T) {
	t.Parallel()
	key := storetest.NewKey(t)
	id := encrypt.KeyID(key)
	wrong := base64.StdEncoding.EncodeToString(storetest.NewKey(t))
	for _, tc := range []struct {
		name string
		edit string
		env  []string
	}{
		{name: "no key"},
		{name: "wrong key", edit: "encryption: {keys: [\"${HOOKWATCH_ENCRYPTION_KEY}\"]}\n", env: []string{"HOOKWATCH_ENCRYPTION_KEY=" + wrong}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := filepath.Join(dir, "hw.db")
			s, err := sqlite.Open(context.Background(), db, sqlite.WithCipher(storetest.NewCipher(t, key)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.InsertEvents(context.Background(), []*hookwatch.Event{storetest.NewEvent("stripe", "evt_1", time.Now())}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			path := writeConfig(t, dir, "127.0.0.1:0", "127.0.0.1:0", "sqlite:"+db)
			data, _ := os.ReadFile(path)
			os.WriteFile(path, append(data, tc.edit...), 0o600)

			werr, output := serveToExit(t, path, tc.env...)
			var exit *exec.ExitError
			if !errors.As(werr, &exit) || exit.ExitCode() == 0 {
				t.Errorf("exit: %v, want a failure", werr)
			}
			got := strings.TrimRight(output, "\n")
			if strings.Contains(got, "\n") || !strings.Contains(got, "key ID "+id) || !strings.Contains(got, "encryption.keys") {
				t.Errorf("want one line naming key ID %s and encryption.keys, got:\n%s", id, got)
			}
			if strings.Contains(got, wrong) || strings.Contains(got, base64.StdEncoding.EncodeToString(key)) {
				t.Errorf("printed a key:\n%s", got)
			}
		})
	}
}

// TestStoreRotateKey rotates a store holding plaintext rows and rows under
// an old key to a new key with the CLI, and reads every event back with
// the new key alone.
func TestStoreRotateKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "hw.db")
	oldKey, newKey := storetest.NewKey(t), storetest.NewKey(t)
	oldID, newID := encrypt.KeyID(oldKey), encrypt.KeyID(newKey)
	var events []*hookwatch.Event
	for i, c := range []*encrypt.Cipher{nil, storetest.NewCipher(t, oldKey)} {
		s, err := sqlite.Open(ctx, db, sqlite.WithCipher(c))
		if err != nil {
			t.Fatal(err)
		}
		batch := []*hookwatch.Event{storetest.NewEvent("stripe", "evt_a"+string(rune('0'+i)), time.Now()), storetest.NewEvent("stripe", "evt_b"+string(rune('0'+i)), time.Now())}
		if _, err := s.InsertEvents(ctx, batch); err != nil {
			t.Fatal(err)
		}
		events = append(events, batch...)
		s.Close()
	}
	path := writeConfig(t, dir, "127.0.0.1:0", "127.0.0.1:0", "sqlite:"+db)
	data, _ := os.ReadFile(path)
	os.WriteFile(path, append(data, "encryption:\n  keys: [\"${NEW_KEY}\", \"${OLD_KEY}\"]\n"...), 0o600)
	env := map[string]string{"NEW_KEY": base64.StdEncoding.EncodeToString(newKey), "OLD_KEY": base64.StdEncoding.EncodeToString(oldKey)}

	out, _, err := run(t, env, "store", "rotate-key", "--config", path, "--dry-run")
	if err != nil || !strings.Contains(out, "events: would rewrite 4 of 4 rows to key ID "+newID) {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	out, stderr, err := run(t, env, "store", "rotate-key", "--config", path, "--json", "--batch", "1")
	if err != nil {
		t.Fatalf("rotate-key: %v\n%s", err, stderr)
	}
	var rep rotateReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if rep.KeyID != newID || rep.Tables["events"].Rewritten != 4 || rep.Keys["events"][newID] != 4 || len(rep.Keys["events"]) != 1 ||
		len(rep.Retired) != 1 || rep.Retired[0] != oldID {
		t.Fatalf("report %s", out)
	}
	if !strings.Contains(stderr, "events: 4 rewritten to key ID "+newID) {
		t.Errorf("progress: %s", stderr)
	}
	// The old key can go: the store opens and reads with the new one alone.
	s, err := sqlite.Open(ctx, db, sqlite.WithCipher(storetest.NewCipher(t, newKey)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, e := range events {
		got, err := s.GetEvent(ctx, e.ID)
		if err != nil || !bytes.Equal(got.Body, e.Body) {
			t.Fatalf("event %s after rotation: %v", e.ID, err)
		}
	}

	out, _, err = run(t, nil, "store", "new-key", "--json")
	var nk struct {
		Key   string `json:"key"`
		KeyID string `json:"key_id"`
	}
	if err != nil || json.Unmarshal([]byte(out), &nk) != nil {
		t.Fatalf("new-key: %v %s", err, out)
	}
	if k, err := encrypt.ParseKey(nk.Key); err != nil || encrypt.KeyID(k) != nk.KeyID {
		t.Fatalf("new-key printed %s: %v", out, err)
	}
	if _, stderr, err := run(t, nil, "store", "rotate-key", "--help"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "-dry-run") {
		t.Errorf("rotate-key --help: %v\n%s", err, stderr)
	}
}

// TestStoreCopyKeepsRowsEncrypted copies a SQLite store with encrypted
// and plaintext rows into PostgreSQL without the keys: each sealed row
// arrives with its ciphertext and key ID byte for byte, a plaintext row
// stays plaintext, the destination does not open without the key and, with
// it, reads and delivers every event and still answers duplicate for them;
// an erasure there finds the events by their (sealed) subject.
func TestStoreCopyKeepsRowsEncrypted(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "hw.db")
	key := storetest.NewKey(t)
	id := encrypt.KeyID(key)
	at := time.Now().UTC().Truncate(time.Millisecond)
	// One event written before encryption was turned on.
	plain := storetest.NewEvent("stripe", "evt_enc_plain", at.Add(-time.Second))
	plain.Body, plain.Destinations = []byte(`{"customer":"cus_PLAINMARKER"}`), []string{"hook"}
	const subject = "cus_COPYSUBJECT"
	plain.Subject = subject
	src, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.InsertEvents(ctx, []*hookwatch.Event{plain}); err != nil {
		t.Fatal(err)
	}
	src.Close()
	src, err = sqlite.Open(ctx, db, sqlite.WithCipher(storetest.NewCipher(t, key)))
	if err != nil {
		t.Fatal(err)
	}
	events := []*hookwatch.Event{plain}
	for i := range 3 {
		e := storetest.NewEvent("stripe", "evt_enc_"+string(rune('a'+i)), at)
		e.Body, e.Destinations = []byte(`{"customer":"cus_COPYMARKER"}`), []string{"hook"}
		e.Subject = subject
		events = append(events, e)
	}
	kept := storetest.NewQuarantined("stripe", "bad_signature", time.Now().UTC())
	kept.Body, kept.Subject = []byte(`{"customer":"cus_COPYMARKER"}`), subject
	if _, err := src.InsertEvents(ctx, events[1:]); err != nil {
		t.Fatal(err)
	}
	if err := src.AddQuarantined(ctx, []*hookwatch.Quarantined{kept}); err != nil {
		t.Fatal(err)
	}
	src.Close()

	// The rows as the source stores them.
	type stored struct {
		keyID, headers string
		body           []byte
	}
	read := func(q func(string) (string, string, []byte, error), table, rowID string) stored {
		t.Helper()
		k, h, b, err := q(`SELECT key_id, headers, body FROM ` + table + ` WHERE id = ` + "'" + rowID + "'")
		if err != nil {
			t.Fatalf("read %s %s: %v", table, rowID, err)
		}
		return stored{k, h, b}
	}
	sdb, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	fromSQLite := func(q string) (k, h string, b []byte, err error) {
		err = sdb.QueryRow(q).Scan(&k, &h, &b)
		return
	}
	want := map[string]stored{"quarantine/" + kept.ID: read(fromSQLite, "quarantine", kept.ID)}
	for _, e := range events {
		want["events/"+e.ID] = read(fromSQLite, "events", e.ID)
	}
	if w := want["events/"+plain.ID]; w.keyID != "" || !bytes.Contains(w.body, []byte("PLAINMARKER")) {
		t.Fatalf("the plaintext event is stored as %+v", w)
	}

	// No --config, no key in the environment.
	out, stderr, err := run(t, nil, "store", "copy", "--from", "sqlite:"+db, "--to", url)
	if err != nil || !strings.Contains(out, "copied 4 of 4 events") || !strings.Contains(out, "1 of 1 quarantined") {
		t.Fatalf("copy without the key: %v\n%s%s", err, out, stderr)
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	fromPG := func(q string) (k, h string, b []byte, err error) {
		err = conn.QueryRow(ctx, q).Scan(&k, &h, &b)
		return
	}
	for row, w := range want {
		table, rowID, _ := strings.Cut(row, "/")
		got := read(fromPG, table, rowID)
		if got.keyID != w.keyID || got.headers != w.headers || !bytes.Equal(got.body, w.body) {
			t.Errorf("%s in the destination = %+v, want the source's %+v", row, got, w)
		}
		if row != "events/"+plain.ID && (got.keyID != id || bytes.Contains(got.body, []byte("COPYMARKER"))) {
			t.Errorf("%s in the destination is not sealed under %s: %+v", row, id, got)
		}
	}
	if s, err := postgres.Open(ctx, url); err == nil || !strings.Contains(err.Error(), id) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("destination opened without the key: %v", err)
	}
	dst, err := postgres.Open(ctx, url, postgres.WithCipher(storetest.NewCipher(t, key)))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	for _, e := range events {
		if got, err := dst.GetEvent(ctx, e.ID); err != nil || !bytes.Equal(got.Body, e.Body) || got.Headers.Get("Stripe-Signature") != e.Headers.Get("Stripe-Signature") {
			t.Fatalf("copied event %s: %+v, %v", e.ID, got, err)
		}
	}
	if got, err := dst.GetQuarantined(ctx, kept.ID); err != nil || !bytes.Equal(got.Body, kept.Body) {
		t.Fatalf("copied quarantined request: %v", err)
	}
	claimed, err := dst.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "hook", Owner: "test", Now: time.Now().Add(time.Minute), Lease: time.Minute, Limit: 10})
	if err != nil || len(claimed) != len(events) {
		t.Fatalf("claimed %d deliveries of the copy, want %d: %v", len(claimed), len(events), err)
	}
	bodies := map[string][]byte{}
	for _, e := range events {
		bodies[e.ID] = e.Body
	}
	for _, d := range claimed {
		if d.Event == nil || !bytes.Equal(d.Event.Body, bodies[d.EventID]) {
			t.Errorf("delivery %s would send %+v, want the body of %s", d.ID, d.Event, d.EventID)
		}
	}
	// The dedupe keys came from the source's columns: a retry of a copied
	// event is a duplicate of it.
	retry := storetest.NewEvent("stripe", "evt_enc_b", time.Now().UTC())
	if res, err := dst.InsertEvents(ctx, []*hookwatch.Event{retry}); err != nil || len(res) != 1 || !res[0].Duplicate || res[0].ID != events[2].ID {
		t.Errorf("a retry of a copied event: %+v, %v; want a duplicate of %s", res, err, events[2].ID)
	}
	// The sealed rows' subjects are seals under the installation key, which
	// the copy carried: an erasure in the destination finds them, and the
	// row stored before encryption by its plaintext subject.
	p, err := dst.EraseEvents(ctx, hookwatch.ErasureRequest{Subject: subject, Actor: "test"})
	if err != nil || p.Events != len(events) || p.Quarantined != 1 {
		t.Fatalf("erasure in the copy: %+v, %v; want %d events and 1 quarantined", p, err, len(events))
	}
}
