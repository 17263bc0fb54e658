package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/jackc/pgx/v5"
)

var _ hookwatch.Exporter = (*Store)(nil)

// ExportEvents returns events as stored, newest first, with the dedupe
// keys the dedupe table remembers for them; see hookwatch.Exporter.
// Nothing is decrypted.
func (s *Store) ExportEvents(ctx context.Context, before string, limit int) ([]*hookwatch.StoredEvent, error) {
	out, err := s.exportEvents(ctx, before, limit)
	if err != nil || len(out) == 0 {
		return out, err
	}
	// The page's filter rows: its events are the IDs between its last and
	// its first.
	byID := make(map[string]*hookwatch.StoredEvent, len(out))
	for _, se := range out {
		byID[se.Event.ID] = se
	}
	rows, err := s.pool.Query(ctx, `SELECT event_id, route, destinations, error, error_sealed, key_id FROM event_filters
		WHERE event_id >= $1 AND event_id <= $2 ORDER BY event_id, route`, out[len(out)-1].Event.ID, out[0].Event.ID)
	if err != nil {
		return nil, storeError("export event filters", err)
	}
	var (
		id, dests string
		route     int32
		f         hookwatch.StoredFilter
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &route, &dests, &f.Err, &f.Sealed, &f.KeyID}, func() error {
		f.Route, f.Destinations = int(route), strings.Split(dests, ",")
		if se := byID[id]; se != nil {
			se.Filters = append(se.Filters, f)
		}
		f.Sealed = nil
		return nil
	}); err != nil {
		return nil, storeError("export event filters", err)
	}
	return out, nil
}

// ExportAttempts returns a delivery's attempts as stored; see
// hookwatch.Exporter. Nothing is decrypted.
func (s *Store) ExportAttempts(ctx context.Context, deliveryID string) ([]*hookwatch.StoredAttempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT n, owner, at, latency_us, class, http_status, error, response,
		transform, sent_hash, sent_url, sent_headers, sent_body, sent_key, sent_size
		FROM attempts WHERE delivery_id = $1 ORDER BY n`, deliveryID)
	if err != nil {
		return nil, storeError("export attempts", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hookwatch.StoredAttempt, error) {
		a := &hookwatch.Attempt{DeliveryID: deliveryID}
		sa := &hookwatch.StoredAttempt{Attempt: a}
		var latency int64
		var class string
		if err := row.Scan(&a.N, &a.Owner, &a.At, &latency, &class, &a.StatusCode, &a.Error, &a.Response,
			&a.Transform, &a.SentHash, &sa.SentURL, &sa.SentHeaders, &sa.SentBody, &sa.SentKey, &sa.SentSize); err != nil {
			return nil, err
		}
		a.At, a.Latency, a.Class = a.At.UTC(), time.Duration(latency)*time.Microsecond, hookwatch.ErrorClass(class)
		return sa, nil
	})
	if err != nil {
		return nil, storeError("export attempts", err)
	}
	return out, nil
}

func (s *Store) exportEvents(ctx context.Context, before string, limit int) ([]*hookwatch.StoredEvent, error) {
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
