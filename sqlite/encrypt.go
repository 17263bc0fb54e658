package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
)

// Option configures a store at Open.
type Option func(*Store)

// WithCipher encrypts events' and quarantined requests' headers and bodies
// at rest with c (the encrypt package; nil: plaintext). Rows written in
// plaintext before stay readable; Open fails, naming the key ID, when rows
// are sealed under a key c lacks.
func WithCipher(c *encrypt.Cipher) Option {
	return func(s *Store) { s.cipher = c }
}

// WithoutKeyCheck opens the store without checking that its cipher opens
// every sealed row (nor registering the cipher's key): for `hookwatch store
// copy`, which reads and writes sealed rows as they are (Export*,
// Import*) and opens none. Reading a sealed row through the Store's other
// methods still needs its key.
func WithoutKeyCheck() Option {
	return func(s *Store) { s.noKeyCheck = true }
}

var _ hookwatch.Rekeyer = (*Store)(nil)

// checkKeys registers the sealing key and fails when a registered key the
// cipher lacks still seals a row. A registered key no row uses is
// forgotten (the scan that tells runs once per removed key).
func (s *Store) checkKeys(ctx context.Context) error {
	if s.noKeyCheck {
		return nil
	}
	if id := s.cipher.KeyID(); id != "" {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO encryption_keys (key_id, added_at) VALUES (?, ?) ON CONFLICT DO NOTHING`,
			id, micros(s.now())); err != nil {
			return fmt.Errorf("sqlite: open: register encryption key: %w", err)
		}
	}
	ids, err := s.registeredKeys(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if s.cipher.Has(id) {
			continue
		}
		var used bool
		if err := s.w.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE key_id = ?) OR EXISTS (SELECT 1 FROM quarantine WHERE key_id = ?)
			OR EXISTS (SELECT 1 FROM event_filters WHERE key_id = ?)
			OR EXISTS (SELECT 1 FROM handshake_secrets WHERE key_id = ?)`,
			id, id, id, id).Scan(&used); err != nil {
			return fmt.Errorf("sqlite: open: check encryption keys: %w", err)
		}
		if used {
			return fmt.Errorf("sqlite: open: %w", encrypt.MissingKeyError(id, s.cipher))
		}
		if _, err := s.w.ExecContext(ctx, `DELETE FROM encryption_keys WHERE key_id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: open: forget encryption key: %w", err)
		}
	}
	return nil
}

func (s *Store) registeredKeys(ctx context.Context) ([]string, error) {
	rows, err := s.w.QueryContext(ctx, `SELECT key_id FROM encryption_keys ORDER BY added_at`)
	return collect(rows, err, "encryption keys", func(r row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}

// RekeyPage re-seals a page of rows; see hookwatch.Rekeyer.
func (s *Store) RekeyPage(ctx context.Context, table, after string, limit int) (string, int, error) {
	if !slices.Contains(hookwatch.RekeyTables, table) {
		return "", 0, hookwatch.Errorf(hookwatch.EINVALID, "sqlite: rekey: no table %q", table)
	}
	target := s.cipher.KeyID()
	type payload struct {
		id, keyID, headers string
		body               []byte
	}
	var (
		last    string
		n       int
		stale   []payload
		errPage error
	)
	// A full sync per page: once rotate-key says a key is unused, the
	// operator removes it, and a rewrite lost in a crash would need it.
	err := func() error {
		conn, err := s.w.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		// The space the old payloads free is zeroed, so that rotating a
		// store written in plaintext leaves no plaintext in the file's free
		// space (only for this connection's rotation: ingest never pays
		// for it).
		if _, err := conn.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
			return err
		}
		defer func() {
			// Back to the writer's own setting (sqlite.go: FAST).
			if _, err := conn.ExecContext(context.Background(), "PRAGMA secure_delete = FAST"); err != nil {
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		// Rows already under the target key are looked at, not read.
		rows, err := tx.QueryContext(ctx, `SELECT id, key_id,
				CASE WHEN key_id = ? THEN '' ELSE headers END, CASE WHEN key_id = ? THEN x'' ELSE body END
			FROM `+table+` WHERE id > ? ORDER BY id LIMIT ?`, target, target, after, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var p payload
			if err := rows.Scan(&p.id, &p.keyID, &p.headers, &p.body); err != nil {
				rows.Close()
				return err
			}
			last = p.id
			if p.keyID != target {
				stale = append(stale, p)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		upd, err := tx.PrepareContext(ctx, `UPDATE `+table+` SET headers = ?, body = ?, key_id = ? WHERE id = ? AND key_id = ?`)
		if err != nil {
			return err
		}
		defer upd.Close()
		for _, p := range stale {
			h, b, err := s.cipher.OpenPayload(table, p.id, p.keyID, p.headers, p.body)
			if err != nil {
				errPage = fmt.Errorf("sqlite: rekey %s: %w", p.id, err)
				return errPage
			}
			hc, bc, kid, err := s.cipher.SealPayload(table, p.id, h, b)
			if err != nil {
				errPage = fmt.Errorf("sqlite: rekey %s: %w", p.id, err)
				return errPage
			}
			res, err := upd.ExecContext(ctx, hc, bc, kid, p.id, p.keyID)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 1 {
				n++
			}
		}
		if table == "events" && last != "" {
			if err := s.rekeyFilters(ctx, tx, after, last); err != nil {
				errPage = err
				return err
			}
		}
		return tx.Commit()
	}()
	if errPage != nil {
		return "", 0, errPage
	}
	if err != nil {
		return "", 0, writeError("rekey", err)
	}
	return last, n, nil
}

// rekeyFilters re-seals the filter errors (event_filters) of the events
// with IDs in (after, last], in the transaction that rekeys those events.
func (s *Store) rekeyFilters(ctx context.Context, tx *sql.Tx, after, last string) error {
	target := s.cipher.KeyID()
	type row struct {
		event, keyID, msg string
		route             int
		sealed            []byte
	}
	rows, err := tx.QueryContext(ctx, `SELECT event_id, route, key_id, error, error_sealed FROM event_filters
		WHERE event_id > ? AND event_id <= ? AND key_id != ? AND (key_id != '' OR error != '')`, after, last, target)
	if err != nil {
		return writeError("rekey event filters", err)
	}
	var stale []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.event, &r.route, &r.keyID, &r.msg, &r.sealed); err != nil {
			rows.Close()
			return writeError("rekey event filters", err)
		}
		stale = append(stale, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return writeError("rekey event filters", err)
	}
	for _, r := range stale {
		msg, err := s.cipher.OpenFilterError(r.event, r.route, r.keyID, r.msg, r.sealed)
		if err != nil {
			return fmt.Errorf("sqlite: rekey event filters of %s: %w", r.event, err)
		}
		plain, sealed, kid, err := s.cipher.SealFilterError(r.event, r.route, msg)
		if err != nil {
			return fmt.Errorf("sqlite: rekey event filters of %s: %w", r.event, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE event_filters SET error = ?, error_sealed = ?, key_id = ? WHERE event_id = ? AND route = ? AND key_id = ?`,
			plain, sealed, kid, r.event, r.route, r.keyID); err != nil {
			return writeError("rekey event filters", err)
		}
	}
	return nil
}

