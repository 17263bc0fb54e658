package expr

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// shapeExprs are filters the fast path knows (each must compile to one).
var shapeExprs = []string{
	`body.data.object.amount_paid > 1000`,
	`body.data.object.amount_paid >= 2000`,
	`body.data.object.amount_paid < 2000.5`,
	`body.data.object.amount_paid == 2000.0`,
	`body.data.object.amount_paid != 2000`,
	`body.data.object.amount_paid <= 10u`,
	`body.data.object.status == "paid" && body.livemode == false`,
	`body.livemode == true || type.startsWith("invoice.")`,
	`body.livemode == true`,
	`body.livemode < true`,
	`!(body.livemode == true)`,
	`body.request.id == null`,
	`body.request.id != null`,
	`body.request.id > 1`,
	`body.ref == "refs/heads/main"`,
	`body["ref"] == "refs/heads/main" && headers["x-github-event"] == "push"`,
	`headers["x-github-event"] == "push"`,
	`headers.x_github_event == "push"`,
	`headers["x-missing"] == "push" || true`,
	`headers["x-missing"] == "push" && false`,
	`headers["x-missing"] == "push"`,
	`body.repository.owner.id == 21031067`,
	`body.repository.owner.id > 2.1e7`,
	`body.repository.owner.login.startsWith("Coder")`,
	`body.repository.owner.login.endsWith("cat")`,
	`body.repository.owner.login.contains("erto")`,
	`body.repository.owner.id.startsWith("2")`,
	`body.repository == "x"`,
	`body.repository.private == false && body.ref in ["refs/heads/main", "refs/heads/dev"]`,
	`body.financial_status in ["paid", "partially_paid"]`,
	`body.id in [820982911946154508, 1]`,
	`body.id == 820982911946154508`,
	`body.id > 820982911946154507.0`,
	`body.total_price == "403.00"`,
	`body.total_price > 400`,
	`body.test == false && source == "shopify"`,
	`has(body.data)`,
	`has(body.data.object)`,
	`has(body.data.object.discount)`,
	`has(body.nope.x)`,
	`has(body.ref) && !has(body.data)`,
	`has(body.x)`,
	`body == null`,
	`body != null`,
	`body.x == 1`,
	`body.a == "é"`,
	`body.a == "A"`,
	`body.a.b == 1`,
	`body.n > 1`,
	`body.n > 1.0e300`,
	`body.k == "\"q\""`,
	`body["k\""] == 1`,
	`type == "invoice.paid" || type == "push"`,
	`provider_event_id == "evt_1"`,
	`source != "stripe"`,
	`type < "m"`,
	`body.arr == 1`,
	`true`,
	`false || body.x == 2`,
	`body.d == 1`,
	`body.d.e == 2`,
}

// otherExprs are filters the fast path leaves to CEL.
var otherExprs = []string{
	`body.arr[0] == 1`,
	`body.arr[0] == 1 || body.livemode == true`,
	`size(body.ref) > 3`,
	`body.?data.?object.?status.orValue("") == "paid"`,
	`body.data.object.lines.data.exists(l, l.amount > 0)`,
	`body.data == {}`,
}

func corpus(t testing.TB) map[string][]byte {
	bodies := map[string][]byte{
		"empty":        nil,
		"text":         []byte("hello"),
		"form":         []byte("a=1&b=2"),
		"truncated":    []byte(`{"a": {"b": 1}`),
		"trailing":     []byte(`{"x":1} {"x":2}`),
		"trailingjunk": []byte(`{"x":1}x`),
		"null":         []byte(`null`),
		"number":       []byte(` 12 `),
		"string":       []byte(`"s"`),
		"array":        []byte(`[1,{"x":1}]`),
		"dup":          []byte(`{"x":1,"x":2,"a":{"b":1},"a":{"c":2}}`),
		"dupnested":    []byte(`{"a":{"b":1,"b":"one"},"d":{"e":2},"d":3}`),
		"escapes":      []byte(`{"\u0078":1,"k\"":1,"k":"\"q\"","a":"\u00e9","\u0061":"A"}`),
		"unicode":      []byte("{\"a\":\"\xc3\xa9\",\"x\":\"\xff\"}"),
		"badutf8key":   []byte("{\"x\xff\":1,\"x\":2}"),
		"numbers":      []byte(`{"n":1.5e3,"x":-0,"d":1E2}`),
		"big":          []byte(`{"n":1e400,"x":18446744073709551616}`),
		"int":          []byte(`{"x":9223372036854775807,"n":-9223372036854775808}`),
		"nested":       []byte(`{"arr":[1,[2,{"x":"]}"}],{"y":"}"}],"x":[],"livemode":true,"ref":"refs/heads/main"}`),
		"ws":           []byte(" \r\n\t{ \"x\" : 1 , \"a\" : { \"b\" : 1 } }\n"),
		"badescape":    []byte(`{"x":"\q"}`),
		"ctl":          []byte("{\"x\":\"a\x01\"}"),
		"leadingzero":  []byte(`{"x":01}`),
		"deep":         []byte(strings.Repeat("[", 2000) + strings.Repeat("]", 2000)),
		"deepobj":      []byte(`{"x":1,"d":` + strings.Repeat(`{"d":`, 1200) + "1" + strings.Repeat("}", 1200) + "}"),
	}
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) < 3 {
		t.Fatalf("testdata: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies[filepath.Base(f)] = b
	}
	return bodies
}

