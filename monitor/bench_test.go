package monitor_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookwatch/hookwatch"
	"github.com/hookwatch/hookwatch/monitor"
)

// The cost tracing adds to an ingest request that is not sampled (the
// common case at traces_sample_rate 0.1): the transaction the SDK samples
// and drops, and the trace stored with the event. Compare with
// BenchmarkIngestUntraced (tracing off: the handler itself).
//
//	go test -run '^$' -bench 'Ingest' -benchmem ./monitor/
func BenchmarkIngestUnsampled(b *testing.B) {
	benchIngest(b, 1e-12)
}

func BenchmarkIngestUntraced(b *testing.B) {
	benchIngest(b, 0)
}

func benchIngest(b *testing.B, rate float64) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	m, err := monitor.New(monitor.Options{DSN: strings.Replace(srv.URL, "http://", "http://k@", 1) + "/1", TracesSampleRate: rate})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	tr := m.Tracer()
	h := m.Ingest(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := &hookwatch.Event{ID: "evt_bench", Destinations: []string{"app"}}
		_, end := tr.StartPublish(r.Context(), e)
		end()
	}))
	mux := http.NewServeMux()
	mux.Handle("POST /in/{source}", h)
	req := httptest.NewRequest(http.MethodPost, "/in/stripe", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		mux.ServeHTTP(w, req)
	}
}
