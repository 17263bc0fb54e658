package deliver

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/transform"
)

// DefaultTransformPoll is how often the engine looks at a destination's
// transform file for a change (its modification time and size; the
// content's hash decides).
const DefaultTransformPoll = 2 * time.Second

// outgoing is the request an attempt sends.
type outgoing struct {
	url    string
	header http.Header
	body   []byte
	// transform is the hash of the transform that made it ("" for none).
	transform string
}

// newRequest builds the attempt's request — the stored event as it is, or
// through the destination's transform — and records on a what it sends.
func (e *Engine) newRequest(ctx context.Context, d *dest, dl *hookwatch.Delivery, now time.Time, a *hookwatch.Attempt) (*http.Request, error) {
	o, err := build(ctx, d, dl, now, e.opts.UserAgent)
	a.Transform = o.transform
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(o.body))
	if err != nil {
		return nil, err
	}
	req.Header = o.header
	sum := sha256.Sum256(o.body)
	a.SentHash = "sha256:" + hex.EncodeToString(sum[:])
	if o.transform != "" {
		a.Sent = sentRecord(d, o)
	}
	return req, nil
}

// buildClass is the class of an attempt whose request could not be built.
func buildClass(err error) hookwatch.ErrorClass {
	var te *transform.Error
	if errors.As(err, &te) {
		return hookwatch.ClassTransform
	}
	return hookwatch.ClassUnknown
}

// build makes the request for dl: without a transform, the stored body and
// headers (headers); with one, the transform's request, then the
// destination's own headers and the Standard Webhooks headers signing the
// transformed body. The error is a *transform.Error for anything the
// transform did.
func build(ctx context.Context, d *dest, dl *hookwatch.Delivery, now time.Time, userAgent string) (outgoing, error) {
	ev := dl.Event
	o := outgoing{url: d.cfg.URL, header: make(http.Header, 12)}
	baseHeaders(d, o.header, ev)
	if d.cfg.Transform == nil {
		o.body = ev.Body
		finalHeaders(d, o.header, ev, dl, now, ev.Body, true, userAgent)
		return o, nil
	}
	p := d.cfg.Transform.Current()
	o.transform = p.Hash()
	body, err := decoded(ev, p.Limits().MaxOutput)
	if err != nil {
		return o, &transform.Error{Message: "transform " + p.Name() + ": " + err.Error()}
	}
	u, err := url.Parse(d.cfg.URL)
	if err != nil {
		return o, err
	}
	in := transform.Request{Headers: make(map[string]string, len(o.header)), Body: body, Path: u.EscapedPath(), Query: u.RawQuery}
	for k, vs := range o.header {
		in.Headers[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	out, err := p.Run(ctx, in, transform.Context{EventID: ev.ID, ProviderEventID: ev.ProviderEventID, Source: ev.Source,
		Type: ev.Type, ReceivedAt: ev.ReceivedAt, Destination: d.cfg.Name, DeliveryID: dl.ID, Attempt: dl.Attempts + 1,
		Headers: firstValues(ev.Headers)})
	if err != nil {
		return o, err
	}
	if out.Path != in.Path {
		pu, err := url.Parse(out.Path)
		if err != nil {
			return o, &transform.Error{Message: fmt.Sprintf("transform %s: request.path %q: %v", p.Name(), out.Path, err)}
		}
		u.Path, u.RawPath = pu.Path, pu.RawPath
	}
	u.RawQuery = out.Query
	o.url, o.body, o.header = u.String(), out.Body, out.Header()
	finalHeaders(d, o.header, ev, dl, now, out.Body, false, userAgent)
	return o, nil
}

// decoded is the event's body as a transform sees it: gzip is undone (up
// to limit bytes; the transformed body is sent uncompressed), any other
// Content-Encoding is refused.
func decoded(ev *hookwatch.Event, limit int) ([]byte, error) {
	switch ce := strings.ToLower(strings.TrimSpace(ev.Headers.Get("Content-Encoding"))); ce {
	case "", "identity":
		return ev.Body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(ev.Body))
		if err != nil {
			return nil, fmt.Errorf("the body is not valid gzip: %v", err)
		}
		b, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
		if err != nil {
			return nil, fmt.Errorf("the body is not valid gzip: %v", err)
		}
		if len(b) > limit {
			return nil, fmt.Errorf("the decompressed body is over the output limit of %d bytes", limit)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("cannot transform a body with Content-Encoding %q (only gzip is decoded)", ce)
	}
}

func firstValues(h http.Header) map[string]string {
	m := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) > 0 {
			m[strings.ToLower(k)] = vs[0]
		}
	}
	return m
}

