package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
)

// Delivery is a delivery as the admin API and the CLI's --json print it.
type Delivery struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	Destination   string     `json:"destination"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LeaseOwner    string     `json:"lease_owner,omitempty"`
	LeaseUntil    *time.Time `json:"lease_until,omitempty"`
	LastClass     string     `json:"last_class,omitempty"`
	LastStatus    int        `json:"last_status,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	QueuedAt      time.Time  `json:"queued_at"`
	CompletedAt   *time.Time `json:"completed_at,omitempty"`
	// OrderKey is the delivery's ordering key (a destination with
	// ordering); OrderError why it has none and went unordered.
	OrderKey   string `json:"order_key,omitempty"`
	OrderError string `json:"order_error,omitempty"`
	// Waiting says why a pending delivery is not sent now (due, circuit
	// open until..., paused...): next_attempt_at alone may be in the past.
	Waiting *Waiting  `json:"waiting,omitempty"`
	History []Attempt `json:"history,omitempty"`
}

// Waiting is a deliver.Waiting as printed: why a delivery or a
// destination waits, and until when.
type Waiting struct {
	Reason string     `json:"reason"`
	Until  *time.Time `json:"until,omitempty"`
	Since  *time.Time `json:"since,omitempty"`
	Text   string     `json:"text"`
	Note   string     `json:"note,omitempty"`
	// Head and HeadEvent: the delivery an ordered one waits behind.
	Head      string `json:"head,omitempty"`
	HeadEvent string `json:"head_event,omitempty"`
}

// NewWaiting returns w as printed, or nil when there is no wait.
func NewWaiting(w deliver.Waiting) *Waiting {
	if w.Reason == "" {
		return nil
	}
	return &Waiting{Reason: w.Reason, Until: timePtr(w.Until), Since: timePtr(w.Since),
		Text: w.Text(func(t time.Time) string { return t.UTC().Format(time.RFC3339) }), Note: w.Note(), Head: w.Head, HeadEvent: w.HeadEvent}
}

// Attempt is one attempt of a delivery as printed.
type Attempt struct {
	N                int       `json:"n"`
	At               time.Time `json:"at"`
	Class            string    `json:"class,omitempty"`
	Status           int       `json:"status,omitempty"`
	LatencyMS        float64   `json:"latency_ms"`
	Error            string    `json:"error,omitempty"`
	Response         string    `json:"response,omitempty"`
	ResponseEncoding string    `json:"response_encoding,omitempty"`
	// Transform is the hash of the destination's transform that ran.
	Transform string `json:"transform,omitempty"`
	// SentHash is the SHA-256 of the body sent.
	SentHash string `json:"sent_hash,omitempty"`
	// Sent is the request as a transform made it (redacted, the body cut
	// at 16 KiB).
	Sent *SentRequest `json:"sent,omitempty"`
}

