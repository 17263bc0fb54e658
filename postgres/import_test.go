package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/postgres"
	"github.com/hookwatch/hookwatch/storetest"
)

// With no foreign key from deliveries to events (migration 0023), a copy
// still refuses a delivery whose event is not in the store, and stores
// nothing of that batch; one whose event is there is imported.
func TestImportDeliveriesNeedsTheirEvents(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, reusedURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	e := storetest.NewEvent("stripe", "evt_import_present", now)
	if _, err := s.InsertEvents(ctx, []*hookwatch.Event{e}); err != nil {
		t.Fatal(err)
	}
	delivery := func(id, eventID string) *hookwatch.Delivery {
		return &hookwatch.Delivery{ID: id, EventID: eventID, Destination: "app", Status: hookwatch.DeliveryPending,
			NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
	}
	good := delivery(hookwatch.NewID("dlv", now), e.ID)
	orphan := delivery(hookwatch.NewID("dlv", now), hookwatch.NewID("evt", now))
	_, err = s.ImportDeliveries(ctx, []*hookwatch.Delivery{good, orphan}, [][]*hookwatch.StoredAttempt{nil, nil})
	if hookwatch.ErrorCode(err) != hookwatch.EINVALID || !strings.Contains(hookwatch.ErrorMessage(err), orphan.EventID) {
		t.Fatalf("importing a delivery of a missing event: %v; want EINVALID naming %s", err, orphan.EventID)
	}
	ds, err := s.ListDeliveries(ctx, hookwatch.DeliveryFilter{EventIDs: []string{e.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.ID == good.ID {
			t.Fatalf("the refused batch stored delivery %s", good.ID)
		}
	}
	n, err := s.ImportDeliveries(ctx, []*hookwatch.Delivery{good}, [][]*hookwatch.StoredAttempt{nil})
	if err != nil || n != 1 {
		t.Fatalf("importing a delivery whose event is present: %d, %v; want 1, nil", n, err)
	}
}
