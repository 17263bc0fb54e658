package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
)

var _ hookwatch.Exporter = (*Store)(nil)

// ExportEvents returns events as stored, newest first, with their dedupe
// keys (the events' own dedupe_id and dedupe_until columns, migration
// 0015); see hookwatch.Exporter. Nothing is decrypted.
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
	rows, err := s.r.QueryContext(ctx, `SELECT event_id, route, destinations, error, error_sealed, key_id FROM event_filters
		WHERE event_id >= ? AND event_id <= ? ORDER BY event_id, route`, out[len(out)-1].Event.ID, out[0].Event.ID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: export event filters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, dests string
			f         hookwatch.StoredFilter
		)
		if err := rows.Scan(&id, &f.Route, &dests, &f.Err, &f.Sealed, &f.KeyID); err != nil {
			return nil, fmt.Errorf("sqlite: export event filters: %w", err)
		}
		f.Destinations = strings.Split(dests, ",")
		if se := byID[id]; se != nil {
			se.Filters = append(se.Filters, f)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: export event filters: %w", err)
	}
	return out, nil
}

// ExportAttempts returns a delivery's attempts as stored; see
// hookwatch.Exporter. Nothing is decrypted.
func (s *Store) ExportAttempts(ctx context.Context, deliveryID string) ([]*hookwatch.StoredAttempt, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT n, owner, at, latency_us, class, http_status, error, response,
		transform, sent_hash, sent_url, sent_headers, sent_body, sent_key, sent_size
		FROM attempts WHERE delivery_id = ? ORDER BY n`, deliveryID)
	return collect(rows, err, "export attempts", func(r row) (*hookwatch.StoredAttempt, error) {
		a := &hookwatch.Attempt{DeliveryID: deliveryID}
		sa := &hookwatch.StoredAttempt{Attempt: a}
		var at, latency int64
		var class string
		if err := r.Scan(&a.N, &a.Owner, &at, &latency, &class, &a.StatusCode, &a.Error, &a.Response,
			&a.Transform, &a.SentHash, &sa.SentURL, &sa.SentHeaders, &sa.SentBody, &sa.SentKey, &sa.SentSize); err != nil {
			return nil, err
		}
		a.At, a.Latency, a.Class = fromMicros(at), time.Duration(latency)*time.Microsecond, hookwatch.ErrorClass(class)
		return sa, nil
	})
}

func (s *Store) exportEvents(ctx context.Context, before string, limit int) ([]*hookwatch.StoredEvent, error) {
	c := newConds()
	if before != "" {
		c.Add("id < ?", before)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventColumns+`, dedupe_id, dedupe_until FROM events WHERE `+c.Where()+
		` ORDER BY id DESC LIMIT `+c.Arg(limit), c.Args...)
	return collect(rows, err, "export events", func(r row) (*hookwatch.StoredEvent, error) {
		var (
			e               hookwatch.Event
			p               hookwatch.StoredPayload
			dedupeID        string
			received, until int64
		)
		if err := r.Scan(&e.ID, &e.Source, &e.Provider, &e.ProviderEventID, &e.Type, &p.Headers, &p.Body,
			&received, &e.Malformed, &e.Test, &e.Trace, &p.KeyID, &e.Subject, &dedupeID, &until); err != nil {
			return nil, err
		}
		e.ReceivedAt = fromMicros(received)
		return &hookwatch.StoredEvent{Event: &e, Payload: p, DedupeID: dedupeID, DedupeUntil: fromMicros(until)}, nil
	})
}

// ExportQuarantined returns quarantined requests as stored, newest first;
// see hookwatch.Exporter. Nothing is decrypted.
func (s *Store) ExportQuarantined(ctx context.Context, before string, limit int) ([]*hookwatch.StoredQuarantined, error) {
	c := newConds()
	if before != "" {
		c.Add("id < ?", before)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+quarantineColumns+`, size FROM quarantine WHERE `+c.Where()+
		` ORDER BY id DESC LIMIT `+c.Arg(limit), c.Args...)
	return collect(rows, err, "export quarantined", func(r row) (*hookwatch.StoredQuarantined, error) {
		var (
			q                  hookwatch.Quarantined
			p                  hookwatch.StoredPayload
			received, released int64
			size               int64
		)
		if err := r.Scan(&q.ID, &q.Source, &q.Provider, &q.Reason, &q.Detail, &q.Method, &q.URL, &p.Headers, &p.Body,
			&q.Truncated, &received, &released, &q.EventID, &q.ReleasedBy, &q.Unverified, &p.KeyID, &q.Subject, &size); err != nil {
			return nil, err
		}
		q.ReceivedAt, q.ReleasedAt = fromMicros(received), fromMicros(released)
		return &hookwatch.StoredQuarantined{Quarantined: &q, Payload: p, Size: size}, nil
	})
}
