package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
)

// Encrypted is one store location that a test opens again and again with
// different keys, and reaches with SQL to alter rows behind the store's
// back.
type Encrypted struct {
	// Open opens the location with cipher c (nil: no encryption). The
	// test closes the store.
	Open func(c *encrypt.Cipher) (hookwatch.Store, error)
	// Exec runs one statement on the store's database, in SQL both stores
	// speak (IDs spelled as literals).
	Exec func(query string) error
}

// EncryptedOpener returns a fresh, empty location for one test.
type EncryptedOpener func(t *testing.T) Encrypted

// RunEncryption runs the encryption-at-rest contract: payloads round-trip
// under a cipher, rows in plaintext stay readable, rotation moves every row
// to the first key (or to plaintext when decrypt only), a store holding
// rows under a key the cipher lacks does not open and names the key ID,
// and an altered or moved payload is an error, never returned: a claim
// dead-letters its delivery (replayable once the key is fixed) and claims
// the destination's other deliveries.
func RunEncryption(t *testing.T, open EncryptedOpener) {
	t.Run("Rotation", func(t *testing.T) { t.Parallel(); testRotation(t, open(t)) })
	t.Run("MissingKey", func(t *testing.T) { t.Parallel(); testMissingKey(t, open(t)) })
	t.Run("Tamper", func(t *testing.T) { t.Parallel(); testTamper(t, open(t)) })
	t.Run("KeyMissingMidRun", func(t *testing.T) { t.Parallel(); testKeyMissingMidRun(t, open(t)) })
	t.Run("DecryptOnly", func(t *testing.T) { t.Parallel(); testDecryptOnly(t, open(t)) })
	t.Run("Export", func(t *testing.T) { t.Parallel(); testExport(t, open(t)) })
	t.Run("EraseSealedSubject", func(t *testing.T) { t.Parallel(); testEraseSealedSubject(t, open(t)) })
	t.Run("FilterErrors", func(t *testing.T) { t.Parallel(); testFilterErrors(t, open(t)) })
	t.Run("HandshakeSealed", func(t *testing.T) { t.Parallel(); testHandshakeSealed(t, open(t)) })
}

// testFilterErrors: why a filter left an event out (EventFilters) is sealed
// like its payload: the stored text column does not hold it, a store
// without the key does not open, a row moved to another route does not
// authenticate, rotation moves it to the new key, and `events show` (the
// event's EventFilters) reads it all along.
func testFilterErrors(t *testing.T, loc Encrypted) {
	ctx := context.Background()
	k1, k2 := NewKey(t), NewKey(t)
	const secret = "no such key: amount_paid_4242"
	ev := NewEvent("stripe", "evt_filter_sealed", time.Now().UTC().Add(-time.Minute))
	ev.Filtered = []hookwatch.Filtered{
		{Route: 2, Destinations: []string{"finance", "audit"}, Err: secret},
		{Route: 3, Destinations: []string{"ops"}},
	}
	want := ev.Filtered
	check := func(s hookwatch.Store, when string) {
		t.Helper()
		got, err := s.EventFilters(ctx, ev.ID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: EventFilters = %+v, %v; want %+v", when, got, err, want)
		}
	}
	s := mustOpen(t, loc, NewCipher(t, k1))
	insert(t, s, ev)
	check(s, "sealed")
	s.Close()

	// The text is in no text column: a delete of rows holding it deletes none.
	if err := loc.Exec(`DELETE FROM event_filters WHERE error LIKE '%amount_paid_4242%' OR destinations LIKE '%amount_paid_4242%'`); err != nil {
		t.Fatal(err)
	}
	// Under the key: a store without it does not open.
	if s, err := loc.Open(NewCipher(t, k2)); err == nil {
		s.Close()
		t.Fatalf("a store whose filter errors are sealed under %s opened without it", encrypt.KeyID(k1))
	}
	s = mustOpen(t, loc, NewCipher(t, k1))
	check(s, "reopened")
	s.Close()

	// Bound to its row: moved to another route it does not authenticate.
	if err := loc.Exec(`UPDATE event_filters SET route = 5 WHERE event_id = '` + ev.ID + `' AND route = 2`); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, loc, NewCipher(t, k1))
	if got, err := s.EventFilters(ctx, ev.ID); err == nil {
		t.Fatalf("a sealed filter error moved to another route read back: %+v", got)
	}
	s.Close()
	if err := loc.Exec(`UPDATE event_filters SET route = 2 WHERE event_id = '` + ev.ID + `' AND route = 5`); err != nil {
		t.Fatal(err)
	}

	// Rotation to k2 rekeys it: then it opens with k2 alone.
	s = mustOpen(t, loc, NewCipher(t, k2, k1))
	rotate(t, s)
	check(s, "rotated")
	s.Close()
	s = mustOpen(t, loc, NewCipher(t, k2))
	check(s, "opened with the new key alone")
	s.Close()
}

