package sqlite

import (
	"context"

	"github.com/hookwatch/hookwatch"
)

var _ hookwatch.Exporter = (*Store)(nil)

// ExportEvents returns events as stored, newest first, with their dedupe
// keys (the events' own dedupe_id and dedupe_until columns, migration
// 0015); see hookwatch.Exporter. Nothing is decrypted.
func (s *Store) ExportEvents(ctx context.Context, before string, limit int) ([]*hookwatch.StoredEvent, error) {
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
