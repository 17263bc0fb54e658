package expr

import (
	"strings"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// The filter fast path. Most filters are a handful of comparisons of an
// event field with a literal joined by && and ||; CEL's interpreter spends
// most of their time on the body (decoding it whole into maps) and on its
// own machinery. compileShape recognises, in the checked AST, expressions
// made only of
//
//	operands:  body.a.b (or body["a"]), headers["x"] (or headers.x), type,
//	           source, provider_event_id, literals
//	bool:      operand ==, !=, <, <=, >, >= operand; x in [literals];
//	           x.startsWith/endsWith/contains(literal); has(body.a.b);
//	           &&, ||, !
//
// and evaluates them directly, reading body paths with the lazy lookup of
// json.go. Anything else compiles to nil: the expression runs on CEL alone.
//
// The fast path decides only when it is sure of CEL's answer. Values are
// compared with cel-go's own types (types.Equal, traits.Comparer), so
// heterogeneous equality and int/double comparison are CEL's. Whenever a
// step would be an error in CEL (a missing field, a selection on null, no
// such overload), or is beyond the fast path (a body value that is an object
// or an array), the step yields triErr; && and || absorb it as CEL does
// (false && error is false, true || error is true), and if it reaches the
// top, Match runs the CEL program, which gives the answer and the error's
// exact words.

type tri int8

const (
	triFalse tri = iota
	triTrue
	triErr
)

// shapeFn evaluates a recognised bool expression.
type shapeFn func(in *Input) tri

// operandFn yields an operand's value, or false where CEL would err (or
// the fast path cannot say).
type operandFn func(in *Input) (ref.Val, bool)

func compileShape(e celast.Expr) shapeFn {
	switch e.Kind() {
	case celast.LiteralKind:
		if b, ok := e.AsLiteral().(types.Bool); ok {
			r := triFalse
			if b {
				r = triTrue
			}
			return func(*Input) tri { return r }
		}
		return nil
	case celast.SelectKind:
		sel := e.AsSelect()
		if !sel.IsTestOnly() {
			return nil
		}
		path, ok := bodyPath(sel.Operand())
		if !ok {
			return nil
		}
		field := sel.FieldName()
		return func(in *Input) tri { return in.bodyHas(path, field) }
	case celast.CallKind:
	default:
		return nil
	}
	call := e.AsCall()
	args := call.Args()
	switch fn := call.FunctionName(); fn {
	case "_&&_", "_||_":
		if len(args) != 2 {
			return nil
		}
		l, r := compileShape(args[0]), compileShape(args[1])
		if l == nil || r == nil {
			return nil
		}
		if fn == "_&&_" {
			return func(in *Input) tri {
				a := l(in)
				if a == triFalse {
					return triFalse
				}
				b := r(in)
				if b == triFalse {
					return triFalse
				}
				if a == triTrue && b == triTrue {
					return triTrue
				}
				return triErr
			}
		}
		return func(in *Input) tri {
			a := l(in)
			if a == triTrue {
				return triTrue
			}
			b := r(in)
			if b == triTrue {
				return triTrue
			}
			if a == triFalse && b == triFalse {
				return triFalse
			}
			return triErr
		}
	case "!_":
		if len(args) != 1 {
			return nil
		}
		x := compileShape(args[0])
		if x == nil {
			return nil
		}
		return func(in *Input) tri {
			switch x(in) {
			case triTrue:
				return triFalse
			case triFalse:
				return triTrue
			}
			return triErr
		}
	case "_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_":
		if len(args) != 2 {
			return nil
		}
		l, r := compileOperand(args[0]), compileOperand(args[1])
		if l == nil || r == nil {
			return nil
		}
		cmp := comparison(fn)
		return func(in *Input) tri {
			a, ok := l(in)
			if !ok {
				return triErr
			}
			b, ok := r(in)
			if !ok {
				return triErr
			}
			return cmp(a, b)
		}
	case "@in":
		if len(args) != 2 || args[1].Kind() != celast.ListKind {
			return nil
		}
		x := compileOperand(args[0])
		list := args[1].AsList()
		if x == nil || len(list.OptionalIndices()) > 0 {
			return nil
		}
		var elems []ref.Val
		for _, el := range list.Elements() {
			if el.Kind() != celast.LiteralKind {
				return nil
			}
			elems = append(elems, el.AsLiteral())
		}
		return func(in *Input) tri {
			v, ok := x(in)
			if !ok {
				return triErr
			}
			// baseList.Contains: elem.Equal(each), errors ignored.
			for _, el := range elems {
				if b, ok := v.Equal(el).(types.Bool); ok && b == types.True {
					return triTrue
				}
			}
			return triFalse
		}
	case "startsWith", "endsWith", "contains":
		if !call.IsMemberFunction() || len(args) != 1 || args[0].Kind() != celast.LiteralKind {
			return nil
		}
		lit, ok := args[0].AsLiteral().(types.String)
		if !ok {
			return nil
		}
		x := compileOperand(call.Target())
		if x == nil {
			return nil
		}
		test := strings.HasPrefix
		switch fn {
		case "endsWith":
			test = strings.HasSuffix
		case "contains":
			test = strings.Contains
		}
		return func(in *Input) tri {
			v, ok := x(in)
			if !ok {
				return triErr
			}
			s, ok := v.(types.String)
			if !ok {
				return triErr // no such overload
			}
			if test(string(s), string(lit)) {
				return triTrue
			}
			return triFalse
		}
	}
	return nil
}

func boolTri(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

func isNaN(v ref.Val) bool {
	d, ok := v.(types.Double)
	return ok && d != d
}

// comparison is fn as CEL's standard library defines it over two values.
func comparison(fn string) func(a, b ref.Val) tri {
	switch fn {
	case "_==_", "_!=_":
		want := types.Bool(fn == "_==_")
		return func(a, b ref.Val) tri {
			eq, ok := types.Equal(a, b).(types.Bool)
			if !ok {
				return triErr
			}
			return boolTri(eq == want)
		}
	}
	var pass func(c types.Int) bool
	switch fn {
	case "_<_":
		pass = func(c types.Int) bool { return c < 0 }
	case "_<=_":
		pass = func(c types.Int) bool { return c <= 0 }
	case "_>_":
		pass = func(c types.Int) bool { return c > 0 }
	default: // "_>=_"
		pass = func(c types.Int) bool { return c >= 0 }
	}
	return func(a, b ref.Val) tri {
		ca, ok := a.(traits.Comparer)
		if !ok || !a.Type().HasTrait(traits.ComparerType) {
			return triErr
		}
		if isNaN(a) || isNaN(b) {
			return triFalse
		}
		c, ok := ca.Compare(b).(types.Int)
		if !ok || c < -1 || c > 1 {
			return triErr
		}
		return boolTri(pass(c))
	}
}

// bodyPath recognises body, body.a.b and body["a"]["b"].
func bodyPath(e celast.Expr) ([]string, bool) {
	switch e.Kind() {
	case celast.IdentKind:
		return nil, e.AsIdent() == "body"
	case celast.SelectKind:
		sel := e.AsSelect()
		if sel.IsTestOnly() {
			return nil, false
		}
		p, ok := bodyPath(sel.Operand())
		if !ok {
			return nil, false
		}
		return append(p[:len(p):len(p)], sel.FieldName()), true
	case celast.CallKind:
		call := e.AsCall()
		if call.FunctionName() != "_[_]" || len(call.Args()) != 2 || call.Args()[1].Kind() != celast.LiteralKind {
			return nil, false
		}
		k, ok := call.Args()[1].AsLiteral().(types.String)
		if !ok {
			return nil, false
		}
		p, ok := bodyPath(call.Args()[0])
		if !ok {
			return nil, false
		}
		return append(p[:len(p):len(p)], string(k)), true
	}
	return nil, false
}

// headerName recognises headers["x"] and headers.x.
func headerName(e celast.Expr) (string, bool) {
	switch e.Kind() {
	case celast.SelectKind:
		sel := e.AsSelect()
		if sel.IsTestOnly() || sel.Operand().Kind() != celast.IdentKind || sel.Operand().AsIdent() != "headers" {
			return "", false
		}
		return sel.FieldName(), true
	case celast.CallKind:
		call := e.AsCall()
		if call.FunctionName() != "_[_]" || len(call.Args()) != 2 {
			return "", false
		}
		m, k := call.Args()[0], call.Args()[1]
		if m.Kind() != celast.IdentKind || m.AsIdent() != "headers" || k.Kind() != celast.LiteralKind {
			return "", false
		}
		s, ok := k.AsLiteral().(types.String)
		return string(s), ok
	}
	return "", false
}

func compileOperand(e celast.Expr) operandFn {
	if e.Kind() == celast.LiteralKind {
		v := e.AsLiteral()
		switch v.(type) {
		case types.String, types.Int, types.Uint, types.Double, types.Bool, types.Null:
			return func(*Input) (ref.Val, bool) { return v, true }
		}
		return nil
	}
	if e.Kind() == celast.IdentKind {
		switch e.AsIdent() {
		case "type":
			return func(in *Input) (ref.Val, bool) { return types.String(in.Type), true }
		case "source":
			return func(in *Input) (ref.Val, bool) { return types.String(in.Source), true }
		case "provider_event_id":
			return func(in *Input) (ref.Val, bool) { return types.String(in.ProviderEventID), true }
		}
	}
	if name, ok := headerName(e); ok {
		return func(in *Input) (ref.Val, bool) {
			v, ok := in.headerMap()[name]
			return types.String(v), ok
		}
	}
	if path, ok := bodyPath(e); ok {
		key := strings.Join(path, "\x00")
		return func(in *Input) (ref.Val, bool) { return in.bodyValue(key, path) }
	}
	return nil
}

// jsonState is the body's validity, found once per Input.
func (in *Input) jsonState() validity {
	in.validOnce.Do(func() { in.valid = jsonValid(in.Body) })
	return in.valid
}

// memoVal is one bodyValue result, kept for the other routes' filters.
type memoVal struct {
	v  ref.Val
	ok bool
}

// bodyValue is body.path[0].path[1]... when it is a scalar, looked up once
// per Input (key is the path joined by NULs).
func (in *Input) bodyValue(key string, path []string) (ref.Val, bool) {
	in.memoMu.Lock()
	m, hit := in.memo[key]
	in.memoMu.Unlock()
	if hit {
		return m.v, m.ok
	}
	v, ok := in.lookupValue(path)
	in.memoMu.Lock()
	if in.memo == nil {
		in.memo = make(map[string]memoVal, 4)
	}
	in.memo[key] = memoVal{v, ok}
	in.memoMu.Unlock()
	return v, ok
}

func (in *Input) lookupValue(path []string) (ref.Val, bool) {
	switch in.jsonState() {
	case jsonInvalid:
		if len(path) == 0 {
			return types.NullValue, true
		}
		return nil, false // selecting on null
	case jsonUnsure:
		return nil, false
	}
	raw, found := jsonLookup(in.Body, path)
	if !found {
		return nil, false
	}
	v, ok := jsonScalar(raw)
	if !ok {
		return nil, false
	}
	switch x := v.(type) {
	case nil:
		return types.NullValue, true
	case string:
		return types.String(x), true
	case int64:
		return types.Int(x), true
	case float64:
		return types.Double(x), true
	case bool:
		return types.Bool(x), true
	}
	return nil, false
}

// bodyHas is has(body.path....field).
func (in *Input) bodyHas(path []string, field string) tri {
	if in.jsonState() != jsonOK {
		return triErr
	}
	raw, found := jsonLookup(in.Body, path)
	if !found {
		return triErr
	}
	has, isObject := jsonHasKey(raw, field)
	if !isObject {
		return triErr
	}
	return boolTri(has)
}
