package encrypt_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, encrypt.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func mustNew(t *testing.T, decryptOnly bool, keys ...[]byte) *encrypt.Cipher {
	t.Helper()
	c, err := encrypt.New(keys, decryptOnly)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPayloadRoundTrip(t *testing.T) {
	k := newKey(t)
	c := mustNew(t, false, k)
	headers := http.Header{"Content-Type": {"application/json"}, "Stripe-Signature": {"t=1,v1=abc"}}
	body := []byte(`{"id":"evt_1","customer":"cus_secret"}`)
	hcol, bcol, id, err := c.SealPayload("events", "evt_1", headers, body)
	if err != nil {
		t.Fatal(err)
	}
	if id != encrypt.KeyID(k) || id != c.KeyID() || len(id) != 16 {
		t.Fatalf("key ID %q, want %q", id, encrypt.KeyID(k))
	}
	if hcol != "" || bytes.Contains(bcol, []byte("cus_secret")) || bytes.Contains(bcol, []byte("application/json")) {
		t.Fatalf("sealed columns hold plaintext: %q %q", hcol, bcol)
	}
	gotH, gotB, err := c.OpenPayload("events", "evt_1", id, hcol, bcol)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotH, headers) || !bytes.Equal(gotB, body) {
		t.Fatalf("round trip: %v %q", gotH, gotB)
	}
	// Two seals of the same payload differ (a random nonce each).
	_, again, _, _ := c.SealPayload("events", "evt_1", headers, body)
	if bytes.Equal(again, bcol) {
		t.Fatal("two seals are identical: the nonce is not random")
	}
	// An empty body and no headers round-trip too.
	hcol, bcol, id, _ = c.SealPayload("quarantine", "qrn_1", nil, nil)
	if gotH, gotB, err := c.OpenPayload("quarantine", "qrn_1", id, hcol, bcol); err != nil || len(gotH) != 0 || len(gotB) != 0 {
		t.Fatalf("empty payload: %v %q %v", gotH, gotB, err)
	}
}

func TestPlaintextWhenOff(t *testing.T) {
	var off *encrypt.Cipher
	hcol, bcol, id, err := off.SealPayload("events", "evt_1", http.Header{"A": {"b"}}, []byte("body"))
	if err != nil || id != "" || hcol != `{"A":["b"]}` || string(bcol) != "body" {
		t.Fatalf("off: %q %q %q %v", hcol, bcol, id, err)
	}
	// A cipher reads plaintext rows (written before encryption was on).
	c := mustNew(t, false, newKey(t))
	h, b, err := c.OpenPayload("events", "evt_1", "", hcol, bcol)
	if err != nil || h.Get("A") != "b" || string(b) != "body" {
		t.Fatalf("plaintext row: %v %q %v", h, b, err)
	}
}

func TestTamperDetected(t *testing.T) {
	c := mustNew(t, false, newKey(t))
	hcol, bcol, id, _ := c.SealPayload("events", "evt_1", http.Header{"A": {"b"}}, []byte("pay me"))
	for i := range bcol {
		bad := bytes.Clone(bcol)
		bad[i] ^= 1
		if _, _, err := c.OpenPayload("events", "evt_1", id, hcol, bad); hookwatch.ErrorCode(err) != hookwatch.EINTERNAL {
			t.Fatalf("byte %d flipped: err %v, want EINTERNAL", i, err)
		}
	}
	if _, _, err := c.OpenPayload("events", "evt_1", id, hcol, bcol[:10]); err == nil {
		t.Fatal("a truncated payload opened")
	}
	// The payload is bound to its row and table: moved, it does not open.
	if _, _, err := c.OpenPayload("events", "evt_2", id, hcol, bcol); err == nil || !strings.Contains(err.Error(), "moved from another row") {
		t.Fatalf("moved to another row: %v", err)
	}
	if _, _, err := c.OpenPayload("quarantine", "evt_1", id, hcol, bcol); err == nil {
		t.Fatal("moved to another table: opened")
	}
}

func TestWrongOrMissingKey(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	c1 := mustNew(t, false, k1)
	hcol, bcol, id, _ := c1.SealPayload("events", "evt_1", nil, []byte("x"))
	c2 := mustNew(t, false, k2)
	_, _, err := c2.OpenPayload("events", "evt_1", id, hcol, bcol)
	if hookwatch.ErrorCode(err) != hookwatch.EINVALID || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), c2.KeyID()) {
		t.Fatalf("wrong key: %v (want EINVALID naming %s and the configured %s)", err, id, c2.KeyID())
	}
	var off *encrypt.Cipher
	if _, _, err := off.OpenPayload("events", "evt_1", id, hcol, bcol); hookwatch.ErrorCode(err) != hookwatch.EINVALID || !strings.Contains(err.Error(), id) {
		t.Fatalf("no key: %v", err)
	}
	// Neither error reveals a key.
	for _, k := range [][]byte{k1, k2} {
		if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(k)) {
			t.Fatal("error quotes a key")
		}
	}
}