// testExport reads rows as stored (hookwatch.Exporter, for store copy): a
// sealed row's payload is the ciphertext under its key ID, bound to its
// table and ID; a plaintext row's is its JSON headers and body; each event
// carries the dedupe key and horizon the store remembers for it.
func testExport(t *testing.T, loc Encrypted) {
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	plain := NewEvent("stripe", "evt_exp_plain", base)
	s := mustOpen(t, loc, nil)
	insert(t, s, plain)
	s.Close()
	c := NewCipher(t, NewKey(t))
	s = mustOpen(t, loc, c)
	defer s.Close()
	sealed := NewEvent("stripe", "evt_exp_sealed", base.Add(time.Second))
	sealed.DedupeUntil = base.Add(48 * time.Hour)
	byBody := NewEvent("stripe", "evt_exp_body", base.Add(2*time.Second))
	byBody.DedupeKey = "sha256:0123456789abcdef"
	insert(t, s, sealed, byBody)
	kept := NewQuarantined("stripe", "bad_signature", base)
	kept.Body = []byte(`{"kept":"export"}`)
	addQuarantined(t, s, kept)

	exp, ok := s.(hookwatch.Exporter)
	if !ok {
		t.Fatalf("%T is not a hookwatch.Exporter", s)
	}
	first, err := exp.ExportEvents(ctx, "", 2)
	if err != nil || len(first) != 2 || first[0].Event.ID != byBody.ID || first[1].Event.ID != sealed.ID {
		t.Fatalf("ExportEvents first page: %d rows, %v; want the 2 newest", len(first), err)
	}
	rest, err := exp.ExportEvents(ctx, first[1].Event.ID, 2)
	if err != nil || len(rest) != 1 || rest[0].Event.ID != plain.ID {
		t.Fatalf("ExportEvents after %s: %d rows, %v; want only %s", first[1].Event.ID, len(rest), err, plain.ID)
	}
	want := map[string]struct {
		e        *hookwatch.Event
		keyID    string
		dedupeID string
		until    time.Time
	}{
		plain.ID:  {plain, "", plain.ProviderEventID, base.Add(hookwatch.DefaultDedupeHorizon)},
		sealed.ID: {sealed, c.KeyID(), sealed.ProviderEventID, sealed.DedupeUntil},
		byBody.ID: {byBody, c.KeyID(), byBody.DedupeKey, byBody.ReceivedAt.Add(hookwatch.DefaultDedupeHorizon)},
	}
	for _, se := range append(first, rest...) {
		w := want[se.Event.ID]
		if se.Payload.KeyID != w.keyID || se.Event.Source != w.e.Source || se.Event.ProviderEventID != w.e.ProviderEventID ||
			!se.Event.ReceivedAt.Equal(w.e.ReceivedAt) || se.Event.Body != nil || se.Event.Headers != nil {
			t.Errorf("exported %s: %+v, key ID %q; want key ID %q and the event's fields without its payload", se.Event.ID, se.Event, se.Payload.KeyID, w.keyID)
		}
		if se.DedupeID != w.dedupeID || !se.DedupeUntil.Equal(w.until) {
			t.Errorf("exported %s remembers %q until %v, want %q until %v", se.Event.ID, se.DedupeID, se.DedupeUntil, w.dedupeID, w.until)
		}
		if w.keyID != "" && (se.Payload.Headers != "" || bytes.Contains(se.Payload.Body, w.e.Body)) {
			t.Errorf("exported %s is not sealed: headers %q, body %q", se.Event.ID, se.Payload.Headers, se.Payload.Body)
		}
		h, b, err := c.OpenPayload("events", se.Event.ID, se.Payload.KeyID, se.Payload.Headers, se.Payload.Body)
		if err != nil || !bytes.Equal(b, w.e.Body) || !reflect.DeepEqual(h, w.e.Headers) {
			t.Errorf("exported %s opens to %q %v (%v), want %q %v", se.Event.ID, b, h, err, w.e.Body, w.e.Headers)
		}
		if w.keyID != "" {
			// Bound to its row: it does not open as another event's.
			if _, _, err := c.OpenPayload("events", plain.ID, se.Payload.KeyID, se.Payload.Headers, se.Payload.Body); err == nil {
				t.Errorf("the payload of %s opened as %s's", se.Event.ID, plain.ID)
			}
		}
	}
	qs, err := exp.ExportQuarantined(ctx, "", 10)
	if err != nil || len(qs) != 1 || qs[0].Quarantined.ID != kept.ID || qs[0].Payload.KeyID != c.KeyID() || qs[0].Size <= 0 || qs[0].Quarantined.Reason != kept.Reason {
		t.Fatalf("ExportQuarantined: %d rows, %v; want %s sealed under %s with its size", len(qs), err, kept.ID, c.KeyID())
	}
	if _, b, err := c.OpenPayload("quarantine", kept.ID, qs[0].Payload.KeyID, qs[0].Payload.Headers, qs[0].Payload.Body); err != nil || !bytes.Equal(b, kept.Body) {
		t.Errorf("exported quarantined request opens to %q (%v), want %q", b, err, kept.Body)
	}
}

