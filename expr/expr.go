// Package expr owns Hookwatch's expression language: CEL
// (github.com/google/cel-go) over one event. Route filters, ordering keys and
// the dashboard's search by content all compile through it, so an expression
// means the same thing everywhere.
//
// An expression sees five variables:
//
//	body               the body parsed as JSON (dyn), or null when it is not JSON
//	headers            map(string, string): lower-cased header names, first value
//	source             string: the configured source name
//	type               string: the provider's event type ("" when unknown)
//	provider_event_id  string: the provider's event ID ("" when none)
//
// JSON numbers that are integers (and fit in 64 bits) are CEL ints, other
// numbers doubles, so body.amount_paid > 10000 and a key of body.id both
// work. Comparisons across int and double work; arithmetic does not mix them
// (write double(body.count) * 1.5).
//
// Restrictions, checked when an expression compiles: at most MaxLength
// bytes, nesting at most MaxNesting deep, comprehensions (all, exists, map,
// filter) nested at most MaxComprehensionNesting deep, regular expressions
// given as literals must compile. At run time an expression with a
// comprehension, or a call whose output may outgrow its input (split,
// replace, join...), stops with an error once it has spent CostLimit units
// of CEL's cost model (about one per operation, more for string and list
// work in proportion to their size), so no expression, however written,
// can burn CPU or memory on a large body. Other expressions (comparisons,
// selections, startsWith, matches...: the functions in linear) cost at most
// their length times the body's size and run without that accounting.
//
// Enabled beyond standard CEL: optional types (body.?data.?object.orValue(...),
// headers[?"x-github-event"]) and the strings extension (lowerAscii, split,
// replace, ...).
package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"

	hookwatch "github.com/hookwatch/hookwatch"
)

// Limits on what an expression may be and spend.
const (
	// MaxLength is the longest expression accepted, in bytes.
	MaxLength = 4096
	// MaxNesting is how deeply an expression may nest (parentheses, calls,
	// selections).
	MaxNesting = 32
	// MaxComprehensionNesting is how deeply all/exists/map/filter may nest.
	MaxComprehensionNesting = 2
	// CostLimit is the most one evaluation may spend in CEL's cost units.
	// A filter over a typical payload spends tens; iterating a list of
	// 10,000 items with a simple predicate spends under 100,000.
	CostLimit = 1_000_000
)

var (
	envOnce sync.Once
	env     *cel.Env
	envErr  error
)

func environment() (*cel.Env, error) {
	envOnce.Do(func() {
		env, envErr = cel.NewEnv(
			cel.Variable("body", cel.DynType),
			cel.Variable("headers", cel.MapType(cel.StringType, cel.StringType)),
			cel.Variable("source", cel.StringType),
			cel.Variable("type", cel.StringType),
			cel.Variable("provider_event_id", cel.StringType),
			cel.CrossTypeNumericComparisons(true),
			cel.OptionalTypes(),
			ext.Strings(),
			cel.ParserRecursionLimit(MaxNesting),
			cel.ParserExpressionSizeLimit(MaxLength),
			cel.ASTValidators(
				cel.ValidateComprehensionNestingLimit(MaxComprehensionNesting),
				cel.ValidateRegexLiterals(),
			),
		)
	})
	return env, envErr
}

// Kind is what an expression must produce, checked when it compiles.
type Kind int

const (
	// Any accepts an expression of any type (Eval).
	Any Kind = iota
	// Bool requires a bool: a filter (Match).
	Bool
	// Key requires a string or an int, or a dyn (a body field) that is one
	// at run time: an ordering key (String).
	Key
)

// Program is a compiled, type-checked expression, safe for concurrent use.
type Program struct {
	src  string
	kind Kind
	prg  cel.Program
	out  *cel.Type
	// fast is the filter's fast path (shape.go), nil when its shape is
	// not one the fast path knows.
	fast shapeFn
}

// Issue is one problem found when compiling: where (1-based line and
// column within the expression) and what.
type Issue struct {
	Line, Column int
	Message      string
}

// CompileError is what Compile returns for an expression that does not
// parse or type-check: every issue found, each with its position.
type CompileError struct {
	Issues []Issue
}

func (e *CompileError) Error() string {
	var b strings.Builder
	for i, is := range e.Issues {
		if i > 0 {
			b.WriteString("; ")
		}
		if is.Line > 1 {
			fmt.Fprintf(&b, "line %d ", is.Line)
		}
		fmt.Fprintf(&b, "column %d: %s", is.Column, is.Message)
	}
	return b.String()
}

// Compile parses and type-checks src as an expression of any type.
// The error is a *CompileError naming each problem's column.
func Compile(src string) (*Program, error) { return CompileKind(src, Any) }

