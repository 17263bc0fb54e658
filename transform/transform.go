// Package transform runs a destination's JavaScript transformation: a file
// in the handler shape of Hookdeck's transformations,
//
//	addHandler("transform", (request, context) => { ...; return request })
//
// that reshapes the request Hookwatch is about to send (headers, body, path,
// query) at delivery time. It runs on goja, a JavaScript engine in pure Go,
// in a sandbox: every call gets a fresh runtime (nothing a transform sets is
// kept for the next call), the runtime has only the ECMAScript built-ins (no
// require, no timers, no console, no I/O of any kind), and a call is
// interrupted at its time limit and refused past its output limit.
//
// goja cannot cap a runtime's heap: what bounds a call's memory is its
// input (the event's body, bounded by the source's max_body), its call
// stack (MaxCallStack frames) and the time limit, within which a loop can
// still allocate (tens of megabytes in 50 ms). See docs/transformations.md.
package transform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/hookwatch/hookwatch"
)

// Defaults of Limits.
const (
	DefaultTimeout   = hookwatch.DefaultTransformTimeout
	DefaultMaxOutput = 1 << 20
	// MaxCallStack bounds recursion (goja counts frames).
	MaxCallStack = 512
	// MaxSource is the largest transform file Load reads.
	MaxSource = 1 << 20
)

// Limits bound one call of a transform.
type Limits struct {
	// Timeout bounds a call, from the file's top level to the handler's
	// return and the body's serialisation; default DefaultTimeout.
	Timeout time.Duration
	// MaxOutput bounds the transformed request: body plus header names and
	// values, in bytes; default DefaultMaxOutput.
	MaxOutput int
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxOutput <= 0 {
		l.MaxOutput = DefaultMaxOutput
	}
	return l
}

// Request is what the transform receives and returns: the request
// Hookwatch is about to send.
type Request struct {
	// Headers by lower-cased name, one value each.
	Headers map[string]string
	// Body is the body's bytes. The transform sees it parsed when it is
	// JSON, else as a string; what it returns is serialised back (a string
	// as it is, anything else as JSON).
	Body []byte
	// Path is the destination URL's path; Query its raw query string.
	Path  string
	Query string
}

// Context is what the transform knows about the event, read-only.
type Context struct {
	EventID         string
	ProviderEventID string
	Source          string
	Type            string
	ReceivedAt      time.Time
	Destination     string
	DeliveryID      string
	// Attempt numbers this attempt from 1.
	Attempt int
	// Headers are the provider's original request headers (lower-cased,
	// first value), as stored: credential headers are not among them.
	Headers map[string]string
}

// Error is a transform's failure: it threw, timed out, returned something
// that is not a request, or exceeded a limit. Its message says which, with
// the file and line where goja knows them.
type Error struct {
	Message string
	// Timeout is set when the call was interrupted at its time limit.
	Timeout bool
}

func (e *Error) Error() string { return e.Message }

// Program is one compiled transform file.
type Program struct {
	name   string
	hash   string
	prog   *goja.Program
	limits Limits
}

// Compile compiles src, the transform named name (its file name, shown in
// errors with the line), and checks that it calls addHandler("transform",
// ...) at its top level by running it once on an empty request.
func Compile(name string, src []byte, l Limits) (*Program, error) {
	prog, err := goja.Compile(name, string(src), false)
	if err != nil {
		return nil, fmt.Errorf("transform %s: %s", name, syntaxMessage(err))
	}
	sum := sha256.Sum256(src)
	p := &Program{name: name, hash: "sha256:" + hex.EncodeToString(sum[:]), prog: prog, limits: l.withDefaults()}
	_, handler, err := p.load(context.Background(), p.limits.Timeout)
	if err != nil {
		return nil, err
	}
	if handler == nil {
		return nil, fmt.Errorf(`transform %s: the file does not call addHandler("transform", (request, context) => { ...; return request })`, name)
	}
	return p, nil
}

func syntaxMessage(err error) string {
	msg := err.Error()
	// goja's parser reports "name: Line 3:7 Unexpected token ..."; keep it.
	return strings.TrimSpace(msg)
}

// Name is the transform's file name as given to Compile.
func (p *Program) Name() string { return p.name }

