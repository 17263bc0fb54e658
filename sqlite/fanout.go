package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/hookwatch/hookwatch"
)

// Fan-out: delivery rows are created off the request path (issue 14).
//
// The group commit stores each event with the destinations the router chose
// for it (events.destinations, migration 0017): once the batch is fsynced,
// the event row is the durable record that those deliveries are owed, and
// the 200 is sent. The delivery rows (the row, its primary key and three
// indexes: five B-trees of the eleven an event used to touch in the
// request's commit) are created later by fanOut, which takes every event
// past a persisted cursor (fanout_cursor.event_rowid) in rowid order, inserts
// their deliveries in multi-row statements of the commit's shapes, and moves
// the cursor, all in one transaction. So each owed delivery is created
// exactly once: a crash before that transaction commits leaves the cursor
// where it was, and the next fan-out (at the latest when the store opens)
// creates them.
//
// Who runs it, on the single writer connection:
//   - every claim, first, in the claim's own transaction (ClaimDeliveries):
//     a claim never misses an owed delivery, and rows created and leased in
//     one transaction are written once. The committer wakes the destinations
//     of every batch (ingest.Batch.Destinations), so their claims follow the
//     commit as before;
//   - the group commit itself when more than fanoutBehind events are owed
//     (nothing claims when every destination is paused, or no engine runs),
//     so the backlog of unfanned events stays bounded;
//   - every read of deliveries, retention and the health figures (settle),
//     when this process stored events not yet fanned out, so that a caller
//     that got InsertEvents' answer sees its deliveries;
//   - Open (recovery after a crash) and Close.
//
// Rowids: an event's rowid orders the fan-out, so a new event must never
// take a rowid at or below the cursor (SQLite's default is max(rowid)+1,
// which goes back down when the newest events are purged). The commit
// gives its rows rowids above both the largest rowid and the cursor
// (fanoutBase).
type fanout struct {
	// owed counts the events with destinations this process stored, and
	// fanned the value of owed that the last complete fan-out covered: reads
	// settle only when fanned < owed, one atomic load each otherwise.
	owed, fanned atomic.Int64
}

const (
	// fanoutBatch is the most events one fan-out transaction takes.
	fanoutBatch = 2048
	// fanoutBehind is how many owed events the group commit tolerates
	// before it fans them out in its own transaction.
	fanoutBehind = 1024
)

// The fan-out's statements, prepared with the group commit's (stmt.go).
const (
	fanoutBase    = `SELECT max(coalesce((SELECT max(rowid) FROM events), 0), (SELECT event_rowid FROM fanout_cursor))`
	fanoutCursor  = `SELECT event_rowid FROM fanout_cursor`
	fanoutPending = `SELECT rowid, id, received_at, destinations FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?`
	fanoutMove    = `UPDATE fanout_cursor SET event_rowid = ?`
)

func fanoutStatements() []string {
	return []string{fanoutBase, fanoutCursor, fanoutPending, fanoutMove}
}

// encodeDestinations is the destinations column of an event: ” for none,
// else a JSON array.
func encodeDestinations(dests []string, orders []hookwatch.DeliveryOrder) (string, error) {
	if len(dests) == 0 {
		return "", nil
	}
	var v any = dests
	if len(orders) > 0 {
		// An ordered destination's delivery is created with the ordering
		// key computed on the receive path (hookwatch.Orderer): the
		// element is then {"d", "k", "e"} instead of the name.
		fs := make([]fanDest, len(dests))
		for i, d := range dests {
			o := hookwatch.DeliveryOrder{}
			if i < len(orders) {
				o = orders[i]
			}
			fs[i] = fanDest{D: d, K: o.Key, E: o.Error}
		}
		v = fs
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// fanDest is one destination of an event's stored destinations: a JSON
// string (unordered), or an object with the ordering key or why there is
// none.
type fanDest struct {
	D string `json:"d"`
	K string `json:"k,omitempty"`
	E string `json:"e,omitempty"`
}

// UnmarshalJSON reads a name or an object.
func (f *fanDest) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		*f = fanDest{}
		return json.Unmarshal(b, &f.D)
	}
	type plain fanDest
	return json.Unmarshal(b, (*plain)(f))
}