// sentRecord is what the attempt keeps of a transformed request: the URL
// and headers redacted (credential headers, every header the destination's
// config adds, whose values may be credentials, the URL's secrets) and
// the first MaxSentBody bytes of the body.
func sentRecord(d *dest, o outgoing) *hookwatch.SentRequest {
	h := hookwatch.RedactHeaders(o.header, false)
	for k := range d.cfg.Headers {
		if _, ok := h[http.CanonicalHeaderKey(k)]; ok {
			h[http.CanonicalHeaderKey(k)] = []string{hookwatch.Redacted}
		}
	}
	body := o.body[:min(len(o.body), hookwatch.MaxSentBody)]
	return &hookwatch.SentRequest{URL: hookwatch.RedactURL(o.url), Headers: h, Body: append([]byte{}, body...), BodySize: len(o.body)}
}

// transformFailed decides what a transform_error does to its delivery:
// it waits, uncounted, until the transform changes (watchTransform makes
// it due) or its policy's max age since it was queued, when it is tried
// one last time and dead-lettered if that fails too.
func transformFailed(d *dest, dl *hookwatch.Delivery, now time.Time) (hookwatch.Outcome, time.Time, bool) {
	deadline := dl.QueuedAt.Add(d.cfg.Retry.MaxAge)
	if dl.QueuedAt.IsZero() || !now.Before(deadline) {
		return hookwatch.OutcomeDead, time.Time{}, false
	}
	return hookwatch.OutcomeRetry, deadline, true
}

// watchTransform follows d's transform file until the engine closes: at
// start and whenever the file's content changes (and compiles), the
// deliveries that failed under another version are due again at once.
// A version that does not compile is logged and the one in force stays.
func (e *Engine) watchTransform(d *dest) {
	defer e.running.Done()
	f := d.cfg.Transform
	e.retryTransformFailures(d, f.Current())
	tick := time.NewTicker(e.opts.TransformPoll)
	defer tick.Stop()
	lastErr := ""
	for {
		select {
		case <-e.quit:
			return
		case <-tick.C:
		}
		changed, err := f.Reload()
		if err != nil {
			if msg := err.Error(); msg != lastErr {
				e.opts.Logger.Error("deliver: transform file changed but does not load; the previous version stays in force",
					"destination", d.cfg.Name, "error", err)
				lastErr = msg
			}
			continue
		}
		lastErr = ""
		if changed {
			p := f.Current()
			e.opts.Logger.Info("deliver: transform reloaded", "destination", d.cfg.Name, "file", f.Path(), "hash", p.Hash())
			e.retryTransformFailures(d, p)
		}
	}
}

func (e *Engine) retryTransformFailures(d *dest, p *transform.Program) {
	ctx, cancel := context.WithTimeout(e.hardCtx, 30*time.Second)
	defer cancel()
	n, err := e.opts.Store.RetryTransformFailures(ctx, d.cfg.Name, p.Hash(), e.opts.Clock.Now())
	if err != nil {
		e.opts.Logger.Error("deliver: making transform failures due again failed; a replay sends them",
			"destination", d.cfg.Name, "error", err)
		return
	}
	if n > 0 {
		e.opts.Logger.Info("deliver: transform changed: retrying the deliveries it failed", "destination", d.cfg.Name, "deliveries", n)
		d.poke()
	}
}

// Preview is the request the engine would send for ev to dst at now,
// through dst's transform, without sending it (hookwatch transform test).
// The error is a *transform.Error when the transform fails.
func Preview(ctx context.Context, dst Destination, ev *hookwatch.Event, now time.Time) (*http.Request, []byte, error) {
	d := &dest{cfg: dst}
	if dst.Secret != "" {
		key, err := ParseSecret(dst.Secret)
		if err != nil {
			return nil, nil, fmt.Errorf("destination %s: %w", dst.Name, err)
		}
		d.key = key
	}
	dl := &hookwatch.Delivery{ID: "dlv_preview", EventID: ev.ID, Destination: dst.Name, Event: ev}
	o, err := build(ctx, d, dl, now, "Hookwatch/"+hookwatch.Version)
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(o.body))
	if err != nil {
		return nil, nil, err
	}
	req.Header = o.header
	return req, o.body, nil
}