// CompileFilter compiles src as a filter: it must be of type bool
// (body.livemode alone is dyn; write body.livemode == true).
func CompileFilter(src string) (*Program, error) { return CompileKind(src, Bool) }

// CompileKey compiles src as a key: of type string or int, or dyn.
func CompileKey(src string) (*Program, error) { return CompileKind(src, Key) }

// CompileKind compiles src and checks that its type suits kind.
func CompileKind(src string, kind Kind) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &CompileError{Issues: []Issue{{Line: 1, Column: 1, Message: "empty expression"}}}
	}
	if len(src) > MaxLength {
		return nil, &CompileError{Issues: []Issue{{Line: 1, Column: MaxLength + 1,
			Message: fmt.Sprintf("expression is %d bytes, longer than the limit of %d", len(src), MaxLength)}}}
	}
	e, err := environment()
	if err != nil {
		return nil, fmt.Errorf("expr: environment: %w", err)
	}
	ast, iss := e.Compile(src)
	if iss != nil && iss.Err() != nil {
		ce := &CompileError{}
		for _, ie := range iss.Errors() {
			ce.Issues = append(ce.Issues, Issue{
				Line:    max(ie.Location.Line(), 1),
				Column:  max(ie.Location.Column()+1, 1),
				Message: strings.TrimSuffix(ie.Message, " (in container '')"),
			})
		}
		if len(ce.Issues) == 0 {
			ce.Issues = []Issue{{Line: 1, Column: 1, Message: iss.Err().Error()}}
		}
		return nil, ce
	}
	out := ast.OutputType()
	switch kind {
	case Bool:
		if !out.IsExactType(cel.BoolType) {
			hint := ""
			if out.IsExactType(cel.DynType) {
				hint = " (a body field is dyn: compare it, e.g. body.livemode == true)"
			}
			return nil, &CompileError{Issues: []Issue{{Line: 1, Column: 1,
				Message: fmt.Sprintf("a filter must be a bool expression, this one is %s%s", typeName(out), hint)}}}
		}
	case Key:
		if !out.IsExactType(cel.StringType) && !out.IsExactType(cel.IntType) &&
			!out.IsExactType(cel.UintType) && !out.IsExactType(cel.DynType) {
			return nil, &CompileError{Issues: []Issue{{Line: 1, Column: 1,
				Message: fmt.Sprintf("a key must be a string or an int, this one is %s", typeName(out))}}}
		}
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if needsCostLimit(ast) {
		opts = append(opts, cel.CostLimit(CostLimit))
	}
	prg, err := e.Program(ast, opts...)
	if err != nil {
		// OptOptimize folds constants and compiles regexes: a constant
		// expression that fails (1/0, a bad regex) fails here.
		return nil, &CompileError{Issues: []Issue{{Line: 1, Column: 1, Message: err.Error()}}}
	}
	p := &Program{src: src, kind: kind, prg: prg, out: out}
	if kind == Bool {
		p.fast = compileShape(ast.NativeRep().Expr())
	}
	return p, nil
}

// linear are the functions whose work is at most linear in their
// arguments' sizes and whose result is no larger than their inputs
// together: an expression calling only these, without comprehensions,
// costs at most its length times the body's size, so it runs without
// CEL's cost tracking (which took about 40% of a simple filter's time).
// Anything else (all, exists, map, filter, split, replace, join...) runs
// under the cost limit.
var linear = map[string]bool{
	"_==_": true, "_!=_": true, "_<_": true, "_<=_": true, "_>_": true, "_>=_": true,
	"_&&_": true, "_||_": true, "!_": true, "_?_:_": true, "@in": true, "@not_strictly_false": true,
	"_[_]": true, "_[?_]": true, "_?._": true, "orValue": true, "hasValue": true, "value": true, "optional.of": true, "optional.none": true, "optional.ofNonZeroValue": true,
	"_+_": true, "_-_": true, "_*_": true, "_/_": true, "_%_": true, "-_": true,
	"size": true, "startsWith": true, "endsWith": true, "contains": true, "matches": true,
	"int": true, "uint": true, "double": true, "string": true, "bool": true, "dyn": true, "type": true,
	"lowerAscii": true, "upperAscii": true, "trim": true, "indexOf": true, "lastIndexOf": true, "charAt": true, "substring": true,
}

// needsCostLimit reports whether the program must run under CostLimit:
// it has a comprehension or calls a function not in linear.
func needsCostLimit(a *cel.Ast) bool {
	root := celast.NavigateAST(a.NativeRep())
	if len(celast.MatchDescendants(root, celast.KindMatcher(celast.ComprehensionKind))) > 0 {
		return true
	}
	for _, c := range celast.MatchDescendants(root, celast.KindMatcher(celast.CallKind)) {
		if !linear[c.AsCall().FunctionName()] {
			return true
		}
	}
	return false
}