// fanOutTx creates, in tx, the delivery rows of at most limit events past the
// cursor and moves the cursor past them. It reports whether it reached the
// end (no event past the cursor is left).
func (s *Store) fanOutTx(ctx context.Context, tx *sql.Tx, limit int) (done bool, err error) {
	st, err := s.stmts.get(ctx, tx, fanoutCursor)
	if err != nil {
		return false, writeError("fan out: cursor", err)
	}
	var cursor int64
	if err := st.QueryRowContext(ctx).Scan(&cursor); err != nil {
		return false, writeError("fan out: cursor", err)
	}
	if st, err = s.stmts.get(ctx, tx, fanoutPending); err != nil {
		return false, writeError("fan out: events", err)
	}
	rows, err := st.QueryContext(ctx, cursor, limit)
	if err != nil {
		return false, writeError("fan out: events", err)
	}
	var (
		args  []any
		n     int
		last  = cursor
		now   = micros(s.now())
		dests []fanDest
	)
	for rows.Next() {
		var (
			rowid, received int64
			id, encoded     string
		)
		if err := rows.Scan(&rowid, &id, &received, &encoded); err != nil {
			rows.Close()
			return false, writeError("fan out: events", err)
		}
		n++
		last = rowid
		if encoded == "" {
			continue
		}
		dests = dests[:0]
		if err := json.Unmarshal([]byte(encoded), &dests); err != nil {
			rows.Close()
			return false, hookwatch.Errorf(hookwatch.EINTERNAL, "sqlite: fan out: event %s: destinations %q: %v", id, encoded, err)
		}
		at := fromMicros(received)
		for _, d := range dests {
			// order_at is the event's receive time: the key's order.
			args = append(args, hookwatch.NewID("dlv", at), id, d.D, received, now, now, d.K, received, d.E)
		}
	}
	if err := rows.Close(); err != nil {
		return false, writeError("fan out: events", err)
	}
	if err := rows.Err(); err != nil {
		return false, writeError("fan out: events", err)
	}
	if n == 0 {
		return true, nil
	}
	for _, k := range cut(len(args) / deliveryCols) {
		if err := s.execShape(ctx, tx, deliveryInsert, k, deliveryCols, args[:k*deliveryCols]); err != nil {
			return false, writeError("fan out: insert deliveries", err)
		}
		args = args[k*deliveryCols:]
	}
	if st, err = s.stmts.get(ctx, tx, fanoutMove); err != nil {
		return false, writeError("fan out: move cursor", err)
	}
	if _, err := st.ExecContext(ctx, last); err != nil {
		return false, writeError("fan out: move cursor", err)
	}
	return n < limit, nil
}

// fanOutAll fans out until no event is owed, a transaction (committed like
// delivery state, synchronous=NORMAL) per fanoutBatch events.
func (s *Store) fanOutAll(ctx context.Context) error {
	for {
		owed := s.fan.owed.Load()
		var done bool
		err := s.relaxedTx(ctx, "fan out", func(tx *sql.Tx) error {
			var err error
			done, err = s.fanOutTx(ctx, tx, fanoutBatch)
			return err
		})
		if err != nil {
			return err
		}
		if done {
			s.fan.covered(owed)
			return nil
		}
	}
}

// covered records that a complete fan-out covered the events counted up to
// owed (a load of fan.owed taken before its transaction began).
func (f *fanout) covered(owed int64) {
	for {
		cur := f.fanned.Load()
		if cur >= owed || f.fanned.CompareAndSwap(cur, owed) {
			return
		}
	}
}

// behind is how many events this process stored that may be owed still.
func (f *fanout) behind() int64 { return f.owed.Load() - f.fanned.Load() }

// settle fans out what this process stored and has not fanned out yet, so
// that a read of deliveries sees every delivery an acknowledged event is
// owed. Nothing (one atomic load) when none is. While the store is down it
// does nothing: the read fails fast on its own.
func (s *Store) settle(ctx context.Context) error {
	if s.fan.behind() <= 0 || s.Recovering() != nil {
		return nil
	}
	if err := s.fanOutAll(ctx); err != nil {
		return fmt.Errorf("sqlite: deliveries owed by stored events: %w", err)
	}
	return nil
}

// fanoutDone is the SQL condition, on events e, of an event that is owed
// no delivery row not yet created (routed nowhere, or at or below the
// cursor): retention must not take an event still owed its deliveries for
// one routed nowhere.
const fanoutDone = `(e.destinations = '' OR e.rowid <= (SELECT event_rowid FROM fanout_cursor))`
