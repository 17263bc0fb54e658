package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// testInstallationKey: the key exists once the store is open, does not
// change, and differs between installations (it is random, not derived).
func testInstallationKey(t *testing.T, open Opener) {
	ctx := context.Background()
	t.Parallel()
	s := open(t)
	k1, err := s.InstallationKey(ctx)
	if err != nil {
		t.Fatalf("InstallationKey: %v", err)
	}
	if len(k1) != hookwatch.InstallationKeySize || bytes.Equal(k1, make([]byte, len(k1))) {
		t.Fatalf("InstallationKey = %x: want %d random bytes", k1, hookwatch.InstallationKeySize)
	}
	k2, err := s.InstallationKey(ctx)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("InstallationKey again = %x, %v: want the same key %x", k2, err, k1)
	}
	other, err := open(t).InstallationKey(ctx)
	if err != nil || bytes.Equal(k1, other) {
		t.Fatalf("another store's key = %x, %v: want a key of its own", other, err)
	}
}

// testDedupeKey: an event with a DedupeKey is deduplicated on it, not on
// its provider event ID, which is stored as the provider's.
func testDedupeKey(t *testing.T, open Opener) {
	ctx := context.Background()
	t.Parallel()
	s := open(t)
	first := NewEvent("github", "delivery-1", base)
	first.DedupeKey = "sha256:aaaa"
	again := NewEvent("github", "delivery-2", base.Add(time.Minute)) // a new delivery ID, the same body
	again.DedupeKey = "sha256:aaaa"
	other := NewEvent("github", "delivery-3", base.Add(time.Minute))
	other.DedupeKey = "sha256:bbbb"
	res := insert(t, s, first, other)
	if res[0].Duplicate || res[1].Duplicate {
		t.Fatalf("different dedupe keys: %+v, want both stored", res)
	}
	res = insert(t, s, again)
	if !res[0].Duplicate || res[0].ID != first.ID {
		t.Fatalf("same dedupe key, new provider ID: %+v, want a duplicate of %s", res[0], first.ID)
	}
	got, err := s.GetEvent(ctx, first.ID)
	if err != nil || got.ProviderEventID != "delivery-1" {
		t.Fatalf("stored event: %+v, %v: want provider event ID delivery-1", got, err)
	}
	// The provider ID alone is not a key when a dedupe key is set: the same
	// delivery ID with another body is a new event.
	resent := NewEvent("github", "delivery-1", base.Add(2*time.Minute))
	resent.DedupeKey = "sha256:cccc"
	if res := insert(t, s, resent); res[0].Duplicate {
		t.Errorf("same provider ID, another dedupe key: %+v, want stored", res[0])
	}
	// Within one batch, the first with a key wins.
	a, b := NewEvent("github", "delivery-4", base), NewEvent("github", "delivery-5", base)
	a.DedupeKey, b.DedupeKey = "sha256:dddd", "sha256:dddd"
	if res := insert(t, s, a, b); res[0].Duplicate || !res[1].Duplicate || res[1].ID != a.ID {
		t.Errorf("same dedupe key in one batch: %+v, want the second a duplicate of %s", res, a.ID)
	}
	// Events deduplicated by body are still found by their provider ID.
	list, err := s.ListEvents(ctx, hookwatch.EventFilter{ProviderEventID: "delivery-1"})
	if err != nil || len(list) != 2 {
		t.Fatalf("ListEvents(provider ID delivery-1) = %d events, %v; want first and resent", len(list), err)
	}
	if list[0].ID != resent.ID || list[1].ID != first.ID {
		t.Errorf("ListEvents(provider ID delivery-1) = %s, %s; want %s, %s (newest first)", list[0].ID, list[1].ID, resent.ID, first.ID)
	}
}
