package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/sqlite"
	"github.com/hookwatch/hookwatch/storetest"
)

// TestVacuumConvertsAnOldFile: a file made before Hookwatch set
// auto_vacuum (here: one with a table already, so the mode cannot change
// by itself) keeps "none" and its space stays in the file; Vacuum
// converts it to incremental and drops the free pages, after a free-space
// check that names what it needs.
func TestVacuumConvertsAnOldFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE legacy (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if mode, err := s.AutoVacuum(ctx); err != nil || mode != "none" {
		t.Fatalf("old file's auto_vacuum = %q, %v; want none", mode, err)
	}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var es []*hookwatch.Event
	for i := range 500 {
		e := storetest.NewEvent("stripe", fmt.Sprintf("p%d", i), base.Add(time.Duration(i)*time.Millisecond))
		e.Body = []byte(strings.Repeat("x", 2000))
		es = append(es, e)
	}
	if _, err := s.InsertEvents(ctx, es); err != nil {
		t.Fatal(err)
	}
	c := hookwatch.RetentionCutoff{Finished: base.Add(time.Hour), Dead: base.Add(time.Hour)}
	for {
		res, err := s.DeleteFinished(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if res.Last == "" {
			break
		}
		c.After = res.Last
	}
	if n, err := s.ReclaimSpace(ctx); err != nil || n != 0 {
		t.Errorf("ReclaimSpace on a file without auto_vacuum = %d, %v; want 0 (nothing it can do)", n, err)
	}
	before, err := s.StoreSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tiny := int64(1 << 20)
	if err := s.Vacuum(ctx, &tiny, nil); hookwatch.ErrorCode(err) != hookwatch.EINVALID || !strings.Contains(err.Error(), "free on the store's volume") {
		t.Fatalf("Vacuum with 1 MiB free: %v; want EINVALID naming the space needed", err)
	}
	var reports []sqlite.VacuumProgress
	if err := s.Vacuum(ctx, nil, func(p sqlite.VacuumProgress) { reports = append(reports, p) }); err != nil {
		t.Fatal(err)
	}
	if mode, _ := s.AutoVacuum(ctx); mode != "incremental" {
		t.Errorf("after Vacuum auto_vacuum = %q, want incremental", mode)
	}
	after, err := s.StoreSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Bytes >= before.Bytes/2 {
		t.Errorf("Vacuum left %d of %d bytes; the 1 MB of deleted bodies is still in the file", after.Bytes, before.Bytes)
	}
	if len(reports) == 0 || reports[len(reports)-1].Written != reports[len(reports)-1].Total {
		t.Errorf("progress reports %+v; want a last one at 100%%", reports)
	}
	// Converted: a later delete gives its pages back.
	e := storetest.NewEvent("stripe", "later", base.Add(time.Hour))
	e.Body = []byte(strings.Repeat("y", 200000))
	if _, err := s.InsertEvents(ctx, []*hookwatch.Event{e}); err != nil {
		t.Fatal(err)
	}
	if res, err := s.DeleteFinished(ctx, hookwatch.RetentionCutoff{Finished: base.Add(2 * time.Hour), Dead: base.Add(2 * time.Hour)}); err != nil || res.Events != 1 {
		t.Fatalf("DeleteFinished = %+v, %v", res, err)
	}
	if n, err := s.ReclaimSpace(ctx); err != nil || n < 150000 {
		t.Errorf("ReclaimSpace after converting = %d, %v; want the 200 KB body's pages back", n, err)
	}
}
