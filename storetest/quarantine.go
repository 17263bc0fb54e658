package storetest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// NewQuarantined returns a rejected request of source received at at.
func NewQuarantined(source, reason string, at time.Time) *hookwatch.Quarantined {
	return &hookwatch.Quarantined{
		ID:         hookwatch.NewID("qrn", at),
		Source:     source,
		Provider:   "stripe",
		Reason:     reason,
		Detail:     reason + ": no signature matched",
		Method:     "POST",
		URL:        "https://hooks.example.com/in/" + source + "?a=1",
		Headers:    http.Header{"Content-Type": {"application/json"}, "Stripe-Signature": {"t=1,v1=ab"}},
		Body:       []byte(`{"id":"evt_q","type":"invoice.paid"}`),
		ReceivedAt: at,
	}
}

func addQuarantined(t *testing.T, s hookwatch.Store, qs ...*hookwatch.Quarantined) {
	t.Helper()
	if err := s.AddQuarantined(context.Background(), qs); err != nil {
		t.Fatalf("AddQuarantined: %v", err)
	}
}

func quarantinedIDs(t *testing.T, s hookwatch.Store, f hookwatch.QuarantineFilter) []string {
	t.Helper()
	qs, err := s.ListQuarantined(context.Background(), f)
	if err != nil {
		t.Fatalf("ListQuarantined(%+v): %v", f, err)
	}
	ids := []string{}
	for _, q := range qs {
		ids = append(ids, q.ID)
	}
	return ids
}