// KeyUsage counts rows by key ID; see hookwatch.Rekeyer.
func (s *Store) KeyUsage(ctx context.Context) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	used := map[string]bool{}
	for _, table := range hookwatch.RekeyTables {
		out[table] = map[string]int{}
		rows, err := s.r.QueryContext(ctx, `SELECT key_id, count(*) FROM `+table+` GROUP BY key_id`)
		if err != nil {
			return nil, fmt.Errorf("sqlite: key usage: %w", err)
		}
		for rows.Next() {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: key usage: %w", err)
			}
			out[table][id] = n
			used[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: key usage: %w", err)
		}
	}
	ids, err := s.registeredKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if used[id] || id == s.cipher.KeyID() {
			continue
		}
		// Only while still unused: a row sealed under it since the count
		// keeps it registered.
		if _, err := s.w.ExecContext(ctx, `DELETE FROM encryption_keys WHERE key_id = ?
			AND NOT EXISTS (SELECT 1 FROM events WHERE key_id = ?) AND NOT EXISTS (SELECT 1 FROM quarantine WHERE key_id = ?)
			AND NOT EXISTS (SELECT 1 FROM event_filters WHERE key_id = ?)
			AND NOT EXISTS (SELECT 1 FROM handshake_secrets WHERE key_id = ?)`, id, id, id, id, id); err != nil {
			return nil, writeError("forget encryption key", err)
		}
	}
	return out, nil
}

// storedSubjectKey is the key hookwatch.StoredSubject seals subjects with:
// nil when the store does not encrypt payloads (subjects are stored as they
// are), otherwise the installation key, read once and cached (it changes
// only by ImportInstallationKey, which clears the cache).
func (s *Store) storedSubjectKey(ctx context.Context) ([]byte, error) {
	if s.cipher.KeyID() == "" {
		return nil, nil
	}
	if k := s.subjectKey.Load(); k != nil {
		return *k, nil
	}
	k, err := s.InstallationKey(ctx)
	if err != nil {
		return nil, err
	}
	s.subjectKey.Store(&k)
	return k, nil
}
