package expr_test

import (
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	hookwatch "github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/expr"
)

func payload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func stripeEvent(t testing.TB) *hookwatch.Event {
	return &hookwatch.Event{
		Source: "stripe", Type: "invoice.paid", ProviderEventID: "evt_1QhwDemoInvoicePaid0001",
		Headers: http.Header{"Stripe-Signature": {"t=1,v1=00"}, "Content-Type": {"application/json"}},
		Body:    payload(t, "stripe-invoice-paid.json"),
	}
}

func githubEvent(t testing.TB) *hookwatch.Event {
	return &hookwatch.Event{
		Source: "github", Type: "push", ProviderEventID: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		Headers: http.Header{"X-Github-Event": {"push"}, "X-Github-Delivery": {"72d3162e-cc78-11e3-81ab-4c9367dc0958"}},
		Body:    payload(t, "github-push.json"),
	}
}

func shopifyEvent(t testing.TB) *hookwatch.Event {
	return &hookwatch.Event{
		Source: "shop", Type: "orders/create", ProviderEventID: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
		Headers: http.Header{"X-Shopify-Topic": {"orders/create"}, "X-Shopify-Shop-Domain": {"example.myshopify.com"}},
		Body:    payload(t, "shopify-orders-create.json"),
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name   string
		event  func(testing.TB) *hookwatch.Event
		filter string
		want   bool
		errHas string // a run-time error: no match, with this in the message
	}{
		{"stripe paid above $10", stripeEvent, `body.data.object.amount_paid > 1000 && body.livemode == false`, true, ""},
		{"stripe paid above $100", stripeEvent, `body.data.object.amount_paid > 10000`, false, ""},
		{"stripe livemode only", stripeEvent, `body.data.object.amount_paid > 1000 && body.livemode`, false, ""},
		{"stripe type and currency", stripeEvent, `type.startsWith("invoice.") && body.data.object.currency in ["usd", "eur"]`, true, ""},
		{"stripe int vs double literal", stripeEvent, `body.data.object.amount_paid >= 2000.0`, true, ""},
		{"stripe header lower-cased", stripeEvent, `headers["content-type"] == "application/json"`, true, ""},
		{"stripe provider id", stripeEvent, `provider_event_id.startsWith("evt_")`, true, ""},
		{"github push to main", githubEvent, `headers["x-github-event"] == "push" && body.ref == "refs/heads/main"`, true, ""},
		{"github push to a branch", githubEvent, `body.ref == "refs/heads/dev"`, false, ""},
		{"github commit touches README", githubEvent, `body.commits.exists(c, c.modified.exists(f, f.endsWith(".md")))`, true, ""},
		{"github owner", githubEvent, `body.repository.owner.login == "Codertocat" && source == "github"`, true, ""},
		{"github missing header", githubEvent, `headers["x-hub-signature-256"] == "x"`, false, "no such key"},
		{"github optional header", githubEvent, `headers[?"x-hub-signature-256"].orValue("") == ""`, true, ""},
		{"shopify paid order in US", shopifyEvent, `body.financial_status == "paid" && body.shipping_address.country_code == "US"`, true, ""},
		{"shopify total as number", shopifyEvent, `double(body.total_price) > 400.0`, true, ""},
		{"shopify line items", shopifyEvent, `body.line_items.size() == 2 && body.line_items.all(i, i.quantity == 1)`, true, ""},
		{"shopify topic", shopifyEvent, `headers["x-shopify-topic"] == "orders/create"`, true, ""},
		{"missing field", stripeEvent, `body.data.object.discount.amount > 0`, false, "no such key: discount"},
		{"has() on missing field", stripeEvent, `has(body.data.object.discount) && body.data.object.discount.amount > 0`, false, ""},
		{"wrong type at run time", stripeEvent, `body.data.object.currency > 3`, false, "no such overload"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := expr.CompileFilter(tc.filter)
			if err != nil {
				t.Fatalf("compile %q: %v", tc.filter, err)
			}
			got, err := p.Match(expr.NewInput(tc.event(t)))
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("Match = %v, %v; want an error containing %q", got, err, tc.errHas)
				}
				if got {
					t.Fatal("an error must be no match")
				}
				return
			}
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if got != tc.want {
				t.Fatalf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNonJSONBody(t *testing.T) {
	in := &expr.Input{Source: "form", Type: "", Body: []byte("payload=%7B%7D&x=1"),
		Headers: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}
	for filter, want := range map[string]bool{
		`body == null`: true,
		`body != null && headers["content-type"] == "application/json"`: false,
		`type == ""`: true,
	} {
		p, err := expr.CompileFilter(filter)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Match(in)
		if err != nil || got != want {
			t.Errorf("%s: Match = %v, %v; want %v", filter, got, err, want)
		}
	}
	// Reading a field of a null body is a run-time error, not a panic.
	p, err := expr.CompileFilter(`body.ref == "main"`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Match(in); err == nil || got {
		t.Fatalf("Match on a non-JSON body = %v, %v; want an error", got, err)
	}
	// Trailing data after a JSON value is not JSON either.
	if v := expr.ParseJSON([]byte(`{"a":1} {"b":2}`)); v != nil {
		t.Fatalf("ParseJSON of two values = %v, want nil", v)
	}
	if v := expr.ParseJSON([]byte(`{"a":1} x`)); v != nil {
		t.Fatalf("ParseJSON with trailing garbage = %v, want nil", v)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src    string
		kind   expr.Kind
		column int
		has    string
	}{
		{`bdy.ref == "x"`, expr.Bool, 1, "undeclared reference to 'bdy'"},
		{`type == 3`, expr.Bool, 6, "no matching overload"},
		{`source + 1 == "x"`, expr.Bool, 8, "no matching overload"},
		{`body.ref ==`, expr.Bool, 12, "Syntax error"},
		{`body.livemode`, expr.Bool, 1, "must be a bool expression, this one is dyn"},
		{`type`, expr.Bool, 1, "must be a bool expression, this one is string"},
		{`type == "a"`, expr.Key, 1, "a key must be a string or an int, this one is bool"},
		{`type.matches("[")`, expr.Bool, 14, "invalid"},
		{`body.a.all(x, x.b.all(y, y.c.all(z, z == 1)))`, expr.Bool, 0, "nesting"},
		{"", expr.Bool, 1, "empty expression"},
		{strings.Repeat("(", 40) + "true" + strings.Repeat(")", 40), expr.Bool, 0, "recursion"},
		{strings.Repeat("type == 'a' || ", 300) + "true", expr.Bool, 0, "limit"},
	}
	for _, tc := range tests {
		_, err := expr.CompileKind(tc.src, tc.kind)
		ce, ok := err.(*expr.CompileError)
		if !ok {
			t.Errorf("%.40q: error %v (%T), want a *CompileError", tc.src, err, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.has) {
			t.Errorf("%.40q: error %q, want it to contain %q", tc.src, err, tc.has)
		}
		if tc.column != 0 && ce.Issues[0].Column != tc.column {
			t.Errorf("%.40q: column %d, want %d (%v)", tc.src, ce.Issues[0].Column, tc.column, err)
		}
		if tc.column != 0 && !strings.Contains(err.Error(), "column ") {
			t.Errorf("%.40q: error %q does not say the column", tc.src, err)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		event  func(testing.TB) *hookwatch.Event
		key    string
		want   string
		errHas string
	}{
		{stripeEvent, `body.data.object.customer`, "cus_DemoCustomer0001", ""},
		{githubEvent, `body.repository.id`, "186853002", ""},
		// Beyond 2^53: kept exact because integers are parsed as int64.
		{shopifyEvent, `body.id`, "820982911946154508", ""},
		{shopifyEvent, `body.line_items[0].id`, "487817672276298554", ""},
		{githubEvent, `source + ":" + body.repository.full_name`, "github:Codertocat/Hello-World", ""},
		{stripeEvent, `body.request.id`, "", "null"},
		{stripeEvent, `body.data`, "", "not a string or an int"},
		{stripeEvent, `body.data.object.nope`, "", "no such key"},
	}
	for _, tc := range tests {
		p, err := expr.CompileKey(tc.key)
		if err != nil {
			t.Fatalf("%s: %v", tc.key, err)
		}
		got, err := p.String(expr.NewInput(tc.event(t)))
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("%s: String = %q, %v; want an error containing %q", tc.key, got, err, tc.errHas)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: String = %q, %v; want %q", tc.key, got, err, tc.want)
		}
	}
}

// A hostile expression stops at the cost limit instead of burning CPU.
func TestCostLimit(t *testing.T) {
	items := make([]string, 2000)
	for i := range items {
		items[i] = `"` + strings.Repeat("x", 100) + `"`
	}
	body := []byte(`{"items":[` + strings.Join(items, ",") + `]}`)
	in := &expr.Input{Body: body}
	p, err := expr.CompileFilter(`body.items.exists(a, body.items.exists(b, a + b == "y"))`)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := p.Match(in)
	if err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("Match = %v, %v; want the cost limit error", ok, err)
	}
	// Growing strings (replace, split, join) run under the limit too.
	grow := &expr.Input{Body: []byte(`{"s":"` + strings.Repeat("a", 10000) + `"}`)}
	p3, err := expr.CompileFilter(`body.s` + strings.Repeat(`.replace("a", "aaaaaaaa")`, 12) + ` == ""`)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := p3.Match(grow); err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("Match of a growing string = %v, %v; want the cost limit error", ok, err)
	}
	// The same shape over a small list is fine.
	small := &expr.Input{Body: []byte(`{"items":["a","b","y"]}`)}
	p2, err := expr.CompileFilter(`body.items.exists(a, body.items.exists(b, a + b == "ay"))`)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := p2.Match(small); err != nil || !ok {
		t.Fatalf("Match small = %v, %v; want true", ok, err)
	}
}

// One Input serves many programs and goroutines; the body is parsed once.
func TestInputShared(t *testing.T) {
	in := expr.NewInput(githubEvent(t))
	p, err := expr.CompileFilter(`body.ref == "refs/heads/main"`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if ok, err := p.Match(in); err != nil || !ok {
				t.Errorf("Match = %v, %v", ok, err)
			}
		})
	}
	wg.Wait()
}

func TestEval(t *testing.T) {
	p, err := expr.Compile(`body.commits.map(c, c.id.substring(0, 7))`)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.Eval(expr.NewInput(githubEvent(t)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.ConvertToNative(reflectStrings)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.([]string); len(s) != 1 || s[0] != "0000000" {
		t.Fatalf("Eval = %v", s)
	}
}

var reflectStrings = reflect.TypeOf([]string(nil))

// BenchmarkMatch is one filter over a fresh input per event (so the body is
// parsed each time), as at ingest: go test -bench Match ./expr/
func BenchmarkMatch(b *testing.B) {
	ev := stripeEvent(b)
	p, err := expr.CompileFilter(`body.data.object.amount_paid > 1000 && body.livemode == false`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Match(expr.NewInput(ev)); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkMatchNoBody is a filter that reads no body: nothing is parsed.
func BenchmarkMatchNoBody(b *testing.B) {
	ev := githubEvent(b)
	p, err := expr.CompileFilter(`headers["x-github-event"] == "push" && type == "push"`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Match(expr.NewInput(ev)); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
