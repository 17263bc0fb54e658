package hookwatch_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch"
)

func TestSubjectExtract(t *testing.T) {
	stripe := `{"id":"evt_1","object":"event","data":{"object":{"id":"in_1","lines":{"data":[{"customer":"cus_wrong"}]},"customer":"cus_N1","total":100}},"type":"invoice.paid"}`
	cases := []struct {
		path, body, want string
	}{
		{"data.object.customer", stripe, "cus_N1"},
		{"data.object.total", stripe, "100"},
		{"data.object.lines.data.0.customer", stripe, "cus_wrong"},
		{"data.object.lines.data.1.customer", stripe, ""},
		{"data.object", stripe, ""},         // an object is not a subject
		{"data.object.missing", stripe, ""}, // no such key
		{"id.x", stripe, ""},                // a string has no keys
		{"a", ` { "a" : "sp aced" } `, "sp aced"},
		{"a", `{"a":"caf\u00e9 \"q\""}`, `café "q"`},
		{"ké", `{"k\u00e9":"escaped key"}`, "escaped key"},
		{"a", `{"b":{"a":"nested, not top"},"a":"top"}`, "top"},
		{"a", `{"b":"}{\"a\":\"in a string\"","a":"after"}`, "after"},
		{"a", `{"a":"first","a":"second"}`, "first"},
		{"a", `{"a":null}`, ""},
		{"a", `{"a":true}`, ""},
		{"a", `{"a":""}`, ""},
		{"a", `{"a":"` + strings.Repeat("x", hookwatch.MaxSubjectLen+1) + `"}`, ""},
		{"a", `{"a":"cut`, ""},
		{"a.b", `{"a":{"b":`, ""},
		{"a", `token=abc&a=1`, ""},
		{"0.a", `[{"a":"in array"}]`, "in array"},
		{"a", ``, ""},
		{"a", `{"a":"bad escape \x"}`, ""},
	}
	for _, tc := range cases {
		p, err := hookwatch.ParseSubjectPath(tc.path)
		if err != nil {
			t.Fatalf("ParseSubjectPath(%q): %v", tc.path, err)
		}
		if got := p.Extract([]byte(tc.body)); got != tc.want {
			t.Errorf("%s in %s = %q, want %q", tc.path, tc.body, got, tc.want)
		}
	}
	for _, bad := range []string{"a..b", ".a", "a.", "a b", `a"b`, "a[0]"} {
		if _, err := hookwatch.ParseSubjectPath(bad); hookwatch.ErrorCode(err) != hookwatch.EINVALID {
			t.Errorf("ParseSubjectPath(%q) = %v, want EINVALID", bad, err)
		}
	}
}

// FuzzSubjectExtract checks Extract against encoding/json on any input:
// whenever the body is valid JSON, a string found at the path is what
// encoding/json decodes there; and Extract never panics.
func FuzzSubjectExtract(f *testing.F) {
	f.Add(`{"data":{"object":{"customer":"cus_1"}}}`)
	f.Add(`{"data":{"object":[1,{"customer":"x"}],"customer":"y"}}`)
	f.Add(`{"data":{"object":{"customer":"c\u00e9\n"}}}`)
	p, _ := hookwatch.ParseSubjectPath("data.object.customer")
	f.Fuzz(func(t *testing.T, body string) {
		got := p.Extract([]byte(body))
		var v struct {
			Data struct {
				Object struct {
					Customer json.RawMessage `json:"customer"`
				} `json:"object"`
			} `json:"data"`
		}
		if json.Unmarshal([]byte(body), &v) != nil || got == "" {
			return
		}
		want := string(v.Data.Object.Customer)
		var str string
		if json.Unmarshal(v.Data.Object.Customer, &str) == nil {
			want = str
		}
		if got != want && !dupKeys(body) {
			t.Errorf("Extract = %q, encoding/json = %q in %s", got, want, body)
		}
	})
}

// dupKeys reports whether body may repeat a key (encoding/json takes the
// last, Extract the first).
func dupKeys(body string) bool {
	return strings.Count(body, `"customer"`) > 1 || strings.Count(body, `"object"`) > 1 || strings.Count(body, `"data"`) > 1
}

func BenchmarkSubjectExtract(b *testing.B) {
	body := []byte(`{"id":"evt_1NqK2eLkdIwHu7ix","object":"event","api_version":"2023-10-16","created":1696000000,"data":{"object":{"id":"in_1NqK2e","object":"invoice","account_country":"US","amount_due":2000,"amount_paid":2000,"currency":"usd","customer":"cus_OdZ1","customer_email":"jenny@example.com","lines":{"object":"list","data":[{"id":"il_1","amount":2000,"description":"1 × Pro (at $20.00 / month)"}]},"status":"paid","total":2000}},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"invoice.paid"}`)
	p, _ := hookwatch.ParseSubjectPath("data.object.customer")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if p.Extract(body) != "cus_OdZ1" {
			b.Fatal("wrong subject")
		}
	}
}