func typeName(t *cel.Type) string {
	if t == nil {
		return "unknown"
	}
	return t.String()
}

// Source is the expression as written.
func (p *Program) Source() string { return p.src }

// Eval evaluates the program over one event. An error (a missing field, a
// wrong type at run time, the cost limit) says what went wrong in CEL's
// words.
func (p *Program) Eval(in *Input) (ref.Val, error) {
	out, _, err := p.prg.Eval(in)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Match evaluates a filter: true when the event passes. An error means
// the filter could not decide (a missing field...); callers treat that as
// no match and record the error.
func (p *Program) Match(in *Input) (bool, error) {
	if p.fast != nil {
		switch p.fast(in) {
		case triTrue:
			return true, nil
		case triFalse:
			return false, nil
		}
		// An error, or beyond the fast path: CEL decides and says why.
	}
	return p.matchCEL(in)
}

// matchCEL is Match on the CEL program alone.
func (p *Program) matchCEL(in *Input) (bool, error) {
	out, err := p.Eval(in)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("result is %s, not bool", out.Type().(ref.Type).TypeName())
	}
	return bool(b), nil
}

// String evaluates a key: a string as is, an int (or an integral double)
// in decimal. Any other result (null, a map, a fraction) is an error.
func (p *Program) String(in *Input) (string, error) {
	out, err := p.Eval(in)
	if err != nil {
		return "", err
	}
	switch v := out.(type) {
	case types.String:
		return string(v), nil
	case types.Int:
		return strconv.FormatInt(int64(v), 10), nil
	case types.Uint:
		return strconv.FormatUint(uint64(v), 10), nil
	case types.Double:
		f := float64(v)
		if f == math.Trunc(f) && math.Abs(f) < 1e18 {
			return strconv.FormatInt(int64(f), 10), nil
		}
		return "", fmt.Errorf("result %v is not a whole number", f)
	case types.Null:
		return "", errors.New("result is null")
	}
	return "", fmt.Errorf("result is %s, not a string or an int", out.Type().(ref.Type).TypeName())
}

// Input is what an expression sees of one event. Build it once per event
// (NewInput) and evaluate every program over it: the body is parsed and
// the headers lower-cased once, on first use, and only when an expression
// reads them. An Input may be shared by goroutines.
type Input struct {
	Headers         http.Header
	Body            []byte
	Source          string
	Type            string
	ProviderEventID string

	bodyOnce sync.Once
	body     any
	hdrOnce  sync.Once
	hdrs     map[string]string
	// valid is jsonValid(Body), for the fast path's lookups.
	validOnce sync.Once
	valid     validity
	memoMu    sync.Mutex
	memo      map[string]memoVal
}

// NewInput is the input for an event (its headers, body, source, type and
// provider event ID; none is copied, so the event must not change while the
// input is in use).
func NewInput(ev *hookwatch.Event) *Input {
	return &Input{
		Headers:         ev.Headers,
		Body:            ev.Body,
		Source:          ev.Source,
		Type:            ev.Type,
		ProviderEventID: ev.ProviderEventID,
	}
}

// ResolveName implements interpreter.Activation.
func (in *Input) ResolveName(name string) (any, bool) {
	switch name {
	case "body":
		in.bodyOnce.Do(func() { in.body = ParseJSON(in.Body) })
		if in.body == nil {
			return types.NullValue, true
		}
		return in.body, true
	case "headers":
		return in.headerMap(), true
	case "source":
		return in.Source, true
	case "type":
		return in.Type, true
	case "provider_event_id":
		return in.ProviderEventID, true
	}
	return nil, false
}

// headerMap is headers: lower-cased names, first value, built once.
func (in *Input) headerMap() map[string]string {
	in.hdrOnce.Do(func() {
		in.hdrs = make(map[string]string, len(in.Headers))
		for k, vs := range in.Headers {
			if len(vs) == 0 {
				continue
			}
			lk := strings.ToLower(k)
			if _, dup := in.hdrs[lk]; !dup {
				in.hdrs[lk] = vs[0]
			}
		}
	})
	return in.hdrs
}

// Parent implements interpreter.Activation.
func (in *Input) Parent() interpreter.Activation { return nil }

// ParseJSON parses a body as expressions see it: objects as
// map[string]any, arrays as []any, integers that fit in 64 bits as int64,
// other numbers as float64. It returns nil when the body is not one JSON
// value.
func ParseJSON(b []byte) any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil
	}
	if _, err := d.Token(); err != io.EOF {
		return nil // trailing data: not one JSON value
	}
	return numbers(v)
}

func numbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}
