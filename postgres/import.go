package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/jackc/pgx/v5"
)

// The import side of `hookwatch store copy`: rows are written as they are
// (IDs and times kept), and rows already present are skipped, so that a
// copy can be run again after an interruption.

// ImportEvents stores events as they were stored in the store copied
// (hookwatch.Exporter): a sealed payload is written as it is, under its
// own key ID (its additional data is the table and the event ID, both
// kept), and a plaintext one stays plaintext; nothing is decrypted, so no
// key is needed. Events already present are skipped. The key IDs used are
// registered (encryption_keys), so that the store does not open without
// them. An event's dedupe key is remembered until its DedupeUntil when that
// is still in the future and the key is not already remembered. No
// delivery is created. It returns how many events were new.
func (s *Store) ImportEvents(ctx context.Context, events []*hookwatch.StoredEvent) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	n := len(events)
	ids, sources, providers, pids, types, headers, traces := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	keyIDs, subjects := make([]string, n), make([]string, n)
	bodies, received := make([][]byte, n), make([]time.Time, n)
	malformed, test := make([]bool, n), make([]bool, n)
	var kSources, kIDs, kEvents []string
	var kExpires, kReceived []time.Time
	var fEvents, fDests, fErrs, fKeys []string
	var fRoutes []int32
	var fSealed [][]byte
	now := s.now()
	for i, se := range events {
		e, p := se.Event, se.Payload
		ids[i], sources[i], providers[i], pids[i] = e.ID, text(e.Source), text(e.Provider), text(e.ProviderEventID)
		types[i], headers[i], traces[i], keyIDs[i], subjects[i] = text(e.Type), p.Headers, text(e.Trace), p.KeyID, text(e.Subject)
		bodies[i], received[i], malformed[i], test[i] = p.Body, e.ReceivedAt, e.Malformed, e.Test
		if p.KeyID == "" {
			headers[i] = text(p.Headers)
		}
		if bodies[i] == nil {
			bodies[i] = []byte{}
		}
		for _, f := range se.Filters {
			fEvents, fRoutes, fDests = append(fEvents, e.ID), append(fRoutes, int32(f.Route)), append(fDests, text(strings.Join(f.Destinations, ",")))
			fErrs, fSealed, fKeys = append(fErrs, text(f.Err)), append(fSealed, f.Sealed), append(fKeys, f.KeyID)
			keyIDs = append(keyIDs, f.KeyID)
		}
		if key := text(se.DedupeID); key != "" && se.DedupeUntil.After(now) {
			kSources, kIDs, kEvents = append(kSources, sources[i]), append(kIDs, key), append(kEvents, e.ID)
			kExpires, kReceived = append(kExpires, se.DedupeUntil), append(kReceived, e.ReceivedAt)
		}
	}
	var inserted int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := registerKeyIDs(ctx, tx, keyIDs, now); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO events (id, source, provider, provider_event_id, type, headers, body, received_at, malformed, test, trace, key_id, subject)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[],
				$8::timestamptz[], $9::bool[], $10::bool[], $11::text[], $12::text[], $13::text[])
			ON CONFLICT (id) DO NOTHING`,
			ids, sources, providers, pids, types, headers, bodies, received, malformed, test, traces, keyIDs[:n], subjects)
		if err != nil {
			return err
		}
		inserted = int(tag.RowsAffected())
		_, err = tx.Exec(ctx, `INSERT INTO dedupe (source, provider_event_id, event_id, expires_at, received_at)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
			ON CONFLICT (source, provider_event_id) DO NOTHING`,
			kSources, kIDs, kEvents, kExpires, kReceived)
		if err != nil || len(fEvents) == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO event_filters (event_id, route, destinations, error, error_sealed, key_id)
			SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bytea[], $6::text[])
			ON CONFLICT (event_id, route) DO NOTHING`,
			fEvents, fRoutes, fDests, fErrs, fSealed, fKeys)
		return err
	})
	if err != nil {
		return 0, storeError("import events", err)
	}
	return inserted, nil
}

