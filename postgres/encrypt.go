package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/encrypt"
	"github.com/jackc/pgx/v5"
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
		if _, err := s.pool.Exec(ctx, `INSERT INTO encryption_keys (key_id, added_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			id, s.now()); err != nil {
			return storeError("register encryption key", err)
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
		// Deleted only while no row uses it; otherwise nothing is deleted
		// and the store does not open.
		tag, err := s.pool.Exec(ctx, `DELETE FROM encryption_keys WHERE key_id = $1
			AND NOT EXISTS (SELECT 1 FROM events WHERE key_id = $1) AND NOT EXISTS (SELECT 1 FROM quarantine WHERE key_id = $1)
			AND NOT EXISTS (SELECT 1 FROM event_filters WHERE key_id = $1)
			AND NOT EXISTS (SELECT 1 FROM handshake_secrets WHERE key_id = $1)`, id)
		if err != nil {
			return storeError("check encryption keys", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("postgres: open: %w", encrypt.MissingKeyError(id, s.cipher))
		}
	}
	return nil
}

func (s *Store) registeredKeys(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT key_id FROM encryption_keys ORDER BY added_at`)
	if err != nil {
		return nil, storeError("encryption keys", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, storeError("encryption keys", err)
	}
	return ids, nil
}

// RekeyPage re-seals a page of rows; see hookwatch.Rekeyer.
func (s *Store) RekeyPage(ctx context.Context, table, after string, limit int) (string, int, error) {
	if !slices.Contains(hookwatch.RekeyTables, table) {
		return "", 0, hookwatch.Errorf(hookwatch.EINVALID, "postgres: rekey: no table %q", table)
	}
	target := s.cipher.KeyID()
	// Rows already under the target key are looked at, not read.
	rows, err := s.pool.Query(ctx, `SELECT id, key_id,
			CASE WHEN key_id = $1 THEN '' ELSE headers END, CASE WHEN key_id = $1 THEN ''::bytea ELSE body END
		FROM `+table+` WHERE id > $2 ORDER BY id LIMIT $3`, target, after, limit)
	if err != nil {
		return "", 0, storeError("rekey", err)
	}
	var (
		last                        string
		ids, olds, headers, newKeys []string
		bodies                      [][]byte
		id, keyID, hcol             string
		bcol                        []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &keyID, &hcol, &bcol}, func() error {
		last = id
		if keyID == target {
			return nil
		}
		h, b, err := s.cipher.OpenPayload(table, id, keyID, hcol, bcol)
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		hc, bc, kid, err := s.cipher.SealPayload(table, id, h, b)
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		ids, olds, headers, newKeys, bodies = append(ids, id), append(olds, keyID), append(headers, text(hc)), append(newKeys, kid), append(bodies, bc)
		return nil
	})
	if err != nil {
		if he := (*hookwatch.Error)(nil); errors.As(err, &he) {
			return "", 0, fmt.Errorf("postgres: rekey %w", err)
		}
		return "", 0, storeError("rekey", err)
	}
	if table == "events" && last != "" {
		if err := s.rekeyFilters(ctx, after, last); err != nil {
			return "", 0, err
		}
	}
	if len(ids) == 0 {
		return last, 0, nil
	}
	// A row changed meanwhile (its key_id is no longer the one read) is
	// left as it is.
	tag, err := s.pool.Exec(ctx, `UPDATE `+table+` t SET headers = u.headers, body = u.body, key_id = u.key_id
		FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::text[]) AS u(id, old, headers, body, key_id)
		WHERE t.id = u.id AND t.key_id = u.old`, ids, olds, headers, bodies, newKeys)
	if err != nil {
		return "", 0, storeError("rekey", err)
	}
	return last, int(tag.RowsAffected()), nil
}

// rekeyFilters re-seals the filter errors (event_filters) of the events
// with IDs in (after, last]; a row changed meanwhile is left as it is.
func (s *Store) rekeyFilters(ctx context.Context, after, last string) error {
	target := s.cipher.KeyID()
	rows, err := s.pool.Query(ctx, `SELECT event_id, route, key_id, error, error_sealed FROM event_filters
		WHERE event_id > $1 AND event_id <= $2 AND key_id <> $3 AND (key_id <> '' OR error <> '')`, after, last, target)
	if err != nil {
		return storeError("rekey event filters", err)
	}
	var (
		events, olds, msgs, kids []string
		routes                   []int32
		seals                    [][]byte
		ev, kid, msg             string
		route                    int32
		sealed                   []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&ev, &route, &kid, &msg, &sealed}, func() error {
		m, err := s.cipher.OpenFilterError(ev, int(route), kid, msg, sealed)
		if err != nil {
			return fmt.Errorf("event filters of %s: %w", ev, err)
		}
		plain, sl, nk, err := s.cipher.SealFilterError(ev, int(route), m)
		if err != nil {
			return fmt.Errorf("event filters of %s: %w", ev, err)
		}
		events, routes, olds, msgs, seals, kids = append(events, ev), append(routes, route), append(olds, kid), append(msgs, plain), append(seals, sl), append(kids, nk)
		return nil
	})
	if err != nil {
		if he := (*hookwatch.Error)(nil); errors.As(err, &he) {
			return fmt.Errorf("postgres: rekey %w", err)
		}
		return storeError("rekey event filters", err)
	}
	if len(events) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `UPDATE event_filters t SET error = u.error, error_sealed = u.sealed, key_id = u.key_id
		FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bytea[], $6::text[]) AS u(event_id, route, old, error, sealed, key_id)
		WHERE t.event_id = u.event_id AND t.route = u.route AND t.key_id = u.old`, events, routes, olds, msgs, seals, kids); err != nil {
		return storeError("rekey event filters", err)
	}
	return nil
}

// KeyUsage counts rows by key ID; see hookwatch.Rekeyer.
func (s *Store) KeyUsage(ctx context.Context) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	used := map[string]bool{}
	for _, table := range hookwatch.RekeyTables {
		out[table] = map[string]int{}
		rows, err := s.pool.Query(ctx, `SELECT key_id, count(*) FROM `+table+` GROUP BY key_id`)
		if err != nil {
			return nil, storeError("key usage", err)
		}
		var id string
		var n int
		if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error {
			out[table][id] = n
			used[id] = true
			return nil
		}); err != nil {
			return nil, storeError("key usage", err)
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
		if _, err := s.pool.Exec(ctx, `DELETE FROM encryption_keys WHERE key_id = $1
			AND NOT EXISTS (SELECT 1 FROM events WHERE key_id = $1) AND NOT EXISTS (SELECT 1 FROM quarantine WHERE key_id = $1)
			AND NOT EXISTS (SELECT 1 FROM event_filters WHERE key_id = $1)
			AND NOT EXISTS (SELECT 1 FROM handshake_secrets WHERE key_id = $1)`, id); err != nil {
			return nil, storeError("forget encryption key", err)
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
