package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

func eventGone(t *testing.T, s hookwatch.Store, id string) bool {
	t.Helper()
	_, err := s.GetEvent(context.Background(), id)
	if err != nil && hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
		t.Fatalf("GetEvent(%s): %v", id, err)
	}
	return err != nil
}

func purges(t *testing.T, s hookwatch.Store) []*hookwatch.Purge {
	t.Helper()
	ps, err := s.ListPurges(context.Background(), 10)
	if err != nil {
		t.Fatalf("ListPurges: %v", err)
	}
	return ps
}

func testPurge(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("PurgeByFilter", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		cutoff := base.Add(time.Hour)
		// Delivered (finished), pending, and unrouted events before the
		// cutoff; one after it; one of another type; one of another source.
		delivered := routed("stripe", 2, base, "app")
		pending := routed("stripe", 1, base.Add(10*time.Second), "slow")
		unrouted := NewEvent("stripe", "evt_unrouted", base.Add(20*time.Second))
		later := NewEvent("stripe", "evt_later", cutoff.Add(time.Second))
		otherType := NewEvent("stripe", "evt_other_type", base.Add(30*time.Second))
		otherType.Type = "customer.created"
		otherSource := NewEvent("shop", "evt_shop", base.Add(40*time.Second))
		insert(t, s, append(append(delivered, pending...), unrouted, later, otherType, otherSource)...)
		var deliveryIDs []string
		for _, d := range claim(t, s, "app", "w1", base.Add(time.Minute), 10) {
			deliveryIDs = append(deliveryIDs, d.ID)
			finish(t, s, hookwatch.Finish{Owner: "w1", Outcome: hookwatch.OutcomeSucceeded, Attempt: attemptOf(d, "w1", base.Add(time.Minute), "", 200)})
		}
		if len(deliveryIDs) != 2 {
			t.Fatalf("claimed %d deliveries, want 2", len(deliveryIDs))
		}
		ch := recordFailures(t, s, failure("app", "server_error", delivered[0].ID, base.Add(30*time.Second)))

		if _, err := s.PurgeEvents(ctx, hookwatch.PurgeRequest{Source: "stripe", Actor: "test"}); hookwatch.ErrorCode(err) != hookwatch.EINVALID {
			t.Errorf("purge without before: %v, want EINVALID", err)
		}
		req := hookwatch.PurgeRequest{Source: "stripe", Type: "invoice.paid", Before: cutoff, Actor: "cli:alice", Now: cutoff.Add(time.Hour), DryRun: true}
		dry, err := s.PurgeEvents(ctx, req)
		if err != nil || dry.Events != 3 || dry.Skipped != 1 || !dry.DryRun {
			t.Fatalf("dry run = %+v, %v; want 3 events, 1 skipped", dry, err)
		}
		if eventGone(t, s, delivered[0].ID) || len(purges(t, s)) != 0 {
			t.Fatalf("the dry run deleted or recorded something")
		}

		req.DryRun = false
		p, err := s.PurgeEvents(ctx, req)
		if err != nil || p.Events != 3 || p.Skipped != 1 {
			t.Fatalf("purge = %+v, %v; want 3 events, 1 skipped", p, err)
		}
		for _, e := range []*hookwatch.Event{delivered[0], delivered[1], unrouted} {
			if !eventGone(t, s, e.ID) {
				t.Errorf("event %s is still there after the purge", e.ID)
			}
		}
		for _, e := range []*hookwatch.Event{pending[0], later, otherType, otherSource} {
			if eventGone(t, s, e.ID) {
				t.Errorf("event %s (pending, later, other type or source) was purged", e.ID)
			}
		}
		for _, id := range deliveryIDs {
			if _, _, err := s.GetDelivery(ctx, id); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
				t.Errorf("delivery %s of a purged event: %v, want ENOTFOUND", id, err)
			}
		}
		if ds, err := s.ListDeliveries(ctx, hookwatch.DeliveryFilter{EventIDs: []string{pending[0].ID}}); err != nil || len(ds) != 1 || ds[0].Status != hookwatch.DeliveryPending {
			t.Errorf("the pending event's delivery = %v, %v; want it pending", ds, err)
		}
		if fs, err := s.IssueFailures(ctx, ch[0].Issue.ID, 10); err != nil || len(fs) != 0 {
			t.Errorf("issue samples of the purged event = %v, %v; want none", fs, err)
		}
		if is, err := s.GetIssue(ctx, ch[0].Issue.ID); err != nil || is.Count != 1 {
			t.Errorf("the issue = %+v, %v; want it kept with its count", is, err)
		}
		// The dedupe key outlives the event: the provider's retry is
		// still a duplicate.
		if res := insert(t, s, NewEvent("stripe", "evt_unrouted", cutoff.Add(2*time.Hour))); !res[0].Duplicate {
			t.Errorf("a retry of a purged event was stored again: dedupe forgot its key")
		}
		ps := purges(t, s)
		if len(ps) != 1 {
			t.Fatalf("%d purge records, want 1 (dry runs are not recorded)", len(ps))
		}
		r := ps[0]
		if r.ID != p.ID || r.Kind != hookwatch.PurgeByFilter || r.Actor != "cli:alice" || !r.At.Equal(req.Now) || r.Events != 3 || r.Skipped != 1 ||
			r.Filter.Source != "stripe" || r.Filter.Type != "invoice.paid" || !r.Filter.Before.Equal(cutoff) || r.DryRun {
			t.Errorf("purge record = %+v", r)
		}
	})

	t.Run("PurgeInBatches", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		n := 2*hookwatch.PurgeBatch + 7
		var events []*hookwatch.Event
		for i := range n {
			events = append(events, NewEvent("stripe", fmt.Sprintf("evt_%d", i), base.Add(time.Duration(i)*time.Millisecond)))
		}
		// The boundary: an event received 1 µs before the cutoff goes, one
		// at the cutoff stays.
		cutoff := base.Add(time.Hour)
		edge, at := NewEvent("stripe", "evt_edge", cutoff.Add(-time.Microsecond)), NewEvent("stripe", "evt_at", cutoff)
		insert(t, s, append(events, edge, at)...)
		p, err := s.PurgeEvents(ctx, hookwatch.PurgeRequest{Before: cutoff, Actor: "test", Now: cutoff})
		if err != nil || p.Events != n+1 {
			t.Fatalf("purge = %+v, %v; want %d events", p, err, n+1)
		}
		if !eventGone(t, s, edge.ID) || eventGone(t, s, at.ID) {
			t.Errorf("before is exclusive: the event 1µs before must go, the one at it must stay")
		}
		if ps := purges(t, s); len(ps) != 1 || ps[0].Events != n+1 {
			t.Errorf("records = %+v; want one counting every batch", ps)
		}
		left, err := s.ListEvents(ctx, hookwatch.EventFilter{Limit: 1000})
		if err != nil || len(left) != 1 {
			t.Errorf("%d events left (%v), want 1", len(left), err)
		}
	})

	t.Run("EraseBySubject", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		const subject = "cus_Erase9"
		mine := routed("stripe", 2, base, "app")
		for _, e := range mine {
			e.Subject = subject
			e.Body = []byte(`{"data":{"object":{"customer":"` + subject + `"}}}`)
		}
		mine[1].Destinations = []string{"slow"} // still pending: an erasure takes it anyway
		elsewhere := NewEvent("shop", "evt_shop", base.Add(time.Minute))
		elsewhere.Subject = subject
		other := NewEvent("stripe", "evt_other", base.Add(time.Minute))
		other.Subject = "cus_Other"
		insert(t, s, append(mine, elsewhere, other)...)
		// A store that encrypts payloads keeps the subject's seal instead
		// (hookwatch.StoredSubject; RunEncryption checks which).
		key, err := s.InstallationKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetEvent(ctx, mine[0].ID); err != nil || got.Subject != subject && got.Subject != hookwatch.SubjectSeal(key, subject) {
			t.Fatalf("GetEvent subject = %v, %v; want it stored", got, err)
		}
		ds := claim(t, s, "app", "w1", base.Add(time.Minute), 10)
		finish(t, s, hookwatch.Finish{Owner: "w1", Outcome: hookwatch.OutcomeDead, Attempt: attemptOf(ds[0], "w1", base.Add(time.Minute), hookwatch.ClassServer, 500)})
		ch := recordFailures(t, s, failure("app", "server_error", mine[0].ID, base.Add(time.Minute)))

		withSubject := NewQuarantined("stripe", "bad_signature", base)
		withSubject.Subject, withSubject.Body = subject, []byte(`{"data":{"object":{"customer":"`+subject+`"}}}`)
		cut := NewQuarantined("stripe", "bad_signature", base.Add(time.Second))
		cut.Body, cut.Truncated = []byte(`{"data":{"object":{"customer":"`+subject+`","descr`), true
		released := NewQuarantined("stripe", "bad_signature", base.Add(2*time.Second))
		unrelated := NewQuarantined("stripe", "bad_signature", base.Add(3*time.Second))
		unrelated.Subject = "cus_Other"
		addQuarantined(t, s, withSubject, cut, released, unrelated)
		if err := s.MarkReleased(ctx, hookwatch.QuarantineRelease{ID: released.ID, EventID: mine[1].ID, At: base, By: "test"}); err != nil {
			t.Fatal(err)
		}

		for _, bad := range []hookwatch.ErasureRequest{{}, {Subject: "a", ProviderEventID: "b"}} {
			if _, err := s.EraseEvents(ctx, bad); hookwatch.ErrorCode(err) != hookwatch.EINVALID {
				t.Errorf("EraseEvents(%+v): %v, want EINVALID", bad, err)
			}
		}
		now := base.Add(time.Hour)
		dry, err := s.EraseEvents(ctx, hookwatch.ErasureRequest{Subject: subject, Actor: "cli:dpo", Now: now, DryRun: true})
		if err != nil || dry.Events != 3 || dry.Quarantined != 3 {
			t.Fatalf("dry run = %+v, %v; want 3 events and 3 quarantined", dry, err)
		}
		if eventGone(t, s, mine[0].ID) || len(purges(t, s)) != 0 {
			t.Fatalf("the dry run deleted or recorded something")
		}

		p, err := s.EraseEvents(ctx, hookwatch.ErasureRequest{Subject: subject, Actor: "cli:dpo", Now: now})
		if err != nil || p.Events != 3 || p.Quarantined != 3 {
			t.Fatalf("erase = %+v, %v; want 3 events and 3 quarantined", p, err)
		}
		for _, e := range []*hookwatch.Event{mine[0], mine[1], elsewhere} {
			if !eventGone(t, s, e.ID) {
				t.Errorf("event %s of the subject survived the erasure", e.ID)
			}
		}
		if eventGone(t, s, other.ID) {
			t.Errorf("another subject's event was erased")
		}
		if _, _, err := s.GetDelivery(ctx, ds[0].ID); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("delivery of an erased event: %v, want ENOTFOUND", err)
		}
		if left, err := s.ListDeliveries(ctx, hookwatch.DeliveryFilter{EventIDs: []string{mine[1].ID}}); err != nil || len(left) != 0 {
			t.Errorf("the erased pending event's deliveries = %v, %v; want none", left, err)
		}
		if fs, err := s.IssueFailures(ctx, ch[0].Issue.ID, 10); err != nil || len(fs) != 0 {
			t.Errorf("issue samples of the erased event = %v, %v; want none", fs, err)
		}
		if is, err := s.GetIssue(ctx, ch[0].Issue.ID); err != nil || is.LastEventID != "" {
			t.Errorf("issue = %+v, %v; want it kept without the erased event's ID", is, err)
		}
		if ids := quarantinedIDs(t, s, hookwatch.QuarantineFilter{}); len(ids) != 1 || ids[0] != unrelated.ID {
			t.Errorf("quarantine after the erasure = %v, want only %s", ids, unrelated.ID)
		}
		ps := purges(t, s)
		if len(ps) != 1 {
			t.Fatalf("%d records, want 1", len(ps))
		}
		key, err = s.InstallationKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r := ps[0]
		if r.Kind != hookwatch.PurgeErasure || r.Actor != "cli:dpo" || r.Events != 3 || r.Quarantined != 3 ||
			r.Filter.SubjectHash != hookwatch.SubjectSeal(key, subject) || r.Filter.ProviderIDHash != "" {
			t.Errorf("erasure record = %+v", r)
		}
		if b, _ := json.Marshal(r); strings.Contains(string(b), subject) {
			t.Errorf("the erasure record holds the subject: %s", b)
		}

		// Again: nothing left, still recorded.
		if again, err := s.EraseEvents(ctx, hookwatch.ErasureRequest{Subject: subject, Actor: "cli:dpo", Now: now.Add(time.Minute)}); err != nil || again.Events != 0 {
			t.Errorf("second erasure = %+v, %v; want 0 events", again, err)
		}
		if ps := purges(t, s); len(ps) != 2 || ps[0].Events != 0 {
			t.Errorf("records = %+v; want the second erasure recorded, newest first", ps)
		}
	})

	t.Run("EraseByProviderID", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		one := NewEvent("stripe", "evt_one", base)
		keep := NewEvent("stripe", "evt_keep", base)
		sameIDOtherSource := NewEvent("shop", "evt_one", base)
		insert(t, s, one, keep, sameIDOtherSource)
		p, err := s.EraseEvents(ctx, hookwatch.ErasureRequest{ProviderEventID: "evt_one", Source: "stripe", Actor: "test", Now: base})
		if err != nil || p.Events != 1 {
			t.Fatalf("erase = %+v, %v; want 1 event", p, err)
		}
		if !eventGone(t, s, one.ID) || eventGone(t, s, keep.ID) || eventGone(t, s, sameIDOtherSource.ID) {
			t.Errorf("erasing evt_one of stripe must delete exactly that event")
		}
		key, _ := s.InstallationKey(ctx)
		if ps := purges(t, s); len(ps) != 1 || ps[0].Filter.ProviderIDHash != hookwatch.SubjectSeal(key, "evt_one") || ps[0].Filter.Source != "stripe" {
			t.Errorf("records = %+v", ps)
		}
	})
}
