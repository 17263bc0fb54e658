package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

// An erasure leaves no trace of the subject in the database file or its
// WAL: not in the events' rows or the subject index, not in bodies large
// enough to spill into overflow pages, not in attempts whose response
// echoed it, not in quarantined requests (parsed or cut), and not in free
// pages or earlier versions of pages in the WAL. Other subjects' rows, which
// share the pages, stay readable.
func TestEraseLeavesNoTraceInFileOrWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookwatch.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const subject = "cus_Zq7ErasedSubject"
	at := time.Now().UTC().Truncate(time.Microsecond)
	var events, others []*hookwatch.Event
	for i := range 300 {
		e := storetest.NewEvent("stripe", fmt.Sprintf("evt_%d", i), at.Add(time.Duration(i)*time.Millisecond))
		e.Destinations = []string{"app"}
		if i%3 == 0 {
			e.Subject = subject
			pad := ""
			if i%2 == 0 {
				pad = strings.Repeat("x", 9000) // overflow pages
			}
			e.Body = []byte(`{"data":{"object":{"customer":"` + subject + `","email":"` + subject + `@example.com","pad":"` + pad + `"}}}`)
			events = append(events, e)
		} else {
			e.Subject = fmt.Sprintf("cus_other%d", i)
			others = append(others, e)
		}
	}
	if _, err := s.InsertEvents(ctx, append(append([]*hookwatch.Event{}, events...), others...)); err != nil {
		t.Fatal(err)
	}
	// Attempts whose response echoes the subject, and failures naming them.
	ds, err := s.ClaimDeliveries(ctx, hookwatch.ClaimRequest{Destination: "app", Owner: "w", Now: at.Add(time.Second), Lease: time.Minute, Limit: 400})
	if err != nil || len(ds) != 300 {
		t.Fatalf("claimed %d: %v", len(ds), err)
	}
	var fin []hookwatch.Finish
	var fails []hookwatch.Failure
	for _, d := range ds {
		fin = append(fin, hookwatch.Finish{Owner: "w", Outcome: hookwatch.OutcomeRetry, NextAttemptAt: at.Add(time.Hour),
			Attempt: hookwatch.Attempt{DeliveryID: d.ID, Owner: "w", At: at.Add(time.Second), Class: hookwatch.ClassValidation, StatusCode: 422,
				Error: "HTTP 422", Response: []byte(`{"error":"unknown customer ` + d.Event.Subject + `"}`)}})
		fails = append(fails, hookwatch.Failure{Kind: hookwatch.FailureAttempt, Source: "stripe", Destination: "app", Class: "validation_error",
			EventID: d.EventID, DeliveryID: d.ID, At: at.Add(time.Second), Message: "HTTP 422"})
	}
	if _, err := s.FinishDeliveries(ctx, fin); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordFailures(ctx, fails); err != nil {
		t.Fatal(err)
	}
	parsed := storetest.NewQuarantined("stripe", "bad_signature", at)
	parsed.Subject, parsed.Body = subject, []byte(`{"data":{"object":{"customer":"`+subject+`"}}}`)
	cut := storetest.NewQuarantined("stripe", "bad_signature", at.Add(time.Millisecond))
	cut.Body, cut.Truncated = []byte(`{"data":{"object":{"customer":"`+subject+`","pad":"`), true
	kept := storetest.NewQuarantined("stripe", "bad_signature", at.Add(2*time.Millisecond))
	if err := s.AddQuarantined(ctx, []*hookwatch.Quarantined{parsed, cut, kept}); err != nil {
		t.Fatal(err)
	}
	// Some of it checkpointed into the database file, some only in the WAL.
	time.Sleep(300 * time.Millisecond)
	if in := fileHolds(t, path, subject); len(in) == 0 {
		t.Fatalf("before the erasure no file holds the subject: the test proves nothing")
	}

	p, err := s.EraseEvents(ctx, hookwatch.ErasureRequest{Subject: subject, Actor: "test"})
	if err != nil {
		t.Fatalf("EraseEvents: %v", err)
	}
	if p.Events != len(events) || p.Quarantined != 2 {
		t.Fatalf("erased %d events and %d quarantined, want %d and 2", p.Events, p.Quarantined, len(events))
	}
	if in := fileHolds(t, path, subject); len(in) != 0 {
		t.Errorf("after the erasure the subject is still in %v", in)
		logPages(t, path, subject)
	}
	for _, e := range others[:5] {
		if got, err := s.GetEvent(ctx, e.ID); err != nil || got.Subject != e.Subject {
			t.Errorf("another subject's event %s: %v, %v", e.ID, got, err)
		}
	}
	if _, err := s.GetQuarantined(ctx, kept.ID); err != nil {
		t.Errorf("an unrelated quarantined request was erased: %v", err)
	}
	// Later writes do not bring it back (nothing of it is left to copy).
	if _, err := s.InsertEvents(ctx, []*hookwatch.Event{storetest.NewEvent("stripe", "evt_after", at.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if in := fileHolds(t, path, subject); len(in) != 0 {
		t.Errorf("after close the subject is in %v", in)
	}
}

// logPages logs the database pages that hold s, with their b-tree page type
// (2, 5: interior index, table; 10, 13: leaf index, table; 0: free).
func logPages(t *testing.T, path, s string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096
	for off := 0; ; off += len(s) {
		i := bytes.Index(b[off:], []byte(s))
		if i < 0 {
			return
		}
		off += i
		pg, hdr := off/pageSize, 0
		if pg == 0 {
			hdr = 100
		}
		t.Logf("page %d (type %d) at %d: %q", pg+1, b[pg*pageSize+hdr], off%pageSize, b[max(0, off-30):off+len(s)])
	}
}

// With encryption on, the indexed subject column holds the subject's seal
// under the installation key, not the subject: neither the database file
// nor its WAL holds the subject bytes (bodies are sealed too), reading an
// event back returns the seal, and an erasure by the subject still finds
// and removes its events and quarantined requests.
func TestEncryptedSubjectNotAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookwatch.db")
	s, err := sqlite.Open(ctx, path, sqlite.WithCipher(storetest.NewCipher(t, storetest.NewKey(t))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const subject = "cus_Zq7SealedSubject"
	at := time.Now().UTC().Truncate(time.Microsecond)
	var events []*hookwatch.Event
	for i := range 20 {
		e := storetest.NewEvent("stripe", fmt.Sprintf("evt_sealed_%d", i), at.Add(time.Duration(i)*time.Millisecond))
		e.Subject = subject
		e.Body = []byte(`{"data":{"object":{"customer":"` + subject + `"}}}`)
		events = append(events, e)
	}
	other := storetest.NewEvent("stripe", "evt_other", at.Add(time.Second))
	other.Subject = "cus_other"
	if _, err := s.InsertEvents(ctx, append(append([]*hookwatch.Event{}, events...), other)); err != nil {
		t.Fatal(err)
	}
	q := storetest.NewQuarantined("stripe", "bad_signature", at)
	q.Subject, q.Body = subject, []byte(`{"data":{"object":{"customer":"`+subject+`"}}}`)
	if err := s.AddQuarantined(ctx, []*hookwatch.Quarantined{q}); err != nil {
		t.Fatal(err)
	}
	if in := fileHolds(t, path, subject); len(in) != 0 {
		t.Errorf("with encryption on the subject is stored in plaintext in %v", in)
		logPages(t, path, subject)
	}
	key, err := s.InstallationKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetEvent(ctx, events[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := hookwatch.SubjectSeal(key, subject); got.Subject != want {
		t.Errorf("GetEvent subject = %q, want the seal %q", got.Subject, want)
	}
	if !bytes.Contains(got.Body, []byte(subject)) {
		t.Errorf("GetEvent body = %q, want it decrypted", got.Body)
	}

	p, err := s.EraseEvents(ctx, hookwatch.ErasureRequest{Subject: subject, Actor: "test"})
	if err != nil {
		t.Fatalf("EraseEvents: %v", err)
	}
	if p.Events != len(events) || p.Quarantined != 1 {
		t.Fatalf("erased %d events and %d quarantined, want %d and 1", p.Events, p.Quarantined, len(events))
	}
	for _, e := range events {
		if _, err := s.GetEvent(ctx, e.ID); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("erased event %s: %v, want not found", e.ID, err)
		}
	}
	if got, err := s.GetEvent(ctx, other.ID); err != nil || got.Subject != hookwatch.SubjectSeal(key, other.Subject) {
		t.Errorf("another subject's event: %v, %v", got, err)
	}
}