// registerKeyIDs records the key IDs rows written in tx are sealed under
// ("" is plaintext), so that the store's start check (checkKeys) asks for
// them.
func registerKeyIDs(ctx context.Context, tx pgx.Tx, keyIDs []string, now time.Time) error {
	var ids []string
	seen := map[string]bool{}
	for _, id := range keyIDs {
		if id != "" && !seen[id] {
			seen[id], ids = true, append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO encryption_keys (key_id, added_at) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`, ids, now)
	return err
}

// ImportDeliveries stores deliveries with their own IDs and, for those not
// already present, their attempts (attempts[i] are those of ds[i]), in one
// transaction. Leases are dropped: the copied installation is stopped. It
// returns how many deliveries were new. Their events must be present: a
// delivery whose event is not is an error with code EINVALID, and nothing
// of the batch is stored.
func (s *Store) ImportDeliveries(ctx context.Context, ds []*hookwatch.Delivery, attempts [][]*hookwatch.StoredAttempt) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	var inserted int
	var sentKeys []string
	for _, as := range attempts {
		for _, a := range as {
			sentKeys = append(sentKeys, a.SentKey)
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := registerKeyIDs(ctx, tx, sentKeys, s.now()); err != nil {
			return err
		}
		// No foreign key checks a delivery's event since 0023, so a copy
		// checks it here: a delivery without its event would stay pending
		// forever, since claims read the event.
		eventIDs := make([]string, len(ds))
		for i, d := range ds {
			eventIDs[i] = d.EventID
		}
		var missing string
		err := tx.QueryRow(ctx, `SELECT u.id FROM unnest($1::text[]) AS u(id)
			WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = u.id) LIMIT 1`, eventIDs).Scan(&missing)
		if err == nil {
			return hookwatch.Errorf(hookwatch.EINVALID, "import deliveries: event %s is not in the store; import the events first", missing)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		b := &pgx.Batch{}
		for i, d := range ds {
			b.Queue(`WITH d AS (
				INSERT INTO deliveries (id, event_id, destination, status, attempts, next_attempt_at, lease_owner, lease_until,
					last_class, last_status, last_error, created_at, updated_at, queued_at, completed_at,
					order_key, order_error, order_at)
				VALUES ($1, $2, $3, $4, $5, $6, '', NULL, $7, $8, $9, $10, $11, $12, $13,
					$22, $23, (SELECT received_at FROM events WHERE id = $2))
				ON CONFLICT (id) DO NOTHING RETURNING id
			), a AS (
				INSERT INTO attempts (delivery_id, n, owner, at, latency_us, class, http_status, error, response,
					transform, sent_hash, sent_url, sent_headers, sent_body, sent_key, sent_size)
				SELECT d.id, a.n, a.owner, a.at, a.latency_us, a.class, a.http_status, a.error, a.response,
					a.transform, a.sent_hash, a.sent_url, a.sent_headers, a.sent_body, a.sent_key, a.sent_size
				FROM d, unnest($14::int[], $15::text[], $16::timestamptz[], $17::bigint[], $18::text[], $19::int[], $20::text[], $21::bytea[],
					$24::text[], $25::text[], $26::text[], $27::text[], $28::bytea[], $29::text[], $30::int[])
					AS a(n, owner, at, latency_us, class, http_status, error, response,
						transform, sent_hash, sent_url, sent_headers, sent_body, sent_key, sent_size)
			)
			SELECT count(*) FROM d`,
				append([]any{d.ID, d.EventID, text(d.Destination), string(d.Status), d.Attempts, d.NextAttemptAt,
					string(d.LastClass), d.LastStatus, text(d.LastError), d.CreatedAt, d.UpdatedAt, nullTime(d.QueuedAt), nullTime(d.CompletedAt)},
					append(append(attemptColumns(attempts[i]), text(d.OrderKey), text(d.OrderError)), sentColumns(attempts[i])...)...)...)
		}
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		for range ds {
			var n int
			if err := br.QueryRow().Scan(&n); err != nil {
				return err
			}
			inserted += n
		}
		return br.Close()
	})
	if err != nil {
		return 0, storeError("import deliveries", err)
	}
	return inserted, nil
}

// attemptColumns returns the arrays $14..$21 of ImportDeliveries' query.
func attemptColumns(sas []*hookwatch.StoredAttempt) []any {
	n := len(sas)
	ns, owners, at, latency, classes := make([]int32, n), make([]string, n), make([]time.Time, n), make([]int64, n), make([]string, n)
	statuses, errs, responses := make([]int32, n), make([]string, n), make([][]byte, n)
	for i, sa := range sas {
		a := sa.Attempt
		ns[i], owners[i], at[i], latency[i], classes[i] = int32(a.N), text(a.Owner), a.At, a.Latency.Microseconds(), string(a.Class)
		statuses[i], errs[i], responses[i] = int32(a.StatusCode), text(a.Error), a.Response
		if responses[i] == nil {
			responses[i] = []byte{}
		}
	}
	return []any{ns, owners, at, latency, classes, statuses, errs, responses}
}

// sentColumns returns the arrays $24..$30 of ImportDeliveries' query: what
// each attempt sent (migration 0019), as stored (a sealed request as sent
// stays sealed: its additional data is the delivery ID and the attempt's
// time, both kept).
func sentColumns(sas []*hookwatch.StoredAttempt) []any {
	n := len(sas)
	transforms, hashes, urls, headers, keys := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	bodies, sizes := make([][]byte, n), make([]int32, n)
	for i, sa := range sas {
		transforms[i], hashes[i], urls[i] = text(sa.Attempt.Transform), text(sa.Attempt.SentHash), text(sa.SentURL)
		headers[i], bodies[i], keys[i], sizes[i] = text(sa.SentHeaders), sa.SentBody, sa.SentKey, int32(sa.SentSize)
	}
	return []any{transforms, hashes, urls, headers, bodies, keys, sizes}
}

// ImportDestinationStates stores destination states (pause, disablement,
// circuit) not already present.
func (s *Store) ImportDestinationStates(ctx context.Context, states map[string]hookwatch.DestinationState) error {
	for _, st := range states {
		if _, err := s.pool.Exec(ctx, `INSERT INTO destination_state (name, paused, disabled_at, disabled_reason, circuit, failures, probe_at, not_before, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO NOTHING`,
			text(st.Name), st.Paused, nullTime(st.DisabledAt), text(st.DisabledReason), string(st.Circuit), st.Failures,
			nullTime(st.ProbeAt), nullTime(st.NotBefore), st.UpdatedAt); err != nil {
			return storeError("import destination states", err)
		}
	}
	return nil
}

// ImportReplays stores replay records not already present.
func (s *Store) ImportReplays(ctx context.Context, rs []*hookwatch.Replay) error {
	for _, r := range rs {
		filter, err := json.Marshal(r.Filter)
		if err != nil {
			return fmt.Errorf("postgres: import replays: %w", err)
		}
		if _, err := s.pool.Exec(ctx, `INSERT INTO replays (id, actor, at, filter, rate, count) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO NOTHING`, r.ID, text(r.Actor), r.At, text(string(filter)), r.Rate, r.Count); err != nil {
			return storeError("import replays", err)
		}
	}
	return nil
}

// ImportPurges stores purge and erasure records not already present, as
// they are (an erasure's subject is a hash under the installation key,
// which the copy carries).
func (s *Store) ImportPurges(ctx context.Context, ps []*hookwatch.Purge) error {
	for _, p := range ps {
		filter, err := json.Marshal(p.Filter)
		if err != nil {
			return fmt.Errorf("postgres: import purges: %w", err)
		}
		if _, err := s.pool.Exec(ctx, `INSERT INTO purges (id, kind, actor, at, filter, events, skipped, quarantined)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
			p.ID, string(p.Kind), text(p.Actor), p.At, string(filter), p.Events, p.Skipped, p.Quarantined); err != nil {
			return storeError("import purges", err)
		}
	}
	return nil
}