// Hash identifies the transform's source: "sha256:" and its hex SHA-256.
// A delivery failed by a transform is retried when the hash changes.
func (p *Program) Hash() string { return p.hash }

// Limits returns the program's limits with defaults applied.
func (p *Program) Limits() Limits { return p.limits }

var errTimeout = errors.New("time limit")

// load runs the file's top level on a fresh runtime and returns the
// handler it registered.
func (p *Program) load(ctx context.Context, limit time.Duration) (vm *goja.Runtime, handler goja.Callable, err error) {
	vm = goja.New()
	vm.SetMaxCallStackSize(MaxCallStack)
	var reg goja.Callable
	regErr := ""
	if err := vm.Set("addHandler", func(call goja.FunctionCall) goja.Value {
		name := call.Argument(0).String()
		fn, ok := goja.AssertFunction(call.Argument(1))
		switch {
		case name != "transform":
			regErr = fmt.Sprintf("addHandler(%q, ...): only \"transform\" handlers exist", name)
		case !ok:
			regErr = `addHandler("transform", fn): fn must be a function (request, context) => request`
		default:
			reg = fn
		}
		return goja.Undefined()
	}); err != nil {
		return nil, nil, err
	}
	stop := p.arm(ctx, vm, limit)
	_, err = vm.RunProgram(p.prog)
	stop()
	if err != nil {
		return nil, nil, p.fail(err)
	}
	if regErr != "" {
		return nil, nil, &Error{Message: "transform " + p.name + ": " + regErr}
	}
	return vm, reg, nil
}

// arm interrupts vm at the time limit or when ctx ends; the func it
// returns disarms it. An interrupt that fires while disarming is cleared:
// mu orders the two, so no stale interrupt reaches the next call on vm.
func (p *Program) arm(ctx context.Context, vm *goja.Runtime, limit time.Duration) func() {
	var (
		mu   sync.Mutex
		done bool
	)
	interrupt := func(v any) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			vm.Interrupt(v)
		}
	}
	t := time.AfterFunc(limit, func() { interrupt(errTimeout) })
	stopCtx := context.AfterFunc(ctx, func() { interrupt(ctx.Err()) })
	return func() {
		t.Stop()
		stopCtx()
		mu.Lock()
		done = true
		mu.Unlock()
		vm.ClearInterrupt()
	}
}

func (p *Program) fail(err error) error {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if v, _ := ie.Value().(error); v == errTimeout {
			return &Error{Message: fmt.Sprintf("transform %s: interrupted at the time limit (%s, then %s on a second try): look for a loop that does not end", p.name, p.limits.Timeout, 4*p.limits.Timeout), Timeout: true}
		}
		return &Error{Message: fmt.Sprintf("transform %s: interrupted: %v", p.name, ie.Value())}
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return &Error{Message: "transform " + p.name + " threw: " + strings.TrimSpace(ex.Error())}
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return &Error{Message: fmt.Sprintf("transform %s: more than %d nested calls (infinite recursion?)", p.name, MaxCallStack)}
	}
	return &Error{Message: "transform " + p.name + ": " + err.Error()}
}

// Run applies the transform to in. Every call runs on a fresh runtime.
// The error is an *Error for anything the transform did; in is unchanged.
//
// The time limit is wall time, which a stalled host (an overloaded CPU, a
// long GC) also spends: a call interrupted at the limit runs once more
// with four times the limit before it fails, so that a slow moment does
// not fail a delivery until the file changes. A loop that does not end
// costs five times the limit.
func (p *Program) Run(ctx context.Context, in Request, c Context) (Request, error) {
	out, err := p.run(ctx, in, c, p.limits.Timeout)
	var te *Error
	if errors.As(err, &te) && te.Timeout && ctx.Err() == nil {
		out, err = p.run(ctx, in, c, 4*p.limits.Timeout)
	}
	return out, err
}

