package quarantine

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/ingest"
	"github.com/hookwatch/hookwatch/provider"
)

// Store is what a release reads and writes.
type Store interface {
	hookwatch.EventStore
	hookwatch.QuarantineStore
	// InstallationKey is the key kept requests' token headers were sealed
	// under (hookwatch.Store.InstallationKey).
	InstallationKey(ctx context.Context) ([]byte, error)
}

// Releaser verifies quarantined requests again and stores those that pass
// as events, as if they had been accepted when they arrived.
//
// Its sources should be built from the config for the release (the CLI
// reads the file as it is now; the server uses the config it runs with),
// with schemes of their own: a release then never touches the live
// schemes' state (Mailgun's memory of used tokens).
type Releaser struct {
	Store Store
	// Sources are the configured sources with their current secrets
	// (Secrets too: a sealed token header is matched against them).
	Sources []ingest.Source
	// Router routes released events like live ones (nil: no destination).
	Router ingest.Router
	// Orderer computes the ordering keys of a released event's deliveries
	// like the receive path's (nil: unordered).
	Orderer func(*hookwatch.Event)
	// Now is the release time (ReleasedAt); time.Now if nil.
	Now func() time.Time
}

// Request asks for a release.
type Request struct {
	// Filter selects the requests: IDs, or a source, reason and time range.
	// Records already released are reported and skipped; a filter without
	// IDs selects only held ones.
	Filter hookwatch.QuarantineFilter `json:"filter"`
	// Unverified releases the requests that still fail verification too.
	// Each is recorded as unverified, with By.
	Unverified bool `json:"unverified,omitempty"`
	// By is who asks ("cli:alice", "admin-api 127.0.0.1").
	By string `json:"by,omitempty"`
	// DryRun verifies and reports without storing or recording anything.
	DryRun bool `json:"dry_run,omitempty"`
}

// Outcome is what a release did with one quarantined request.
type Outcome string

// Outcomes of a release.
const (
	// Released: stored as a new event (verified, or Unverified was asked).
	Released Outcome = "released"
	// Duplicate: it verified, but its provider event ID (or its body, on a
	// source with dedupe: body) was already stored (the provider's retry
	// was accepted): recorded as released as that event, nothing new
	// stored.
	Duplicate Outcome = "duplicate"
	// Failed: it still fails verification; it stays held.
	Failed Outcome = "failed"
	// Skipped: cannot be released (already released, unknown source, body
	// cut, a handshake); it is left as it is.
	Skipped Outcome = "skipped"
)

// Result is the outcome for one quarantined request.
type Result struct {
	ID      string  `json:"id"`
	Source  string  `json:"source"`
	Outcome Outcome `json:"outcome"`
	// EventID is the event it was released as (or is a duplicate of).
	EventID string `json:"event_id,omitempty"`
	// Unverified is set when it was released without passing verification.
	Unverified bool `json:"unverified,omitempty"`
	// Reason says why it failed or was skipped.
	Reason string `json:"reason,omitempty"`
}

// Report is the outcome of a release.
type Report struct {
	DryRun  bool                       `json:"dry_run,omitempty"`
	Results []Result                   `json:"results"`
	Counts  map[Outcome]int            `json:"counts"`
	At      time.Time                  `json:"at"`
	By      string                     `json:"by,omitempty"`
	Filter  hookwatch.QuarantineFilter `json:"filter"`
}

// page is how many records one step of a release reads and stores.
const page = 200

