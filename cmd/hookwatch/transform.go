package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/deliver"
)

func runTransformTest(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "transform test", `Runs a destination's transform on a stored event (--event) or a payload
file (--file) and prints the request Hookwatch would send: method, URL, headers
(credentials redacted) and body. Nothing is sent and nothing is stored.

Examples:
  hookwatch transform test --destination app --event evt_01JD...
  hookwatch transform test --destination app --file examples/stripe-invoice.json --type invoice.paid`)
	path := configFlag(fs, "")
	destName := fs.String("destination", "", "destination name from the config (required)")
	eventID := fs.String("event", "", "a stored event's ID (evt_...)")
	file := fs.String("file", "", "payload file to transform instead of a stored event; - reads standard input")
	source := fs.String("source", "test", "with --file: the source the transform sees")
	typ := fs.String("type", "", "with --file: the event type the transform sees")
	contentType := fs.String("content-type", "application/json", "with --file: the payload's content type")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *destName == "" || (*eventID == "") == (*file == "") {
		return hookwatch.Errorf(hookwatch.EINVALID, "transform test: give --destination and one of --event or --file (see --help)")
	}
	cfg, err := loadConfig(env, *path)
	if err != nil {
		return err
	}
	dests := destinations(cfg)
	var dst *deliver.Destination
	for i := range dests {
		if dests[i].Name == *destName {
			dst = &dests[i]
		}
	}
	if dst == nil {
		return hookwatch.Errorf(hookwatch.EINVALID, "transform test: no destination %q in the config (destinations: %s)", *destName, strings.Join(destinationNames(cfg), ", "))
	}
	if err := withTransforms(cfg, dests); err != nil {
		return err
	}
	if dst.Transform == nil {
		fmt.Fprintf(env.Stderr, "destination %s has no transform: the request is the stored event as it is\n", dst.Name)
	}
	now := time.Now().UTC()
	var ev *hookwatch.Event
	if *eventID != "" {
		store, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer store.Close()
		if ev, err = store.GetEvent(ctx, *eventID); err != nil {
			return err
		}
	} else {
		var body []byte
		if *file == "-" {
			body, err = readAllLimited(os.Stdin)
		} else {
			body, err = os.ReadFile(*file)
		}
		if err != nil {
			return hookwatch.Errorf(hookwatch.EINVALID, "transform test: read %s: %v", *file, err)
		}
		ev = &hookwatch.Event{ID: hookwatch.NewID("evt", now), Source: *source, Type: *typ, ReceivedAt: now,
			Headers: http.Header{"Content-Type": {*contentType}}, Body: body}
	}
	req, body, err := deliver.Preview(ctx, *dst, ev, now)
	if err != nil {
		return fmt.Errorf("%s: %w", hookwatch.ClassTransform, err)
	}
	h := hookwatch.RedactHeaders(req.Header, false)
	for k := range dst.Headers {
		if _, ok := h[http.CanonicalHeaderKey(k)]; ok {
			h[http.CanonicalHeaderKey(k)] = []string{hookwatch.Redacted}
		}
	}
	fmt.Fprintf(env.Stdout, "%s %s\n", req.Method, hookwatch.RedactURL(req.URL.String()))
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(env.Stdout, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(env.Stdout)
	text, enc := hookwatch.TextOrHex(body)
	if enc != "" {
		fmt.Fprintf(env.Stdout, "(%d bytes, shown as %s)\n", len(body), enc)
	}
	fmt.Fprintln(env.Stdout, text)
	return nil
}

// readAllLimited reads standard input up to 16 MiB.
func readAllLimited(r io.Reader) ([]byte, error) {
	const limit = 16 << 20
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && len(b) > limit {
		err = fmt.Errorf("more than %d bytes", limit)
	}
	return b, err
}