// NewCipher returns a cipher over fresh random keys, the first sealing.
func NewCipher(t testing.TB, keys ...[]byte) *encrypt.Cipher {
	t.Helper()
	c, err := encrypt.New(keys, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// NewKey returns a random key.
func NewKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, encrypt.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func mustOpen(t *testing.T, loc Encrypted, c *encrypt.Cipher) hookwatch.Store {
	t.Helper()
	s, err := loc.Open(c)
	if err != nil {
		t.Fatalf("open with keys %v: %v", c.KeyIDs(), err)
	}
	return s
}

// written is what a test stored, to compare with what is read back.
type written struct {
	events []*hookwatch.Event
	kept   []*hookwatch.Quarantined
}

// write stores n events (with one delivery each) and n quarantined
// requests, received at at and after.
func (w *written) write(t *testing.T, s hookwatch.Store, tag string, n int, at time.Time) {
	t.Helper()
	var events []*hookwatch.Event
	var qs []*hookwatch.Quarantined
	for i := range n {
		e := NewEvent("stripe", fmt.Sprintf("evt_%s_%d", tag, i), at.Add(time.Duration(i)*time.Millisecond))
		e.Headers.Set("X-Customer", "cus_"+tag)
		e.Destinations = []string{"app"}
		events = append(events, e)
		q := NewQuarantined("stripe", "bad_signature", at.Add(time.Duration(i)*time.Millisecond))
		q.Body = []byte(fmt.Sprintf(`{"kept":%q,"n":%d}`, tag, i))
		qs = append(qs, q)
	}
	insert(t, s, events...)
	addQuarantined(t, s, qs...)
	w.events, w.kept = append(w.events, events...), append(w.kept, qs...)
}

// check reads every written row back and compares it.
func (w *written) check(t *testing.T, s hookwatch.Store) {
	t.Helper()
	ctx := context.Background()
	for _, want := range w.events {
		got, err := s.GetEvent(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetEvent(%s): %v", want.ID, err)
		}
		if !bytes.Equal(got.Body, want.Body) || !reflect.DeepEqual(got.Headers, want.Headers) || got.ProviderEventID != want.ProviderEventID {
			t.Fatalf("event %s read back as %q %v, want %q %v", want.ID, got.Body, got.Headers, want.Body, want.Headers)
		}
	}
	list, err := s.ListEvents(ctx, hookwatch.EventFilter{Limit: 1000})
	if err != nil || len(list) != len(w.events) {
		t.Fatalf("ListEvents: %d events, %v; want %d", len(list), err, len(w.events))
	}
	for _, want := range w.kept {
		got, err := s.GetQuarantined(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetQuarantined(%s): %v", want.ID, err)
		}
		if !bytes.Equal(got.Body, want.Body) || !reflect.DeepEqual(got.Headers, want.Headers) {
			t.Fatalf("quarantined %s read back as %q %v, want %q %v", want.ID, got.Body, got.Headers, want.Body, want.Headers)
		}
	}
	kept, err := s.ListQuarantined(ctx, hookwatch.QuarantineFilter{Limit: 1000})
	if err != nil || len(kept) != len(w.kept) {
		t.Fatalf("ListQuarantined: %d, %v; want %d", len(kept), err, len(w.kept))
	}
}

// rotate runs RekeyPage over every table in pages of 7 and returns how
// many rows were rewritten.
func rotate(t *testing.T, s hookwatch.Store) int {
	t.Helper()
	r, ok := s.(hookwatch.Rekeyer)
	if !ok {
		t.Fatalf("%T does not implement hookwatch.Rekeyer", s)
	}
	total := 0
	for _, table := range hookwatch.RekeyTables {
		for after := ""; ; {
			last, n, err := r.RekeyPage(context.Background(), table, after, 7)
			if err != nil {
				t.Fatalf("RekeyPage(%s, %q): %v", table, after, err)
			}
			total += n
			if last == "" {
				break
			}
			after = last
		}
	}
	return total
}

func usage(t *testing.T, s hookwatch.Store) map[string]map[string]int {
	t.Helper()
	u, err := s.(hookwatch.Rekeyer).KeyUsage(context.Background())
	if err != nil {
		t.Fatalf("KeyUsage: %v", err)
	}
	return u
}

func testRotation(t *testing.T, loc Encrypted) {
	k1, k2 := NewKey(t), NewKey(t)
	id1, id2 := encrypt.KeyID(k1), encrypt.KeyID(k2)
	var w written

	// Rows written before encryption was turned on, then under k1.
	s := mustOpen(t, loc, nil)
	w.write(t, s, "plain", 5, base)
	s.Close()
	s = mustOpen(t, loc, NewCipher(t, k1))
	w.write(t, s, "one", 10, base.Add(time.Minute))
	w.check(t, s)
	s.Close()

	// k2 first, k1 still listed: old rows read, new ones are under k2.
	s = mustOpen(t, loc, NewCipher(t, k2, k1))
	w.write(t, s, "two", 3, base.Add(2*time.Minute))
	w.check(t, s)
	want := map[string]map[string]int{
		"events":     {"": 5, id1: 10, id2: 3},
		"quarantine": {"": 5, id1: 10, id2: 3},
	}
	if got := usage(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("key usage before rotation = %v, want %v", got, want)
	}
	if n := rotate(t, s); n != 30 {
		t.Fatalf("rotation rewrote %d rows, want 30 (15 events and 15 quarantined requests not under %s)", n, id2)
	}
	want = map[string]map[string]int{"events": {id2: 18}, "quarantine": {id2: 18}}
	if got := usage(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("key usage after rotation = %v, want %v", got, want)
	}
	if n := rotate(t, s); n != 0 {
		t.Fatalf("a second rotation rewrote %d rows", n)
	}
	w.check(t, s)
	// The deliveries still carry their events.
	ds, err := s.ClaimDeliveries(context.Background(), hookwatch.ClaimRequest{Destination: "app", Owner: "t", Now: base.Add(time.Hour), Lease: time.Minute, Limit: 100})
	if err != nil || len(ds) != 18 {
		t.Fatalf("ClaimDeliveries after rotation: %d, %v", len(ds), err)
	}
	for _, d := range ds {
		if d.Event == nil || !bytes.Contains(d.Event.Body, []byte(`"id":"evt_`)) {
			t.Fatalf("claimed delivery %s has event %+v", d.ID, d.Event)
		}
	}
	s.Close()

	// k1 is no longer needed: the store opens with k2 alone...
	s = mustOpen(t, loc, NewCipher(t, k2))
	w.check(t, s)
	s.Close()
	// ...and not with k1 alone, naming k2's ID.
	if s, err := loc.Open(NewCipher(t, k1)); err == nil {
		s.Close()
		t.Fatal("store opened with only the retired key")
	} else if !strings.Contains(err.Error(), id2) {
		t.Fatalf("open with the retired key: %v, want an error naming key ID %s", err, id2)
	}
}

func testMissingKey(t *testing.T, loc Encrypted) {
	k := NewKey(t)
	id := encrypt.KeyID(k)
	s := mustOpen(t, loc, NewCipher(t, k))
	var w written
	w.write(t, s, "x", 2, base)
	s.Close()
	for name, c := range map[string]*encrypt.Cipher{"no key": nil, "a wrong key": NewCipher(t, NewKey(t))} {
		s, err := loc.Open(c)
		if err == nil {
			s.Close()
			t.Fatalf("store with rows under %s opened with %s", id, name)
		}
		if hookwatch.ErrorCode(err) != hookwatch.EINVALID || !strings.Contains(err.Error(), id) {
			t.Fatalf("open with %s: %v (code %s), want EINVALID naming key ID %s", name, err, hookwatch.ErrorCode(err), id)
		}
	}
	s = mustOpen(t, loc, NewCipher(t, k))
	w.check(t, s)
	s.Close()
}

func testTamper(t *testing.T, loc Encrypted) {
	ctx := context.Background()
	k := NewKey(t)
	id := encrypt.KeyID(k)
	s := mustOpen(t, loc, NewCipher(t, k))
	defer func() { s.Close() }()
	var w written
	w.write(t, s, "t", 3, base)
	a, b, c := w.events[0], w.events[1], w.events[2]
	// One payload cut short, another replaced by a third row's.
	for _, q := range []string{
		`UPDATE events SET body = substr(body, 1, length(body) - 1) WHERE id = '` + a.ID + `'`,
		`UPDATE events SET body = (SELECT body FROM events WHERE id = '` + c.ID + `') WHERE id = '` + b.ID + `'`,
		`UPDATE quarantine SET body = (SELECT body FROM quarantine WHERE id = '` + w.kept[1].ID + `') WHERE id = '` + w.kept[0].ID + `'`,
	} {
		if err := loc.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, e := range []*hookwatch.Event{a, b} {
		if got, err := s.GetEvent(ctx, e.ID); err == nil {
			t.Fatalf("altered event %s read back as %q", e.ID, got.Body)
		} else if !strings.Contains(err.Error(), "authenticate") {
			t.Fatalf("altered event %s: %v, want an error saying it does not authenticate", e.ID, err)
		}
	}
	if got, err := s.GetEvent(ctx, c.ID); err != nil || !bytes.Equal(got.Body, c.Body) {
		t.Fatalf("untouched event %s: %q, %v", c.ID, got.Body, err)
	}
	if _, err := s.ListEvents(ctx, hookwatch.EventFilter{}); err == nil {
		t.Fatal("ListEvents returned altered events without an error")
	}
	if got, err := s.GetQuarantined(ctx, w.kept[0].ID); err == nil {
		t.Fatalf("altered quarantined request read back as %q", got.Body)
	}
	// Never delivered, and not in the way of the destination's other
	// deliveries: the claim dead-letters them and returns the good ones.
	w.write(t, s, "g", 2, base.Add(time.Second))
	checkUnreadable(t, s, id, []*hookwatch.Event{c, w.events[3], w.events[4]}, []*hookwatch.Event{a, b}, "(tampered or wrong key)")
	// Rotation stops at them too rather than sealing what it could not
	// open.
	s.Close()
	s = mustOpen(t, loc, NewCipher(t, NewKey(t), k))
	if _, _, err := s.(hookwatch.Rekeyer).RekeyPage(ctx, "events", "", 100); err == nil || !strings.Contains(err.Error(), a.ID) {
		t.Fatalf("RekeyPage over altered events: %v, want an error naming %s", err, a.ID)
	}
	if got, err := s.GetEvent(ctx, c.ID); err != nil || !bytes.Equal(got.Body, c.Body) {
		t.Fatalf("untouched event %s after the failed rotation: %q, %v", c.ID, got.Body, err)
	}
}

func testDecryptOnly(t *testing.T, loc Encrypted) {
	k := NewKey(t)
	s := mustOpen(t, loc, NewCipher(t, k))
	var w written
	w.write(t, s, "d", 4, base)
	s.Close()
	off, err := encrypt.New([][]byte{k}, true)
	if err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, loc, off)
	w.write(t, s, "p", 2, base.Add(time.Minute))
	if n := rotate(t, s); n != 8 {
		t.Fatalf("decrypting rotation rewrote %d rows, want 8", n)
	}
	want := map[string]map[string]int{"events": {"": 6}, "quarantine": {"": 6}}
	if got := usage(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("key usage after decrypting = %v, want %v", got, want)
	}
	s.Close()
	// Encryption can now be removed from the config.
	s = mustOpen(t, loc, nil)
	defer s.Close()
	w.check(t, s)
}

// checkUnreadable claims every due delivery of destination app: those of
// good come back with their payloads, those of bad are dead-lettered with
// an error naming key ID id and saying why (reason), reported to the
// claim's DeadLettered, and listed as dead with one attempt; a second
// claim finds nothing.
func checkUnreadable(t *testing.T, s hookwatch.Store, id string, good, bad []*hookwatch.Event, reason string) {
	t.Helper()
	ctx := context.Background()
	now := base.Add(time.Hour)
	reported := map[string]*hookwatch.Attempt{}
	ds, err := s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "t", Now: now, Lease: time.Minute, Limit: 100,
		DeadLettered: func(d *hookwatch.Delivery, a *hookwatch.Attempt) {
			if d.Status != hookwatch.DeliveryDead || d.Event == nil || d.Event.Body != nil || d.Event.Source != "stripe" {
				t.Errorf("reported dead letter %s: status %s, event %+v; want dead, the event's source and no body", d.ID, d.Status, d.Event)
			}
			reported[d.EventID] = a
		}})
	if err != nil {
		t.Fatalf("ClaimDeliveries with unreadable events among good ones: %v", err)
	}
	if len(ds) != len(good) {
		t.Fatalf("ClaimDeliveries returned %d deliveries, want the %d whose events open", len(ds), len(good))
	}
	for i, d := range ds {
		if d.EventID != good[i].ID || d.Event == nil || !bytes.Equal(d.Event.Body, good[i].Body) || !reflect.DeepEqual(d.Event.Headers, good[i].Headers) {
			t.Fatalf("claimed delivery %d: event %s %+v, want %s with its payload", i, d.EventID, d.Event, good[i].ID)
		}
	}
	dead, err := s.ListDeliveries(ctx, hookwatch.DeliveryFilter{Status: hookwatch.DeliveryDead})
	if err != nil || len(dead) != len(bad) {
		t.Fatalf("ListDeliveries(dead): %d, %v; want %d", len(dead), err, len(bad))
	}
	for _, e := range bad {
		a := reported[e.ID]
		if a == nil {
			t.Fatalf("the dead letter of %s was not reported to DeadLettered (reported: %v)", e.ID, reported)
		}
		var d *hookwatch.Delivery
		for _, x := range dead {
			if x.EventID == e.ID {
				d = x
			}
		}
		if d == nil {
			t.Fatalf("the delivery of unreadable event %s is not dead", e.ID)
		}
		_, attempts, err := s.GetDelivery(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range []string{d.LastError, a.Error} {
			if !strings.HasPrefix(msg, "event unreadable: ") || !strings.Contains(msg, "key "+id) || !strings.Contains(msg, reason) ||
				!strings.Contains(msg, "replay") || strings.Contains(msg, "cus_") || strings.Contains(msg, `"id"`) {
				t.Fatalf("dead letter of %s says %q, want \"event unreadable: \" naming key %s, %q and the replay, and no payload", e.ID, msg, id, reason)
			}
		}
		if d.Attempts != 1 || d.LastClass != hookwatch.ClassUnknown || d.LeaseOwner != "" || len(attempts) != 1 || attempts[0].Error != d.LastError {
			t.Fatalf("dead letter of %s: attempts %d, class %s, lease %q, %d attempts recorded; want one attempt of class %s, no lease",
				e.ID, d.Attempts, d.LastClass, d.LeaseOwner, len(attempts), hookwatch.ClassUnknown)
		}
	}
	// The good ones are leased, the bad ones dead: nothing is left to claim.
	ds, err = s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "t2", Now: now, Lease: time.Minute, Limit: 100})
	if err != nil || len(ds) != 0 {
		t.Fatalf("a second claim: %d deliveries, %v; want none", len(ds), err)
	}
}

