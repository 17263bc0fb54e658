package ingest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkReceive measures the whole receive path in-process: HTTP, Stripe
// verification, group commit to SQLite (synchronous=FULL), answer. Run with
// -cpu and -benchtime; the figure of record is cmd/hookwatch-bench.
func BenchmarkReceive(b *testing.B) {
	t := &testing.T{}
	e := setup(t)
	b.Cleanup(func() { e.server.Close(); e.commit.Close(); e.store.Close() })
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	var n atomic.Int64
	pad := strings.Repeat("a", 900)
	now := time.Now()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := fmt.Sprintf(`{"id":"evt_b%d","object":"event","type":"invoice.paid","data":{"pad":%q}}`, n.Add(1), pad)
			req, _ := http.NewRequest(http.MethodPost, e.server.URL+"/in/stripe", bytes.NewReader([]byte(body)))
			for k, v := range signed(t, "stripe", stripeSecret, body, now) {
				req.Header[k] = v
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}
