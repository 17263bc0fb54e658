package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlq"
)

// A store written before 0015 (dedupe keys in their own table) keeps its
// keys through the upgrade: a live key still dedupes, an expired one does
// not, a pruned one is gone, the key of an event already removed (0016:
// dedupe_kept) still dedupes, and provider-ID listing finds old events.
func TestUpgradeCarriesDedupeKeysIntoEvents(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := sqlq.Migrations(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= 15 {
			break
		}
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	at := micros(now.Add(-time.Hour))
	old := []struct{ id, pid string }{{"evt_01live", "evt_live"}, {"evt_02expired", "evt_expired"}, {"evt_03pruned", "evt_pruned"}}
	for _, e := range old {
		if _, err := db.Exec(`INSERT INTO events (id, source, provider, provider_event_id, type, headers, body, received_at)
			VALUES (?, 'stripe', 'stripe', ?, 'invoice.paid', '{}', x'7b7d', ?)`, e.id, e.pid, at); err != nil {
			t.Fatal(err)
		}
	}
	// evt_04removed was removed by retention, its key kept.
	if _, err := db.Exec(`INSERT INTO dedupe (source, provider_event_id, event_id, expires_at) VALUES
		('stripe', 'evt_live', 'evt_01live', ?), ('stripe', 'evt_expired', 'evt_02expired', ?), ('stripe', 'evt_removed', 'evt_04removed', ?)`,
		micros(now.Add(24*time.Hour)), micros(now.Add(-time.Minute)), micros(now.Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open after upgrade: %v", err)
	}
	defer s.Close()
	ev := func(pid string) *hookwatch.Event {
		return &hookwatch.Event{ID: hookwatch.NewID("evt", now), Source: "stripe", Provider: "stripe", ProviderEventID: pid,
			Headers: map[string][]string{}, Body: []byte("{}"), ReceivedAt: now}
	}
	res, err := s.InsertEvents(ctx, []*hookwatch.Event{ev("evt_live"), ev("evt_expired"), ev("evt_pruned"), ev("evt_removed")})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Duplicate || res[0].ID != "evt_01live" {
		t.Errorf("live key after the upgrade: %+v, want a duplicate of evt_01live", res[0])
	}
	if !res[3].Duplicate || res[3].ID != "evt_04removed" {
		t.Errorf("live key of an event removed before the upgrade: %+v, want a duplicate of evt_04removed (0016 keeps it)", res[3])
	}
	if res[1].Duplicate || res[2].Duplicate {
		t.Errorf("expired and pruned keys after the upgrade: %+v, %+v; want both stored", res[1], res[2])
	}
	for _, pid := range []string{"evt_live", "evt_pruned"} {
		got, err := s.ListEvents(ctx, hookwatch.EventFilter{ProviderEventID: pid})
		if err != nil || len(got) == 0 || got[len(got)-1].ProviderEventID != pid {
			t.Errorf("ListEvents(provider ID %s) after the upgrade: %d, %v", pid, len(got), err)
		}
	}
}

// A store that ran 0015 when it still dropped the dedupe table itself
// (before 0016 existed) upgrades to 0016 all the same.
func TestUpgradeFromEarly0015(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := sqlq.Migrations(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= 16 {
			break
		}
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if m.Version == 15 {
			if _, err := db.Exec(`DROP TABLE dedupe`); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open after upgrade: %v", err)
	}
	defer s.Close()
	var tables int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('dedupe', 'dedupe_kept')`).Scan(&tables); err != nil || tables != 1 {
		t.Errorf("tables dedupe and dedupe_kept after the upgrade: %d, %v; want dedupe_kept alone", tables, err)
	}
}