func (p *Program) run(ctx context.Context, in Request, c Context, limit time.Duration) (Request, error) {
	start := time.Now()
	vm, handler, err := p.load(ctx, limit)
	if err != nil {
		return Request{}, err
	}
	if handler == nil {
		return Request{}, &Error{Message: "transform " + p.name + `: addHandler("transform", ...) was not called`}
	}
	// The top level's time counts too: one limit for the whole call.
	stop := p.arm(ctx, vm, max(limit-time.Since(start), time.Millisecond))
	defer stop()
	req, err := p.request(vm, in)
	if err != nil {
		return Request{}, p.fail(err)
	}
	out, err := handler(goja.Undefined(), req, p.context(vm, c))
	if err != nil {
		return Request{}, p.fail(err)
	}
	res, err := p.result(vm, out, in)
	if err != nil {
		var te *Error
		if errors.As(err, &te) {
			return Request{}, err
		}
		return Request{}, p.fail(err)
	}
	return res, nil
}

func (p *Program) request(vm *goja.Runtime, in Request) (goja.Value, error) {
	o := vm.NewObject()
	h := vm.NewObject()
	for k, v := range in.Headers {
		if err := h.Set(strings.ToLower(k), v); err != nil {
			return nil, err
		}
	}
	var body goja.Value = vm.ToValue(string(in.Body))
	if len(in.Body) > 0 && json.Valid(in.Body) {
		parse, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
		v, err := parse(goja.Undefined(), body)
		if err != nil {
			return nil, err
		}
		body = v
	}
	pq := vm.NewObject()
	if q, err := url.ParseQuery(in.Query); err == nil {
		for k, vs := range q {
			if len(vs) == 1 {
				_ = pq.Set(k, vs[0])
			} else {
				_ = pq.Set(k, vs)
			}
		}
	}
	for _, kv := range []struct {
		k string
		v any
	}{{"headers", h}, {"body", body}, {"path", in.Path}, {"query", in.Query}, {"parsed_query", pq}} {
		if err := o.Set(kv.k, kv.v); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func (p *Program) context(vm *goja.Runtime, c Context) goja.Value {
	o := vm.NewObject()
	h := vm.NewObject()
	for k, v := range c.Headers {
		_ = h.Set(strings.ToLower(k), v)
	}
	_ = o.Set("event_id", c.EventID)
	_ = o.Set("provider_event_id", c.ProviderEventID)
	_ = o.Set("source", c.Source)
	_ = o.Set("type", c.Type)
	_ = o.Set("received_at", c.ReceivedAt.UTC().Format(time.RFC3339Nano))
	_ = o.Set("destination", c.Destination)
	_ = o.Set("delivery_id", c.DeliveryID)
	_ = o.Set("attempt", c.Attempt)
	_ = o.Set("headers", h)
	return o
}

// result reads the handler's return value back into a Request, checking
// it against the output limit.
func (p *Program) result(vm *goja.Runtime, v goja.Value, in Request) (Request, error) {
	bad := func(format string, args ...any) (Request, error) {
		return Request{}, &Error{Message: "transform " + p.name + ": " + fmt.Sprintf(format, args...)}
	}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return bad("the handler returned nothing (undefined or null): return the request (changed or not)")
	}
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() != "Object" {
		return bad("the handler returned %s, not a request object: return the request (changed or not)", v.String())
	}
	out := Request{Headers: map[string]string{}, Path: in.Path, Query: in.Query}
	size := 0
	if hv := o.Get("headers"); hv != nil && !goja.IsUndefined(hv) && !goja.IsNull(hv) {
		ho, ok := hv.(*goja.Object)
		if !ok {
			return bad("request.headers is %s: it must be an object of name: value", hv.String())
		}
		keys := ho.Keys()
		sort.Strings(keys)
		for _, k := range keys {
			val := ho.Get(k)
			if val == nil || goja.IsUndefined(val) || goja.IsNull(val) {
				continue // deleting a header by setting it undefined
			}
			s := val.String()
			if !validHeaderName(k) {
				return bad("header name %q is not a valid HTTP header name", k)
			}
			if strings.ContainsAny(s, "\r\n\x00") {
				return bad("header %q has a line break or NUL in its value", k)
			}
			size += len(k) + len(s)
			if size > p.limits.MaxOutput {
				return bad("the request is over the output limit of %d bytes", p.limits.MaxOutput)
			}
			out.Headers[strings.ToLower(k)] = s
		}
	}
	switch bv := o.Get("body"); {
	case bv == nil || goja.IsUndefined(bv) || goja.IsNull(bv):
		out.Body = []byte{}
	default:
		if s, ok := bv.Export().(string); ok {
			out.Body = []byte(s)
			break
		}
		stringify, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("stringify"))
		sv, err := stringify(goja.Undefined(), bv)
		if err != nil {
			return Request{}, err
		}
		if goja.IsUndefined(sv) {
			return bad("request.body (%s) does not serialise to JSON", bv.String())
		}
		out.Body = []byte(sv.String())
	}
	if size+len(out.Body) > p.limits.MaxOutput {
		return bad("the request is over the output limit of %d bytes (body %d bytes)", p.limits.MaxOutput, len(out.Body))
	}
	if pv := o.Get("path"); pv != nil && !goja.IsUndefined(pv) && !goja.IsNull(pv) {
		out.Path = pv.String()
		if out.Path == in.Path {
			// unchanged: whatever the destination URL has
		} else if !strings.HasPrefix(out.Path, "/") {
			return bad("request.path %q must start with /", out.Path)
		}
		if strings.ContainsAny(out.Path, "?#\r\n ") {
			return bad("request.path %q must not hold ?, #, spaces or line breaks: set request.query for the query", out.Path)
		}
	}
	if qv := o.Get("query"); qv != nil && !goja.IsUndefined(qv) && !goja.IsNull(qv) {
		out.Query = strings.TrimPrefix(qv.String(), "?")
		if strings.ContainsAny(out.Query, "#\r\n ") {
			return bad("request.query %q must not hold #, spaces or line breaks (encode them)", out.Query)
		}
	}
	return out, nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// Header turns a Request's headers into an http.Header.
func (r Request) Header() http.Header {
	h := make(http.Header, len(r.Headers))
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	return h
}

// File is a transform file that can be reloaded when it changes: the
// delivery engine reads Current for every attempt and calls Reload on its
// poll.
type File struct {
	path   string
	limits Limits
	cur    atomic.Pointer[Program]
	// Only Reload's caller touches these (one goroutine).
	mod  time.Time
	size int64
}

// Load reads and compiles the transform at path. The error names the file
// and, for a syntax error, the line and column.
func Load(path string, l Limits) (*File, error) {
	f := &File{path: path, limits: l}
	p, st, err := f.read()
	if err != nil {
		return nil, err
	}
	f.cur.Store(p)
	f.mod, f.size = st.ModTime(), st.Size()
	return f, nil
}

// Path is the file's path as configured.
func (f *File) Path() string { return f.path }

// Current is the program now in force.
func (f *File) Current() *Program { return f.cur.Load() }

func (f *File) read() (*Program, os.FileInfo, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, nil, fmt.Errorf("transform %s: %w", f.path, unwrapPath(err))
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("transform %s: %w", f.path, unwrapPath(err))
	}
	if st.Size() > MaxSource {
		return nil, nil, fmt.Errorf("transform %s: %d bytes, over the limit of %d", f.path, st.Size(), MaxSource)
	}
	src := make([]byte, st.Size())
	if _, err := fh.ReadAt(src, 0); err != nil && st.Size() > 0 {
		return nil, nil, fmt.Errorf("transform %s: %w", f.path, unwrapPath(err))
	}
	p, err := Compile(f.path, src, f.limits)
	if err != nil {
		return nil, nil, err
	}
	return p, st, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Reload reads the file again if its modification time or size changed,
// and switches to it when its content differs and compiles. It reports
// whether the program in force changed; on an error (a syntax error in the
// new version) the previous program stays in force. Call it from one
// goroutine.
func (f *File) Reload() (changed bool, err error) {
	st, err := os.Stat(f.path)
	if err != nil {
		return false, fmt.Errorf("transform %s: %w", f.path, unwrapPath(err))
	}
	if st.ModTime().Equal(f.mod) && st.Size() == f.size {
		return false, nil
	}
	p, st2, err := f.read()
	if err != nil {
		return false, err
	}
	f.mod, f.size = st2.ModTime(), st2.Size()
	if p.Hash() == f.Current().Hash() {
		return false, nil
	}
	f.cur.Store(p)
	return true, nil
}