// TestShapeMatchesCEL is the differential test: every filter over every
// body, the fast path's answer against the CEL program's.
func TestShapeMatchesCEL(t *testing.T) {
	bodies := corpus(t)
	decided := 0
	all := append(append([]string{}, shapeExprs...), otherExprs...)
	for i, src := range all {
		p, err := CompileFilter(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if fast := p.fast != nil; fast != (i < len(shapeExprs)) {
			t.Errorf("%s: fast path compiled = %v", src, fast)
		}
		for name, body := range bodies {
			for _, typ := range []string{"invoice.paid", "push", ""} {
				mk := func() *Input {
					return &Input{Body: body, Source: "shopify", Type: typ, ProviderEventID: "evt_1",
						Headers: http.Header{"X-Github-Event": {"push"}, "Content-Type": {"application/json"}}}
				}
				want, werr := p.matchCEL(mk())
				got, gerr := p.Match(mk())
				if got != want || (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
					t.Errorf("%s over %s (type %q): fast %v, %v; CEL %v, %v", src, name, typ, got, gerr, want, werr)
				}
				if p.fast != nil && p.fast(mk()) != triErr {
					decided++
				}
			}
		}
	}
	if decided < 500 {
		t.Errorf("the fast path decided only %d evaluations", decided)
	}
}

// TestJSONLookupCorpus checks the lookup against encoding/json on the
// corpus's bodies and every path of their first levels.
func TestJSONLookupCorpus(t *testing.T) {
	for name, b := range corpus(t) {
		checkLookup(t, name, b, [][]string{{"x"}, {"a", "b"}, {"d", "e"}, {"data", "object", "amount_paid"},
			{"repository", "owner", "login"}, {"ref"}, {"k\""}, {"\u00e9"}, {"x\ufffd"}})
	}
}

func checkLookup(t *testing.T, name string, b []byte, paths [][]string) {
	t.Helper()
	st := jsonValid(b)
	if st == jsonUnsure {
		return
	}
	if (st == jsonOK) != json.Valid(b) {
		t.Fatalf("%s %q: jsonValid %v, json.Valid %v", name, b, st, json.Valid(b))
	}
	if st != jsonOK {
		if ParseJSON(b) != nil {
			t.Fatalf("%s %q: invalid, yet ParseJSON decodes it", name, b)
		}
		return
	}
	tree := ParseJSON(b)
	if m, ok := tree.(map[string]any); ok {
		for k := range m {
			paths = append(paths, []string{k})
			if mm, ok := m[k].(map[string]any); ok {
				for kk := range mm {
					paths = append(paths, []string{k, kk})
				}
			}
		}
	}
	for _, path := range paths {
		want, wantFound := tree, true
		for _, k := range path {
			m, ok := want.(map[string]any)
			if !ok {
				wantFound = false
				break
			}
			if want, ok = m[k]; !ok {
				wantFound = false
				break
			}
		}
		raw, found := jsonLookup(b, path)
		if found != wantFound {
			t.Fatalf("%s %q %q: found %v, encoding/json %v", name, b, path, found, wantFound)
		}
		if !found {
			continue
		}
		if got := ParseJSON(raw); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s %q %q: %#v, encoding/json %#v", name, b, path, got, want)
		}
		if v, ok := jsonScalar(raw); ok && !reflect.DeepEqual(v, want) {
			t.Fatalf("%s %q %q: scalar %#v, encoding/json %#v", name, b, path, v, want)
		}
		if len(path) > 0 {
			parent, _ := jsonLookup(b, path[:len(path)-1])
			if has, isObj := jsonHasKey(parent, path[len(path)-1]); !has || !isObj {
				t.Fatalf("%s %q %q: jsonHasKey %v %v", name, b, path, has, isObj)
			}
		}
	}
}

// FuzzJSONLookup: on any input, validity agrees with json.Valid and every
// value found is the one encoding/json decodes.
func FuzzJSONLookup(f *testing.F) {
	for _, b := range corpus(f) {
		if len(b) < 4096 {
			f.Add(b, "x")
		}
	}
	f.Add([]byte(`{"a":{"a":[{"a":1}],"a":"b"}}`), "a")
	f.Fuzz(func(t *testing.T, b []byte, key string) {
		checkLookup(t, "fuzz", b, [][]string{{key}, {key, key}, {"a"}, {"a", "a"}})
	})
}