// CountPresent counts how many of ids exist in table ("events" or
// "deliveries"), and how many attempts those deliveries have: the copy's
// verification.
func (s *Store) CountPresent(ctx context.Context, table string, ids []string) (rows, attempts int, err error) {
	switch table {
	case "events":
		err = s.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE id = ANY($1)`, ids).Scan(&rows)
	case "deliveries":
		err = s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM deliveries WHERE id = ANY($1)),
			(SELECT count(*) FROM attempts WHERE delivery_id = ANY($1))`, ids).Scan(&rows, &attempts)
	default:
		return 0, 0, fmt.Errorf("postgres: count present: unknown table %q", table)
	}
	if err != nil {
		return 0, 0, storeError("count present", err)
	}
	return rows, attempts, nil
}

// ImportQuarantined stores kept requests not already present, with their
// release state, as they were stored in the store copied (like
// ImportEvents: sealed payloads as they are, their key IDs registered).
func (s *Store) ImportQuarantined(ctx context.Context, qs []*hookwatch.StoredQuarantined) (int, error) {
	copied := 0
	for _, sq := range qs {
		q, p := sq.Quarantined, sq.Payload
		body := p.Body
		if body == nil {
			body = []byte{}
		}
		headers := p.Headers
		if p.KeyID == "" {
			headers = text(headers)
		}
		size := sq.Size
		if size == 0 {
			// Not counted by the store copied: about what StoredSize counts.
			size = int64(len(q.ID) + len(q.Source) + len(q.Provider) + len(q.Reason) + len(q.Detail) + len(q.Method) + len(q.URL) + len(headers) + len(body))
		}
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := registerKeyIDs(ctx, tx, []string{p.KeyID}, s.now()); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO quarantine
				(id, source, provider, reason, detail, method, url, headers, body, truncated, received_at,
				 released_at, event_id, released_by, unverified, size, key_id, subject)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
				ON CONFLICT (id) DO NOTHING`,
				q.ID, text(q.Source), text(q.Provider), text(q.Reason), text(q.Detail), text(q.Method), text(q.URL),
				headers, body, q.Truncated, q.ReceivedAt, nullTime(q.ReleasedAt), text(q.EventID), text(q.ReleasedBy), q.Unverified, size, p.KeyID, text(q.Subject))
			if err != nil {
				return err
			}
			copied += int(tag.RowsAffected())
			return nil
		})
		if err != nil {
			return copied, storeError("import quarantined", err)
		}
	}
	return copied, nil
}

// ImportUsers stores dashboard users (with their password hashes) and API
// tokens (hashes) not already present. Sessions are not copied: users sign
// in again.
func (s *Store) ImportUsers(ctx context.Context, users []*hookwatch.User, tokens []*hookwatch.APIToken) error {
	for _, u := range users {
		if _, err := s.pool.Exec(ctx, `INSERT INTO users (name, password_hash, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING`, u.Name, u.PasswordHash, u.CreatedAt); err != nil {
			return storeError("import users", err)
		}
	}
	for _, t := range tokens {
		if _, err := s.pool.Exec(ctx, `INSERT INTO api_tokens (id, user_name, name, hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
			t.ID, t.User, text(t.Name), t.Hash, t.CreatedAt, nullTime(t.ExpiresAt)); err != nil {
			return storeError("import tokens", err)
		}
	}
	return nil
}

// ImportIssues stores issues not already present (by ID or fingerprint)
// with their comments, and for each issue it stores, the failures given for
// it (failures[issue ID], any order): an issue already present keeps its
// own, so a copy run again does not count failures twice. It returns how
// many issues were new.
func (s *Store) ImportIssues(ctx context.Context, issues []*hookwatch.Issue, failures map[string][]hookwatch.Failure) (int, error) {
	inserted := 0
	for _, i := range issues {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `INSERT INTO issues (id, fingerprint, kind, source, destination, class, status, priority, test,
				first_seen, last_seen, count, events, dead_letters, last_message, last_event_id, regression, regressed_at, resolved_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) ON CONFLICT DO NOTHING`,
				text(i.ID), text(i.Fingerprint), string(i.Kind), text(i.Source), text(i.Destination), text(i.Class), string(i.Status),
				string(i.Priority), i.Test, i.FirstSeen, i.LastSeen, i.Count, i.Events, i.DeadLetters, text(i.LastMessage), text(i.LastEventID),
				i.Regression, nullTime(i.RegressedAt), nullTime(i.ResolvedAt), i.UpdatedAt)
			if err != nil || tag.RowsAffected() == 0 {
				return err
			}
			inserted++
			for _, c := range i.Comments {
				if _, err := tx.Exec(ctx, `INSERT INTO issue_comments (id, issue_id, author, at, body) VALUES ($1, $2, $3, $4, $5)
					ON CONFLICT (id) DO NOTHING`, text(c.ID), text(i.ID), text(c.Author), c.At, text(c.Body)); err != nil {
					return err
				}
			}
			fs := failures[i.ID]
			// Oldest first, so that the identity order (an issue's recent
			// failures) is the order they happened in.
			sort.SliceStable(fs, func(a, b int) bool { return fs[a].At.Before(fs[b].At) })
			for _, f := range fs {
				if _, err := tx.Exec(ctx, `INSERT INTO failures (issue_id, kind, source, destination, class, event_id, delivery_id, test, at, message)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, text(i.ID), string(f.Kind), text(f.Source), text(f.Destination),
					text(f.Class), text(f.EventID), text(f.DeliveryID), f.Test, f.At, text(truncate(f.Message, 500))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return inserted, storeError("import issues", err)
		}
	}
	return inserted, nil
}

// ImportAlerts stores alert states, notifications (the outbox and the
// history) and silences not already present, in one transaction, so that
// an evaluator starting on the copy knows what was already sent and sends
// it neither again nor without its issue.
func (s *Store) ImportAlerts(ctx context.Context, states []hookwatch.AlertState, ns []*hookwatch.Notification, silences []*hookwatch.Silence) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, a := range states {
			if err := upsertAlertState(ctx, tx, a, true); err != nil {
				return err
			}
		}
		for _, n := range ns {
			if err := upsertNotification(ctx, tx, n, true); err != nil {
				return err
			}
		}
		for _, si := range silences {
			if err := insertSilence(ctx, tx, si, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return storeError("import alerts", err)
	}
	return nil
}
