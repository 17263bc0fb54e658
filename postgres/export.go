package postgres

import (
	"context"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/jackc/pgx/v5"
)

var _ hookwatch.Exporter = (*Store)(nil)

// ExportEvents returns events as stored, newest first, with the dedupe
// keys the dedupe table remembers for them; see hookwatch.Exporter.
// Nothing is decrypted.
func (s *Store) ExportEvents(ctx context.Context, before string, limit int) ([]*hookwatch.StoredEvent, error) {
	where, args := "true", []any{limit}
	if before != "" {
		where, args = "e.id < $2", append(args, before)
	}
	// A key that is the provider's ID is found through the dedupe table's
	// primary key.
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumnsOf("e.")+`, coalesce(d.provider_event_id, ''), d.expires_at
		FROM events e LEFT JOIN dedupe d ON d.source = e.source AND d.provider_event_id = e.provider_event_id AND d.event_id = e.id
		WHERE `+where+` ORDER BY e.id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, storeError("export events", err)
	}
	var (
		out      []*hookwatch.StoredEvent
		byID     = map[string]*hookwatch.StoredEvent{}
		unkeyed  []string
		sources  []string
		seen     = map[string]bool{}
		dedupeID string
		until    *time.Time
	)
	for rows.Next() {
		se := &hookwatch.StoredEvent{Event: &hookwatch.Event{}}
		e, p := se.Event, &se.Payload
		if err := rows.Scan(&e.ID, &e.Source, &e.Provider, &e.ProviderEventID, &e.Type, &p.Headers, &p.Body,
			&e.ReceivedAt, &e.Malformed, &e.Test, &e.Trace, &p.KeyID, &e.Subject, &dedupeID, &until); err != nil {
			rows.Close()
			return nil, storeError("export events", err)
		}
		e.ReceivedAt = e.ReceivedAt.UTC()
		se.DedupeID, se.DedupeUntil = dedupeID, fromNull(until)
		if se.DedupeID == "" {
			unkeyed = append(unkeyed, e.ID)
			if !seen[e.Source] {
				seen[e.Source], sources = true, append(sources, e.Source)
			}
		}
		byID[e.ID] = se
		out = append(out, se)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, storeError("export events", err)
	}
	if len(unkeyed) == 0 {
		return out, nil
	}
	// A body key ("sha256:..." for a source with dedupe: body) is found
	// within its source's range of such keys.
	rows, err = s.pool.Query(ctx, `SELECT event_id, provider_event_id, expires_at FROM dedupe
		WHERE source = ANY($1) AND provider_event_id >= 'sha256:' AND provider_event_id < 'sha256;' AND event_id = ANY($2)`, sources, unkeyed)
	if err != nil {
		return nil, storeError("export events", err)
	}
	var id string
	var expires time.Time
	if _, err := pgx.ForEachRow(rows, []any{&id, &dedupeID, &expires}, func() error {
		if se := byID[id]; se != nil && se.DedupeID == "" {
			se.DedupeID, se.DedupeUntil = dedupeID, expires.UTC()
		}
		return nil
	}); err != nil {
		return nil, storeError("export events", err)
	}
	return out, nil
}

// ExportQuarantined returns quarantined requests as stored, newest first;
// see hookwatch.Exporter. Nothing is decrypted.
func (s *Store) ExportQuarantined(ctx context.Context, before string, limit int) ([]*hookwatch.StoredQuarantined, error) {
	where, args := "true", []any{limit}
	if before != "" {
		where, args = "id < $2", append(args, before)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+quarantineColumns+`, size FROM quarantine WHERE `+where+` ORDER BY id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, storeError("export quarantined", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*hookwatch.StoredQuarantined, error) {
		var (
			q        hookwatch.Quarantined
			p        hookwatch.StoredPayload
			released *time.Time
			size     int64
		)
		if err := r.Scan(&q.ID, &q.Source, &q.Provider, &q.Reason, &q.Detail, &q.Method, &q.URL, &p.Headers, &p.Body,
			&q.Truncated, &q.ReceivedAt, &released, &q.EventID, &q.ReleasedBy, &q.Unverified, &p.KeyID, &q.Subject, &size); err != nil {
			return nil, err
		}
		q.ReceivedAt, q.ReleasedAt = q.ReceivedAt.UTC(), fromNull(released)
		return &hookwatch.StoredQuarantined{Quarantined: &q, Payload: p, Size: size}, nil
	})
	if err != nil {
		return nil, storeError("export quarantined", err)
	}
	return out, nil
}