// testKeyMissingMidRun: an instance whose keys lack the one another
// instance seals under dead-letters what that one wrote, and a replay once
// the key is there delivers it.
func testKeyMissingMidRun(t *testing.T, loc Encrypted) {
	ctx := context.Background()
	k1, k2 := NewKey(t), NewKey(t)
	old := mustOpen(t, loc, NewCipher(t, k1))
	defer func() { old.Close() }()
	var w written
	w.write(t, old, "one", 2, base)
	// Another instance, already configured with the new key first.
	newer := mustOpen(t, loc, NewCipher(t, k2, k1))
	defer func() { newer.Close() }()
	var w2 written
	w2.write(t, newer, "two", 1, base.Add(time.Second))
	checkUnreadable(t, old, encrypt.KeyID(k2), w.events, w2.events, "which encryption.keys does not list")
	// The key is fixed (here: the instance that has it), the dead letter
	// is replayed and claimed with its payload.
	if _, err := newer.ReplayDeliveries(ctx, hookwatch.ReplayRequest{Actor: "t", Now: base.Add(3 * time.Hour),
		Filter: hookwatch.DeliveryFilter{EventIDs: []string{w2.events[0].ID}}}); err != nil {
		t.Fatalf("ReplayDeliveries: %v", err)
	}
	ds, err := newer.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "t3", Now: base.Add(3 * time.Hour), Lease: time.Minute, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, d := range ds {
		if d.EventID == w2.events[0].ID {
			found = d.Event != nil && bytes.Equal(d.Event.Body, w2.events[0].Body)
		}
	}
	if !found {
		t.Fatalf("the replayed delivery of %s was not claimed with its payload once the key was there (%d claimed)", w2.events[0].ID, len(ds))
	}
}

