package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// The audit page shows the replay records and the purge and erasure
// records, with an erasure's subject as its keyed hash only.
func TestAuditPage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now()
	rep, err := f.store.ReplayDeliveries(ctx, hookwatch.ReplayRequest{Filter: hookwatch.DeliveryFilter{EventIDs: []string{f.ev1}}, Actor: "cli:alice", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	purge, err := f.store.PurgeEvents(ctx, hookwatch.PurgeRequest{Source: "github", Before: now, Actor: "cli:bob", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	const subject = "cus_AuditSubject"
	erase, err := f.store.EraseEvents(ctx, hookwatch.ErasureRequest{Subject: subject, Actor: "cli:dpo", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	f.run(t, []scenario{
		{name: "audit", method: "GET", path: "/audit", signedIn: true, status: 200,
			want: []string{"<h1>Audit</h1>", `href="/audit" aria-current="page"`, rep.ID, "cli:alice", "event=" + f.ev1, purge.ID, "cli:bob", "source=github", erase.ID, "cli:dpo",
				strings.ReplaceAll(erase.Filter.SubjectHash, "+", "&#43;")},
			wantNot: []string{subject}},
		{name: "audit needs sign-in", method: "GET", path: "/audit", status: 303, location: "/signin"},
	})
}