// Release re-verifies the requests selected by req.Filter, each with
// provider.Request.Now set to when it was received (so timestamp tolerances
// apply as they would have then), and stores those that pass as events
// received at that time, routed and deduplicated like live events. A
// filter selecting nothing at all is refused with EINVALID.
//
// A released event's ID is derived from the quarantined request's, so a
// release interrupted between storing the event and recording the release
// is completed by the next one instead of storing the event twice.
func (rl *Releaser) Release(ctx context.Context, req Request) (*Report, error) {
	f := req.Filter
	if len(f.IDs) == 0 && f.Source == "" && f.Reason == "" && f.Since.IsZero() && f.Until.IsZero() {
		return nil, hookwatch.Errorf(hookwatch.EINVALID, "a release needs IDs or a filter (source, reason, since, until)")
	}
	if len(f.IDs) == 0 {
		f.Status = hookwatch.QuarantineHeld
	}
	now := time.Now
	if rl.Now != nil {
		now = rl.Now
	}
	sources := make(map[string]*ingest.Source, len(rl.Sources))
	for i := range rl.Sources {
		sources[rl.Sources[i].Name] = &rl.Sources[i]
	}
	key, err := rl.Store.InstallationKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("quarantine: release: %w", err)
	}
	rep := &Report{DryRun: req.DryRun, Counts: map[Outcome]int{}, At: now().UTC(), By: req.By, Filter: req.Filter}
	limit := f.Limit
	f.Limit = page
	// Pages are read by cursor (newest first): released records leave the
	// held set and failed ones stay, and the cursor moves past both.
	for {
		if limit > 0 && len(rep.Results) >= limit {
			break
		}
		qs, err := rl.Store.ListQuarantined(ctx, f)
		if err != nil {
			return rep, fmt.Errorf("quarantine: release: %w", err)
		}
		if len(qs) == 0 {
			break
		}
		if limit > 0 && len(rep.Results)+len(qs) > limit {
			qs = qs[:limit-len(rep.Results)]
		}
		if err := rl.releasePage(ctx, req, sources, key, qs, rep); err != nil {
			return rep, err
		}
		if len(qs) < page {
			break
		}
		f.Before = qs[len(qs)-1].ID
	}
	for _, r := range rep.Results {
		rep.Counts[r.Outcome]++
	}
	return rep, nil
}

// candidate is a request that will be stored as ev.
type candidate struct {
	q          *hookwatch.Quarantined
	ev         *hookwatch.Event
	unverified bool
	result     int // index in the report
}

func (rl *Releaser) releasePage(ctx context.Context, req Request, sources map[string]*ingest.Source, key []byte, qs []*hookwatch.Quarantined, rep *Report) error {
	var cands []candidate
	for _, q := range qs {
		res := Result{ID: q.ID, Source: q.Source}
		ev, unverified, reason, outcome := rl.prepare(req, sources, key, q)
		if ev == nil {
			res.Outcome, res.Reason, res.EventID = outcome, reason, q.EventID
			rep.Results = append(rep.Results, res)
			continue
		}
		res.Outcome, res.EventID, res.Unverified, res.Reason = Released, ev.ID, unverified, reason
		rep.Results = append(rep.Results, res)
		cands = append(cands, candidate{q: q, ev: ev, unverified: unverified, result: len(rep.Results) - 1})
	}
	if req.DryRun || len(cands) == 0 {
		return nil
	}
	// An event stored by an interrupted release is not stored again: its
	// ID is known, so only the release is recorded.
	var fresh []candidate
	for _, c := range cands {
		if _, err := rl.Store.GetEvent(ctx, c.ev.ID); err == nil {
			continue
		} else if hookwatch.ErrorCode(err) != hookwatch.ENOTFOUND {
			return fmt.Errorf("quarantine: release: %w", err)
		}
		fresh = append(fresh, c)
	}
	if len(fresh) > 0 {
		events := make([]*hookwatch.Event, len(fresh))
		for i, c := range fresh {
			events[i] = c.ev
		}
		results, err := rl.Store.InsertEvents(ctx, events)
		if err != nil {
			for _, c := range cands {
				rep.Results[c.result].Outcome, rep.Results[c.result].EventID = Skipped, ""
				rep.Results[c.result].Reason = "not stored: " + hookwatch.ErrorMessage(err)
			}
			return fmt.Errorf("quarantine: release: %w", err)
		}
		for i, ir := range results {
			if ir.Duplicate {
				r := &rep.Results[fresh[i].result]
				r.Outcome, r.EventID = Duplicate, ir.ID
				r.Reason = "its dedupe key (the provider's event ID, or the body with dedupe: body) was already stored as " + ir.ID
			}
		}
	}
	at := rep.At
	for _, c := range cands {
		r := &rep.Results[c.result]
		err := rl.Store.MarkReleased(ctx, hookwatch.QuarantineRelease{ID: c.q.ID, EventID: r.EventID, At: at, By: req.By, Unverified: c.unverified})
		switch hookwatch.ErrorCode(err) {
		case "":
		case hookwatch.ECONFLICT, hookwatch.ENOTFOUND:
			// Released by someone else meanwhile, or pruned: the event
			// is stored all the same, under its derived ID.
			r.Reason = hookwatch.ErrorMessage(err)
		default:
			return fmt.Errorf("quarantine: release: record %s: %w", c.q.ID, err)
		}
	}
	return nil
}

