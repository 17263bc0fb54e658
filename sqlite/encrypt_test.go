package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

// TestEncryptedFileHoldsNoPlaintext greps the database file and its WAL for
// the bodies and header values of stored events and quarantined requests:
// with encryption on they are not there; without it, they are (the grep
// works).
func TestEncryptedFileHoldsNoPlaintext(t *testing.T) {
	t.Parallel()
	markers := []string{"cus_BODYMARKER_4711", "HEADERMARKER_0815", "QBODYMARKER_2342", "QHEADERMARKER_9999"}
	store := func(t *testing.T, c *encrypt.Cipher) (found []string) {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "hookwatch.db")
		s, err := sqlite.Open(ctx, path, sqlite.WithCipher(c))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		var events []*hookwatch.Event
		for i := range 50 {
			e := storetest.NewEvent("stripe", "evt_"+string(rune('a'+i%26))+string(rune('a'+i/26)), now)
			e.Body = []byte(`{"customer":"` + markers[0] + `"}`)
			e.Headers.Set("X-Note", markers[1])
			e.Destinations = []string{"app"}
			events = append(events, e)
		}
		if _, err := s.InsertEvents(ctx, events); err != nil {
			t.Fatal(err)
		}
		q := storetest.NewQuarantined("stripe", "bad_signature", now)
		q.Body = []byte(`{"customer":"` + markers[2] + `"}`)
		q.Headers.Set("X-Note", markers[3])
		if err := s.AddQuarantined(ctx, []*hookwatch.Quarantined{q}); err != nil {
			t.Fatal(err)
		}
		// Readable through the store all the same.
		if got, err := s.GetEvent(ctx, events[0].ID); err != nil || !bytes.Contains(got.Body, []byte(markers[0])) || got.Headers.Get("X-Note") != markers[1] {
			t.Fatalf("GetEvent: %v", err)
		}
		grep := func() {
			for _, f := range []string{path, path + "-wal"} {
				data, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				for _, m := range markers {
					if bytes.Contains(data, []byte(m)) {
						found = append(found, filepath.Base(f)+": "+m)
					}
				}
			}
		}
		grep() // with the WAL as the commits left it
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		grep() // checkpointed into the file
		return found
	}
	t.Run("Encrypted", func(t *testing.T) {
		if found := store(t, storetest.NewCipher(t, storetest.NewKey(t))); len(found) > 0 {
			t.Fatalf("plaintext at rest with encryption on: %v", found)
		}
	})
	t.Run("Plaintext", func(t *testing.T) {
		if found := store(t, nil); len(found) < len(markers) {
			t.Fatalf("without encryption the grep found only %v: it cannot tell", found)
		}
	})
}
