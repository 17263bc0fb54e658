package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

// TestRotationLeavesNoPlaintext turns encryption on for a store written in
// plaintext, rotates and vacuums (docs/configuration.md#encryption): the
// bodies and header values the rows held are no longer anywhere in the
// file, and every event reads back.
func TestRotationLeavesNoPlaintext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookwatch.db")
	markers := []string{"cus_PLAINBODY_1234", "PLAINHEADER_5678", "QPLAINBODY_0000"}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var events []*hookwatch.Event
	for i := range 40 {
		e := storetest.NewEvent("stripe", "evt_p"+string(rune('a'+i%26))+string(rune('a'+i/26)), time.Now())
		e.Body = bytes.Repeat([]byte(`{"customer":"`+markers[0]+`"}`), 1+i%5)
		e.Headers.Set("X-Note", markers[1])
		events = append(events, e)
	}
	if _, err := s.InsertEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	q := storetest.NewQuarantined("stripe", "bad_signature", time.Now())
	q.Body = []byte(markers[2])
	if err := s.AddQuarantined(ctx, []*hookwatch.Quarantined{q}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = sqlite.Open(ctx, path, sqlite.WithCipher(storetest.NewCipher(t, storetest.NewKey(t))))
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range hookwatch.RekeyTables {
		for after := ""; ; {
			last, _, err := s.RekeyPage(ctx, table, after, 7)
			if err != nil {
				t.Fatal(err)
			}
			if last == "" {
				break
			}
			after = last
		}
	}
	for _, e := range events {
		if got, err := s.GetEvent(ctx, e.ID); err != nil || !bytes.Equal(got.Body, e.Body) {
			t.Fatalf("event %s after rotation: %v", e.ID, err)
		}
	}
	s.Close()
	// Rotation zeroes the space it frees, but bytes left in pages it does
	// not rewrite (an interior page that was once a leaf) stay until
	// VACUUM, the documented last step.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("VACUUM"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, f := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, m := range markers {
			if n := bytes.Count(data, []byte(m)); n > 0 {
				t.Errorf("%s still holds %q %d times after rotation", filepath.Base(f), m, n)
			}
		}
	}
}