// testEraseSealedSubject: with encryption on, a subject is stored as its
// seal under the installation key (hookwatch.StoredSubject) and read back
// so; rows stored before encryption was on keep the subject itself. An
// erasure by the subject finds both, events and quarantined requests, and
// leaves other subjects' rows.
func testEraseSealedSubject(t *testing.T, loc Encrypted) {
	ctx := context.Background()
	const subject = "cus_SealedErase"
	base := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	old := NewEvent("stripe", "evt_seal_old", base)
	old.Subject = subject
	s := mustOpen(t, loc, nil)
	insert(t, s, old)
	s.Close()

	s = mustOpen(t, loc, NewCipher(t, NewKey(t)))
	defer s.Close()
	sealed := NewEvent("stripe", "evt_seal_new", base.Add(time.Second))
	sealed.Subject = subject
	other := NewEvent("stripe", "evt_seal_other", base.Add(2*time.Second))
	other.Subject = "cus_SealedKept"
	insert(t, s, sealed, other)
	q := NewQuarantined("stripe", "bad_signature", base)
	q.Subject, q.Body = subject, []byte(`{"customer":"`+subject+`"}`)
	addQuarantined(t, s, q)

	key, err := s.InstallationKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{old.ID: subject, sealed.ID: hookwatch.SubjectSeal(key, subject)} {
		if got, err := s.GetEvent(ctx, id); err != nil || got.Subject != want {
			t.Fatalf("GetEvent(%s): %v, %v; want subject %q", id, got, err, want)
		}
	}
	if got, err := s.GetQuarantined(ctx, q.ID); err != nil || got.Subject != hookwatch.SubjectSeal(key, subject) {
		t.Fatalf("GetQuarantined: %v, %v; want the subject sealed", got, err)
	}

	p, err := s.EraseEvents(ctx, hookwatch.ErasureRequest{Subject: subject, Actor: "test"})
	if err != nil {
		t.Fatalf("EraseEvents: %v", err)
	}
	if p.Events != 2 || p.Quarantined != 1 {
		t.Fatalf("erased %d events and %d quarantined, want 2 (one stored before encryption, one sealed) and 1", p.Events, p.Quarantined)
	}
	for _, id := range []string{old.ID, sealed.ID} {
		if _, err := s.GetEvent(ctx, id); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("erased event %s: %v, want not found", id, err)
		}
	}
	if _, err := s.GetQuarantined(ctx, q.ID); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
		t.Errorf("erased quarantined request: %v, want not found", err)
	}
	if got, err := s.GetEvent(ctx, other.ID); err != nil || got.Subject != hookwatch.SubjectSeal(key, other.Subject) {
		t.Errorf("another subject's event: %v, %v", got, err)
	}
}