// SentRequest is a transformed request as sent, as printed.
type SentRequest struct {
	URL          string      `json:"url"`
	Headers      http.Header `json:"headers,omitempty"`
	Body         string      `json:"body,omitempty"`
	BodyEncoding string      `json:"body_encoding,omitempty"`
	BodySize     int         `json:"body_size"`
	Unreadable   string      `json:"unreadable,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// NewDelivery returns d as printed, with its attempts (none in listings)
// and, when pending, what it waits for.
func NewDelivery(d *hookwatch.Delivery, attempts []*hookwatch.Attempt, w deliver.Waiting) Delivery {
	j := Delivery{ID: d.ID, EventID: d.EventID, Destination: d.Destination, Status: string(d.Status), Attempts: d.Attempts,
		LeaseOwner: d.LeaseOwner, LastClass: string(d.LastClass), LastStatus: d.LastStatus, LastError: d.LastError,
		CreatedAt: d.CreatedAt, QueuedAt: d.QueuedAt, CompletedAt: timePtr(d.CompletedAt), OrderKey: d.OrderKey, OrderError: d.OrderError}
	if d.Status == hookwatch.DeliveryPending {
		j.NextAttemptAt = timePtr(d.NextAttemptAt)
		j.LeaseUntil = timePtr(d.LeaseUntil)
		j.Waiting = NewWaiting(w)
	}
	for _, a := range attempts {
		aj := Attempt{N: a.N, At: a.At, Class: string(a.Class), Status: a.StatusCode,
			LatencyMS: float64(a.Latency.Microseconds()) / 1000, Error: a.Error}
		aj.Response, aj.ResponseEncoding = hookwatch.TextOrHex(a.Response)
		aj.Transform, aj.SentHash = a.Transform, a.SentHash
		if a.Sent != nil {
			aj.Sent = &SentRequest{URL: a.Sent.URL, Headers: a.Sent.Headers, BodySize: a.Sent.BodySize, Unreadable: a.Sent.Unreadable}
			aj.Sent.Body, aj.Sent.BodyEncoding = hookwatch.TextOrHex(a.Sent.Body)
		}
		j.History = append(j.History, aj)
	}
	return j
}

// Waits says why pending deliveries wait, from the destinations' stored
// states (read once) and the configured destinations.
type Waits struct {
	states     map[string]hookwatch.DestinationState
	configured map[string]bool
	now        time.Time
	// ordered holds the ordered destinations (whether a dead delivery
	// holds its key); head finds a key's head.
	ordered map[string]bool
	head    func(destination, key string, blockOnDead bool) (*hookwatch.Delivery, error)
}

// LoadWaits reads the destinations' states for Of.
func LoadWaits(ctx context.Context, store hookwatch.DeliveryStore, dests []deliver.Destination, now time.Time) (*Waits, error) {
	states, err := store.DestinationStates(ctx)
	if err != nil {
		return nil, err
	}
	w := &Waits{states: states, configured: map[string]bool{}, now: now, ordered: map[string]bool{},
		head: func(destination, key string, blockOnDead bool) (*hookwatch.Delivery, error) {
			return store.OrderHead(ctx, destination, key, blockOnDead)
		}}
	for _, d := range dests {
		w.configured[d.Name] = true
		if d.Ordered {
			w.ordered[d.Name] = d.OnDead == hookwatch.OnDeadBlock
		}
	}
	return w, nil
}

// Of is d's wait (the zero Waiting when d is not pending).
func (w *Waits) Of(d *hookwatch.Delivery) deliver.Waiting {
	st, ok := w.states[d.Destination]
	if !ok {
		st = hookwatch.DestinationState{Name: d.Destination, Circuit: hookwatch.CircuitClosed}
	}
	wait := deliver.DeliveryWaiting(d, st, w.configured[d.Destination], w.now)
	// An ordered delivery that is not its key's head waits behind it,
	// whatever its own schedule (one store lookup per such delivery).
	if block, ordered := w.ordered[d.Destination]; ordered && d.OrderKey != "" &&
		(wait.Reason == deliver.WaitDue || wait.Reason == deliver.WaitScheduled) {
		if head, err := w.head(d.Destination, d.OrderKey, block); err == nil && head.ID != d.ID {
			return wait.BehindHead(head)
		}
	}
	return wait
}

// listDeliveries serves GET /api/deliveries: {"deliveries": [Delivery]},
// newest first.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	f, err := deliveryFilter(r.URL.Query(), now)
	if err != nil {
		s.error(w, r, err)
		return
	}
	ds, err := s.opts.Store.ListDeliveries(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	wt, err := LoadWaits(r.Context(), s.opts.Store, s.opts.Engine.Destinations(), now)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]Delivery, 0, len(ds))
	for _, d := range ds {
		out = append(out, NewDelivery(d, nil, wt.Of(d)))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"deliveries": out})
}

// getDelivery serves GET /api/deliveries/{id}: a Delivery with its history.
func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) {
	d, attempts, err := s.opts.Store.GetDelivery(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	wt, err := LoadWaits(r.Context(), s.opts.Store, s.opts.Engine.Destinations(), s.opts.Now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, NewDelivery(d, attempts, wt.Of(d)))
}

// ReplayRequest is POST /api/replay's body. Without event IDs only dead
// deliveries are selected unless Status says otherwise; Rate defaults to
// 50 per second (0: all at once).
type ReplayRequest struct {
	EventIDs    []string `json:"event_ids"`
	Source      string   `json:"source"`
	Destination string   `json:"destination"`
	Type        string   `json:"type"`
	Status      string   `json:"status"`
	Since       string   `json:"since"`
	Until       string   `json:"until"`
	Rate        *float64 `json:"rate"`
	DryRun      bool     `json:"dry_run"`
	// Actor is recorded with the caller's address.
	Actor string `json:"actor"`
}

// replay serves POST /api/replay: the hookwatch.Replay record.
func (s *Server) replay(w http.ResponseWriter, r *http.Request) {
	var body ReplayRequest
	if err := decodeJSON(r, &body); err != nil && !errors.Is(err, io.EOF) {
		s.error(w, r, hookwatch.Errorf(hookwatch.EINVALID, "replay: bad JSON body: %v", err))
		return
	}
	ds := DeliverySelection{Events: body.EventIDs, Source: body.Source, Destination: body.Destination, Type: body.Type,
		Status: body.Status, Since: body.Since, Until: body.Until}
	if ds.Status == "" && len(ds.Events) == 0 {
		ds.Status = string(hookwatch.DeliveryDead)
	}
	f, err := ds.Filter(s.opts.Now(), "")
	if err != nil {
		s.error(w, r, err)
		return
	}
	rate := 50.0
	if body.Rate != nil {
		rate = *body.Rate
	}
	if rate < 0 {
		s.error(w, r, hookwatch.Errorf(hookwatch.EINVALID, "replay: rate must not be negative"))
		return
	}
	actor := "admin-api " + r.RemoteAddr
	if body.Actor != "" {
		actor = body.Actor + " (admin-api " + r.RemoteAddr + ")"
	}
	rep, err := s.opts.Engine.Replay(r.Context(), hookwatch.ReplayRequest{Filter: f, Actor: actor, Rate: rate, DryRun: body.DryRun})
	if err != nil {
		s.error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, rep)
}
