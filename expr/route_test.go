package expr_test

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	hookwatch "github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/expr"
)

// cpuTime is the process's user + system CPU time: under a loaded machine
// it is steadier than the wall time ns/op reports.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRouter is the router's work per event at ingest for the ingest
// bench's event (a 1 KB Stripe invoice.paid, cmd/hookwatch-bench) and three
// routes, without filters and with one on every route (the body parsed
// once): go test -run '^$' -bench Router -benchtime 20000x ./expr/
func BenchmarkRouter(b *testing.B) {
	head := `{"id":"evt_bench_1_0_1","object":"event","type":"invoice.paid","livemode":true,"data":{"object":{"pad":"`
	tail := `"}}}`
	body := []byte(head + strings.Repeat("a", 1024-len(head)-len(tail)) + tail)
	ev := &hookwatch.Event{Source: "stripe", Type: "invoice.paid", ProviderEventID: "evt_bench_1_0_1", Body: body,
		Headers: http.Header{"Content-Type": {"application/json"}, "Stripe-Signature": {"t=1,v1=00"}, "User-Agent": {"Go-http-client/1.1"}}}
	p, err := expr.CompileFilter(`body.data.object.pad != "" && body.livemode == true && type.startsWith("invoice.")`)
	if err != nil {
		b.Fatal(err)
	}
	for _, filtered := range []bool{false, true} {
		var routes []hookwatch.Route
		for i := range 3 {
			r := hookwatch.Route{Source: "stripe", Destinations: []string{fmt.Sprintf("d%d", i)}}
			if filtered {
				r.Filter = expr.RouteFilter(p)
			}
			routes = append(routes, r)
		}
		route := hookwatch.Router(routes)
		b.Run(fmt.Sprintf("filtered=%v", filtered), func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				if d, _ := route(ev); len(d) != 3 {
					b.Fatal(d)
				}
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}