// prepare decides what to do with one record: the event to store (and
// whether it is unverified), or why not.
func (rl *Releaser) prepare(req Request, sources map[string]*ingest.Source, key []byte, q *hookwatch.Quarantined) (ev *hookwatch.Event, unverified bool, reason string, outcome Outcome) {
	if q.Released() {
		return nil, false, "already released as " + q.EventID, Skipped
	}
	src, ok := sources[q.Source]
	if !ok {
		return nil, false, "source " + q.Source + " is not configured", Skipped
	}
	if q.Truncated {
		return nil, false, "its body was cut to the quarantine's max_body", Skipped
	}
	preq := provider.Request{Method: q.Method, URL: releaseURL(src, q.URL), Header: unseal(q.Headers, key, src.Secrets), Body: q.Body, Now: q.ReceivedAt}
	res, err := src.Scheme.Verify(&preq)
	switch {
	case err == nil && res.Handshake != nil:
		return nil, false, "a handshake, not an event", Skipped
	case err == nil:
		ev = ingest.NewEvent(src, res, q.Headers, q.Body, q.ReceivedAt)
	case req.Unverified:
		// Without verification nothing is known of the event: no provider
		// event ID and no type (dedupe still applies on a source that
		// dedupes on the body).
		ev = ingest.NewEvent(src, provider.Result{}, q.Headers, q.Body, q.ReceivedAt)
		unverified, reason = true, "released without verification ("+err.Error()+")"
	default:
		why := err.Error()
		if _, redacted := redactedCredential(q); redacted {
			why += " (its credential header was redacted when it was kept: it cannot verify, release it --unverified)"
		}
		return nil, false, why, Failed
	}
	ev.ID = eventID(q.ID)
	if rl.Router != nil {
		ev.Destinations, ev.Filtered = rl.Router(ev)
		if rl.Orderer != nil {
			rl.Orderer(ev)
		}
	}
	return ev, unverified, reason, Released
}

// eventID derives a released event's ID from its quarantined request's:
// the same ULID (so the same time), "evt_" instead of "qrn_".
func eventID(qid string) string {
	return "evt_" + strings.TrimPrefix(qid, "qrn_")
}

// releaseURL is the URL to verify: the kept one, unless the source now has
// a public_url (perhaps fixed since), which then takes the kept query.
func releaseURL(src *ingest.Source, kept string) string {
	if src.PublicURL == "" || strings.HasPrefix(kept, src.PublicURL) {
		return kept
	}
	u, err := url.Parse(kept)
	if err != nil || u.RawQuery == "" {
		return src.PublicURL
	}
	if strings.Contains(src.PublicURL, "?") {
		return src.PublicURL + "&" + u.RawQuery
	}
	return src.PublicURL + "?" + u.RawQuery
}

// unseal returns a copy of h in which each sealed token header value
// (hookwatch.SealHeaders) that is the seal of one of the current secrets is
// that secret again, so the scheme verifies the request as it came. A
// value that matches none stays sealed, and fails verification as a wrong
// token would.
func unseal(h http.Header, key []byte, secrets []string) http.Header {
	out := h.Clone()
	for k, vs := range out {
		if !hookwatch.IsSecretHeader(k) {
			continue
		}
		for i, v := range vs {
			if !hookwatch.IsSeal(v) {
				continue
			}
			for _, s := range secrets {
				if hookwatch.SealMatches(key, v, s) {
					vs[i] = s
					break
				}
			}
		}
	}
	return out
}

// redactedCredential returns the name of a credential header that was
// redacted when q was kept (by a version before the installation key, or
// a receive path without one): a scheme that compares it with its secret
// (GitLab) cannot verify q.
func redactedCredential(q *hookwatch.Quarantined) (string, bool) {
	for k, v := range q.Headers {
		if hookwatch.IsSecretHeader(k) && len(v) == 1 && v[0] == hookwatch.Redacted {
			return k, true
		}
	}
	return "", false
}
