package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

// DeleteFinished removes a batch of finished events (hookwatch.RetentionStore).
// The batch is chosen and deleted in one write transaction on the single
// writer, so a delivery cannot be replayed between the choice and the
// delete; it commits with synchronous=NORMAL like delivery state (a delete
// lost in a power cut is made again by the next pass). The removed events'
// live dedupe keys are kept in dedupe_kept in the same transaction.
func (s *Store) DeleteFinished(ctx context.Context, c hookwatch.RetentionCutoff) (hookwatch.RetentionResult, error) {
	var res hookwatch.RetentionResult
	limit := c.Limit
	if limit <= 0 {
		limit = hookwatch.DefaultRetentionBatch
	}
	now := c.Now
	if now.IsZero() {
		now = s.now()
	}
	if err := s.settle(ctx); err != nil {
		return res, err
	}
	// An event past the fan-out cursor has no delivery rows yet, though it
	// is owed them: not one routed nowhere (fanout.go).
	where := []string{"e.id > ?", "e.id < ?", fanoutDone}
	args := []any{c.After, c.Bound()}
	if len(c.Sources) > 0 {
		where = append(where, "e.source IN ("+marks(len(c.Sources))+")")
		for _, src := range c.Sources {
			args = append(args, src)
		}
	}
	if len(c.Except) > 0 {
		where = append(where, "e.source NOT IN ("+marks(len(c.Except))+")")
		for _, src := range c.Except {
			args = append(args, src)
		}
	}
	args = append(args, limit)
	err := s.relaxedTx(ctx, "delete finished", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT e.id, e.received_at, length(e.body) + length(e.headers),
				coalesce((SELECT max(d.completed_at) FROM deliveries d WHERE d.event_id = e.id), 0),
				EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending'),
				EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'dead')
			FROM events e WHERE `+strings.Join(where, " AND ")+` ORDER BY e.id LIMIT ?`, args...)
		if err != nil {
			return writeError("delete finished: select", err)
		}
		var ids []any
		for rows.Next() {
			var e hookwatch.RetentionCandidate
			var received, done int64
			if err := rows.Scan(&e.ID, &received, &e.Size, &done, &e.Pending, &e.Dead); err != nil {
				rows.Close()
				return writeError("delete finished: select", err)
			}
			e.ReceivedAt, e.Done = fromMicros(received), fromMicros(done)
			res.Last = e.ID
			if c.Removes(e) {
				ids = append(ids, e.ID)
				res.Bytes += e.Size
			}
		}
		if err := rows.Err(); err != nil {
			return writeError("delete finished: select", err)
		}
		rows.Close()
		if len(ids) == 0 {
			return nil
		}
		in := marks(len(ids))
		// The dedupe keys outlive their events (hookwatch.RetentionStore).
		if err := s.keepDedupeKeys(ctx, tx, in, ids, now); err != nil {
			return err
		}
		for _, step := range []struct {
			n   *int
			sql string
		}{
			{&res.Attempts, `DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id IN (` + in + `))`},
			{&res.Deliveries, `DELETE FROM deliveries WHERE event_id IN (` + in + `)`},
			{new(int), `DELETE FROM event_filters WHERE event_id IN (` + in + `)`},
			{&res.Events, `DELETE FROM events WHERE id IN (` + in + `)`},
		} {
			r, err := tx.ExecContext(ctx, step.sql, ids...)
			if err != nil {
				return writeError("delete finished", err)
			}
			n, _ := r.RowsAffected()
			*step.n = int(n)
		}
		return nil
	})
	if err != nil {
		return hookwatch.RetentionResult{}, err
	}
	return res, nil
}

func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// StoreSize returns the database file's and WAL's size, and the pages in
// use (the file less its free pages).
func (s *Store) StoreSize(ctx context.Context) (hookwatch.StoreSize, error) {
	var size hookwatch.StoreSize
	for _, p := range []string{s.path, s.path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return size, &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "cannot measure the store", Err: fmt.Errorf("sqlite: store size: %w", err)}
		}
		if err == nil {
			size.Bytes += fi.Size()
		}
	}
	var pages, free, pageSize int64
	err := s.r.QueryRowContext(ctx, `SELECT (SELECT page_count FROM pragma_page_count()), (SELECT freelist_count FROM pragma_freelist_count()),
		(SELECT page_size FROM pragma_page_size())`).Scan(&pages, &free, &pageSize)
	if err != nil {
		return size, readError("store size", err)
	}
	size.Used = (pages - free) * pageSize
	return size, nil
}

// OldestFinished returns the oldest event with no pending delivery.
func (s *Store) OldestFinished(ctx context.Context) (*hookwatch.FinishedEvent, error) {
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
	var e hookwatch.FinishedEvent
	var received int64
	err := s.r.QueryRowContext(ctx, `SELECT e.id, e.source, e.received_at, length(e.body) + length(e.headers) FROM events e
		WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending') AND `+fanoutDone+`
		ORDER BY e.id LIMIT 1`).Scan(&e.ID, &e.Source, &received, &e.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, readError("oldest finished event", err)
	}
	e.ReceivedAt = fromMicros(received)
	return &e, nil
}

// reclaimStep is how many free pages one incremental_vacuum returns to the
// file system: a few milliseconds of the writer each.
const reclaimStep = 256

// ReclaimSpace runs PRAGMA incremental_vacuum a step at a time until no
// free page is left (hookwatch.SpaceReclaimer), and returns how many bytes
// the database shrank by. On a file without auto_vacuum=INCREMENTAL
// (created before Hookwatch set it; see Vacuum) it does nothing: SQLite
// reuses the free pages for new rows instead.
func (s *Store) ReclaimSpace(ctx context.Context) (int64, error) {
	mode, err := s.AutoVacuum(ctx)
	if err != nil || mode != "incremental" {
		return 0, err
	}
	var pageSize, before, after int64
	if err := s.w.QueryRowContext(ctx, `SELECT page_size, page_count FROM pragma_page_size(), pragma_page_count()`).Scan(&pageSize, &before); err != nil {
		return 0, writeError("reclaim space", err)
	}
	for {
		var free int64
		if err := s.w.QueryRowContext(ctx, `SELECT freelist_count FROM pragma_freelist_count()`).Scan(&free); err != nil {
			return 0, writeError("reclaim space", err)
		}
		if free == 0 {
			break
		}
		// Each step commits like delivery state, without an fsync of its
		// own: a step lost in a power cut only leaves pages free.
		if err := s.relaxedTx(ctx, "reclaim space", func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA incremental_vacuum(%d)", reclaimStep))
			return err
		}); err != nil {
			return 0, writeError("reclaim space", err)
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
	if err := s.w.QueryRowContext(ctx, `SELECT page_count FROM pragma_page_count()`).Scan(&after); err != nil {
		return 0, writeError("reclaim space", err)
	}
	return (before - after) * pageSize, nil
}

// AutoVacuum returns the file's auto_vacuum mode: "none", "full" or
// "incremental". Files Hookwatch creates are "incremental"; older ones are
// "none" until `hookwatch store vacuum` converts them.
func (s *Store) AutoVacuum(ctx context.Context) (string, error) {
	var mode int
	if err := s.r.QueryRowContext(ctx, `SELECT auto_vacuum FROM pragma_auto_vacuum()`).Scan(&mode); err != nil {
		return "", readError("auto_vacuum", err)
	}
	switch mode {
	case 1:
		return "full", nil
	case 2:
		return "incremental", nil
	}
	return "none", nil
}

// VacuumProgress is reported while Vacuum runs.
type VacuumProgress struct {
	// Written is how much of the new copy is written so far (the WAL's
	// size); Total is about how much it will be (the pages in use).
	Written, Total int64
	Elapsed        time.Duration
}

// Vacuum rebuilds the database file with auto_vacuum=INCREMENTAL, so that
// retention's deletes give space back to the file system from then on, and
// drops the free pages in the same go. It is how a file created before
// Hookwatch set auto_vacuum is converted (SQLite changes the mode of a file
// that has tables only through a VACUUM). It holds the writer for its whole
// run: stop `hookwatch serve` first. VACUUM writes a copy of the pages in
// use into a temporary file and then through the WAL into the database,
// so it needs about twice their size free on the volume: free is that
// volume's free bytes (nil: not checked), and too little is an EINVALID
// error that says how much is needed. progress, if set, is called about
// once a second.
func (s *Store) Vacuum(ctx context.Context, free *int64, progress func(VacuumProgress)) error {
	size, err := s.StoreSize(ctx)
	if err != nil {
		return err
	}
	if need := 2*size.Used + 64<<20; free != nil && *free < need {
		return hookwatch.Errorf(hookwatch.EINVALID, "vacuum needs about %d MiB free on the store's volume (twice the %d MiB in use, plus a margin) and %d MiB are: free some space first",
			need>>20, size.Used>>20, *free>>20)
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return writeError("vacuum", err)
	}
	defer conn.Close()
	// The copy goes to a temporary file, not memory (the store's
	// connections keep temporary tables in memory).
	for _, p := range []string{"PRAGMA temp_store=FILE", "PRAGMA auto_vacuum=INCREMENTAL"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return writeError("vacuum", err)
		}
	}
	defer conn.ExecContext(context.Background(), "PRAGMA temp_store=MEMORY")
	start := time.Now()
	done, ticking := make(chan struct{}), make(chan struct{})
	if progress != nil {
		go func() {
			defer close(ticking)
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					var written int64
					if fi, err := os.Stat(s.path + "-wal"); err == nil {
						written = fi.Size()
					}
					progress(VacuumProgress{Written: written, Total: size.Used, Elapsed: time.Since(start)})
				}
			}
		}()
	} else {
		close(ticking)
	}
	_, err = conn.ExecContext(ctx, "VACUUM")
	close(done)
	<-ticking // no progress call runs beside the last one below
	if err != nil {
		return writeError("vacuum", err)
	}
	// The new file goes from the WAL into the database file now.
	if _, err := s.c.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return writeError("vacuum: checkpoint", err)
	}
	if progress != nil {
		progress(VacuumProgress{Written: size.Used, Total: size.Used, Elapsed: time.Since(start)})
	}
	return nil
}

// readError wraps a failed read: the store cannot be read now.
func readError(op string, err error) error {
	if he := (*hookwatch.Error)(nil); errors.As(err, &he) {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return &hookwatch.Error{Code: hookwatch.EUNAVAILABLE, Message: "store cannot be read", Err: fmt.Errorf("sqlite: %s: %w", op, err)}
}