func testQuarantine(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		q := NewQuarantined("stripe", "bad_signature", base)
		q.Body = []byte("{\"a\":\n\"\xff\x00\"}") // byte-exact, even not UTF-8
		q.Headers.Add("X-Multi", "one")
		q.Headers.Add("X-Multi", "two")
		q.Truncated = true
		addQuarantined(t, s, q)
		got, err := s.GetQuarantined(ctx, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Body, q.Body) {
			t.Errorf("body = %q, want %q", got.Body, q.Body)
		}
		if got.Source != q.Source || got.Provider != q.Provider || got.Reason != q.Reason || got.Detail != q.Detail ||
			got.Method != q.Method || got.URL != q.URL || !got.Truncated {
			t.Errorf("got %+v, want %+v", got, q)
		}
		if !got.ReceivedAt.Equal(q.ReceivedAt) {
			t.Errorf("ReceivedAt = %v, want %v", got.ReceivedAt, q.ReceivedAt)
		}
		if v := got.Headers.Values("X-Multi"); len(v) != 2 || v[0] != "one" || v[1] != "two" {
			t.Errorf("X-Multi = %v, want [one two]", v)
		}
		if got.Released() || got.EventID != "" || got.ReleasedBy != "" || got.Unverified {
			t.Errorf("new record looks released: %+v", got)
		}
		if _, err := s.GetQuarantined(ctx, "qrn_nope"); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("GetQuarantined(missing) = %v, want %s", err, hookwatch.ENOTFOUND)
		}
		if err := s.AddQuarantined(ctx, nil); err != nil {
			t.Errorf("AddQuarantined(nil) = %v", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var all []*hookwatch.Quarantined
		for i := 0; i < 6; i++ {
			src, reason := "stripe", "bad_signature"
			if i%2 == 1 {
				src = "github"
			}
			if i%3 == 0 {
				reason = "stale_timestamp"
			}
			all = append(all, NewQuarantined(src, reason, base.Add(time.Duration(i)*time.Minute)))
		}
		addQuarantined(t, s, all...)
		if err := s.MarkReleased(ctx, hookwatch.QuarantineRelease{ID: all[4].ID, EventID: "evt_x", At: base.Add(time.Hour), By: "cli:test"}); err != nil {
			t.Fatal(err)
		}
		ids := func(is ...int) []string {
			out := []string{}
			for _, i := range is {
				out = append(out, all[i].ID)
			}
			return out
		}
		for _, c := range []struct {
			name string
			f    hookwatch.QuarantineFilter
			want []string
		}{
			{"all", hookwatch.QuarantineFilter{}, ids(5, 4, 3, 2, 1, 0)},
			{"source", hookwatch.QuarantineFilter{Source: "github"}, ids(5, 3, 1)},
			{"reason", hookwatch.QuarantineFilter{Reason: "stale_timestamp"}, ids(3, 0)},
			{"held", hookwatch.QuarantineFilter{Status: hookwatch.QuarantineHeld}, ids(5, 3, 2, 1, 0)},
			{"released", hookwatch.QuarantineFilter{Status: hookwatch.QuarantineReleased}, ids(4)},
			{"since", hookwatch.QuarantineFilter{Since: base.Add(4 * time.Minute)}, ids(5, 4)},
			{"until", hookwatch.QuarantineFilter{Until: base.Add(2 * time.Minute)}, ids(1, 0)},
			{"ids", hookwatch.QuarantineFilter{IDs: []string{all[0].ID, all[2].ID, "qrn_nope"}}, ids(2, 0)},
			{"limit", hookwatch.QuarantineFilter{Limit: 2}, ids(5, 4)},
			{"cursor", hookwatch.QuarantineFilter{Before: all[4].ID, Limit: 2}, ids(3, 2)},
			{"combined", hookwatch.QuarantineFilter{Source: "stripe", Status: hookwatch.QuarantineHeld}, ids(2, 0)},
		} {
			if got := quarantinedIDs(t, s, c.f); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}
	})

	t.Run("MarkReleased", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		q := NewQuarantined("stripe", "bad_signature", base)
		addQuarantined(t, s, q)
		at := base.Add(48 * time.Hour)
		r := hookwatch.QuarantineRelease{ID: q.ID, EventID: "evt_released", At: at, By: "cli:alice", Unverified: true}
		if err := s.MarkReleased(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetQuarantined(ctx, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Released() || !got.ReleasedAt.Equal(at) || got.EventID != "evt_released" || got.ReleasedBy != "cli:alice" || !got.Unverified {
			t.Errorf("after release: %+v", got)
		}
		again := r
		again.EventID, again.By, again.Unverified = "evt_other", "cli:bob", false
		if err := s.MarkReleased(ctx, again); hookwatch.ErrorCode(err) != hookwatch.ECONFLICT {
			t.Errorf("second release = %v, want %s", err, hookwatch.ECONFLICT)
		}
		if got, _ := s.GetQuarantined(ctx, q.ID); got.EventID != "evt_released" || got.ReleasedBy != "cli:alice" {
			t.Errorf("second release changed the record: %+v", got)
		}
		if err := s.MarkReleased(ctx, hookwatch.QuarantineRelease{ID: "qrn_nope", EventID: "evt_x", At: at}); hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			t.Errorf("release of a missing record = %v, want %s", err, hookwatch.ENOTFOUND)
		}
	})

	t.Run("PruneByAge", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var all []*hookwatch.Quarantined
		for i := 0; i < 5; i++ {
			all = append(all, NewQuarantined("stripe", "bad_signature", base.Add(time.Duration(i)*time.Hour)))
		}
		addQuarantined(t, s, all...)
		// Released records are bounded too.
		if err := s.MarkReleased(ctx, hookwatch.QuarantineRelease{ID: all[0].ID, EventID: "evt_x", At: base}); err != nil {
			t.Fatal(err)
		}
		n, err := s.PruneQuarantine(ctx, hookwatch.QuarantineBounds{Before: base.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("pruned %d, want 2", n)
		}
		if got, want := quarantinedIDs(t, s, hookwatch.QuarantineFilter{}), []string{all[4].ID, all[3].ID, all[2].ID}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("left %v, want %v", got, want)
		}
		if n, err := s.PruneQuarantine(ctx, hookwatch.QuarantineBounds{}); err != nil || n != 0 {
			t.Errorf("prune without bounds = %d, %v; want 0", n, err)
		}
	})

	t.Run("PruneByCount", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var all []*hookwatch.Quarantined
		for i := 0; i < 7; i++ {
			all = append(all, NewQuarantined("stripe", "bad_signature", base.Add(time.Duration(i)*time.Second)))
		}
		addQuarantined(t, s, all...)
		if n, err := s.PruneQuarantine(ctx, hookwatch.QuarantineBounds{MaxCount: 10}); err != nil || n != 0 {
			t.Fatalf("prune under the bound = %d, %v; want 0", n, err)
		}
		n, err := s.PruneQuarantine(ctx, hookwatch.QuarantineBounds{MaxCount: 3})
		if err != nil {
			t.Fatal(err)
		}
		if n != 4 {
			t.Errorf("pruned %d, want 4", n)
		}
		if got, want := quarantinedIDs(t, s, hookwatch.QuarantineFilter{}), []string{all[6].ID, all[5].ID, all[4].ID}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("left %v, want the 3 newest %v", got, want)
		}
		// Both bounds at once: age first, then count.
		n, err = s.PruneQuarantine(ctx, hookwatch.QuarantineBounds{Before: base.Add(5 * time.Second), MaxCount: 1})
		if err != nil || n != 2 {
			t.Errorf("prune by age and count = %d, %v; want 2", n, err)
		}
		if got, want := quarantinedIDs(t, s, hookwatch.QuarantineFilter{}), []string{all[6].ID}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("left %v, want %v", got, want)
		}
	})

	t.Run("PruneByBytes", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		// Bodies of 1, 2, 4, 8 and 16 KiB, oldest first.
		var all []*hookwatch.Quarantined
		for i := 0; i < 5; i++ {
			q := NewQuarantined("stripe", "bad_signature", base.Add(time.Duration(i)*time.Second))
			q.Body = bytes.Repeat([]byte{'x'}, 1024<<i)
			all = append(all, q)
		}
		addQuarantined(t, s, all...)
		size := func(is ...int) int64 {
			var n int64
			for _, i := range is {
				n += all[i].StoredSize()
			}
			return n
		}
		if n, err := s.PruneQuarantine(ctx, hookwatch.QuarantineBounds{MaxBytes: size(0, 1, 2, 3, 4)}); err != nil || n != 0 {
			t.Fatalf("prune at exactly the budget = %d, %v; want 0", n, err)
		}
		// One byte short of the three newest: the third newest goes too,
		// with everything older.
		n, err := s.PruneQuarantine(ctx, hookwatch.QuarantineBounds{MaxBytes: size(2, 3, 4) - 1})
		if err != nil || n != 3 {
			t.Errorf("prune by bytes = %d, %v; want 3", n, err)
		}
		if got, want := quarantinedIDs(t, s, hookwatch.QuarantineFilter{}), []string{all[4].ID, all[3].ID}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("left %v, want the 2 newest %v", got, want)
		}
		// A request larger than the whole budget is not kept either.
		if n, err := s.PruneQuarantine(ctx, hookwatch.QuarantineBounds{MaxBytes: size(4) - 1}); err != nil || n != 2 {
			t.Errorf("prune under the newest's size = %d, %v; want 2", n, err)
		}
		if got := quarantinedIDs(t, s, hookwatch.QuarantineFilter{}); len(got) != 0 {
			t.Errorf("left %v, want nothing", got)
		}
	})

	t.Run("PruneAllBounds", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var all []*hookwatch.Quarantined
		for i := 0; i < 8; i++ {
			q := NewQuarantined("github", "bad_signature", base.Add(time.Duration(i)*time.Minute))
			q.Body = bytes.Repeat([]byte{'y'}, 4096)
			all = append(all, q)
		}
		addQuarantined(t, s, all...)
		// Released records count against the budget too.
		if err := s.MarkReleased(ctx, hookwatch.QuarantineRelease{ID: all[6].ID, EventID: "evt_x", At: base}); err != nil {
			t.Fatal(err)
		}
		// Age leaves 6 (2..7), count leaves 5 (3..7), bytes leave 3 (5..7).
		n, err := s.PruneQuarantine(ctx, hookwatch.QuarantineBounds{Before: base.Add(2 * time.Minute), MaxCount: 5,
			MaxBytes: 3*all[0].StoredSize() + 100})
		if err != nil || n != 5 {
			t.Errorf("prune by age, count and bytes = %d, %v; want 5", n, err)
		}
		if got, want := quarantinedIDs(t, s, hookwatch.QuarantineFilter{}), []string{all[7].ID, all[6].ID, all[5].ID}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("left %v, want %v", got, want)
		}
	})
}