func TestRotation(t *testing.T) {
	old, next := newKey(t), newKey(t)
	before := mustNew(t, false, old)
	hcol, bcol, oldID, _ := before.SealPayload("events", "evt_1", nil, []byte("kept"))
	// The new key first: it seals, and the old one still opens.
	after := mustNew(t, false, next, old)
	if after.KeyID() != encrypt.KeyID(next) || !after.Has(oldID) {
		t.Fatalf("rotated cipher: seals with %s, opens old %v", after.KeyID(), after.Has(oldID))
	}
	_, b, err := after.OpenPayload("events", "evt_1", oldID, hcol, bcol)
	if err != nil || string(b) != "kept" {
		t.Fatalf("old row under rotated keys: %q %v", b, err)
	}
	_, _, newID, _ := after.SealPayload("events", "evt_1", nil, b)
	if newID != encrypt.KeyID(next) {
		t.Fatalf("re-sealed under %s, want %s", newID, encrypt.KeyID(next))
	}
	// Decrypt only: every key opens, nothing is sealed.
	off := mustNew(t, true, old)
	if off.KeyID() != "" {
		t.Fatalf("decrypt-only cipher seals with %s", off.KeyID())
	}
	if _, b, err := off.OpenPayload("events", "evt_1", oldID, hcol, bcol); err != nil || string(b) != "kept" {
		t.Fatalf("decrypt only: %q %v", b, err)
	}
	if _, _, id, _ := off.SealPayload("events", "evt_1", nil, b); id != "" {
		t.Fatalf("decrypt-only cipher sealed under %s", id)
	}
}

func TestParseKeyAndNew(t *testing.T) {
	k := newKey(t)
	for _, s := range []string{base64.StdEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k), " " + base64.StdEncoding.EncodeToString(k) + "\n"} {
		got, err := encrypt.ParseKey(s)
		if err != nil || !bytes.Equal(got, k) {
			t.Fatalf("ParseKey(%q): %v", s, err)
		}
	}
	short := base64.StdEncoding.EncodeToString(k[:16])
	if _, err := encrypt.ParseKey(short); err == nil || strings.Contains(err.Error(), short) || !strings.Contains(err.Error(), "16") {
		t.Fatalf("16-byte key: %v", err)
	}
	if _, err := encrypt.ParseKey("not base64!"); err == nil || strings.Contains(err.Error(), "not base64!") {
		t.Fatalf("bad key: %v", err)
	}
	if _, err := encrypt.New([][]byte{k, k}, false); err == nil {
		t.Fatal("a key listed twice was accepted")
	}
	if _, err := encrypt.New(nil, false); err == nil {
		t.Fatal("no key was accepted")
	}
	c := mustNew(t, false, k, newKey(t))
	if ids := c.KeyIDs(); len(ids) != 2 || ids[0] != c.KeyID() {
		t.Fatalf("KeyIDs %v", ids)
	}
}

// The benchmarks compare a 1 KB event's payload sealed and opened with the
// same done in plaintext (encoding the headers is common to both): the
// difference is encryption's cost per event.
func BenchmarkPayload1KB(b *testing.B) {
	k := make([]byte, encrypt.KeySize)
	on, _ := encrypt.New([][]byte{k}, false)
	h := http.Header{"Content-Type": {"application/json"}, "Stripe-Signature": {"t=1700000000,v1=" + strings.Repeat("a", 64)}}
	body := bytes.Repeat([]byte("x"), 1024)
	const id = "evt_01HZZZZZZZZZZZZZZZZZZZZZZZ"
	for _, c := range []struct {
		name   string
		cipher *encrypt.Cipher
	}{{"plaintext", nil}, {"encrypted", on}} {
		b.Run("seal/"+c.name, func(b *testing.B) {
			for b.Loop() {
				c.cipher.SealPayload("events", id, h, body)
			}
		})
		hcol, bcol, kid, _ := c.cipher.SealPayload("events", id, h, body)
		b.Run("open/"+c.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := c.cipher.OpenPayload("events", id, kid, hcol, bcol); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
