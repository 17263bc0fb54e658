package storetest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hookwatch/hookwatch"
)

// testTransformed checks what a transformation adds to attempts: the
// transform's hash, the hash of what was sent and the request as sent, and
// RetryTransformFailures (issue 15).
func testTransformed(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("AttemptKeepsRequestAsSent", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, routed("stripe", 1, base, "app")...)
		d := claim(t, s, "app", "w1", base, 1)[0]
		a := attemptOf(d, "w1", base, "", 200)
		a.Transform, a.SentHash = "sha256:aa", "sha256:bb"
		a.Sent = &hookwatch.SentRequest{URL: "http://127.0.0.1:3000/hooks/x?a=1",
			Headers: http.Header{"Content-Type": {"application/json"}, "X-Amount": {"12000"}}, Body: []byte(`{"amount":120}`), BodySize: 14}
		if res := finish(t, s, hookwatch.Finish{Owner: "w1", Outcome: hookwatch.OutcomeSucceeded, Attempt: a}); res[0] != nil {
			t.Fatal(res[0])
		}
		_, as := getDelivery(t, s, d.ID)
		got := as[0]
		if got.Transform != "sha256:aa" || got.SentHash != "sha256:bb" || got.Sent == nil {
			t.Fatalf("attempt = %+v", got)
		}
		if got.Sent.URL != a.Sent.URL || got.Sent.Headers.Get("X-Amount") != "12000" || string(got.Sent.Body) != `{"amount":120}` ||
			got.Sent.BodySize != 14 || got.Sent.Unreadable != "" {
			t.Errorf("request as sent = %+v", got.Sent)
		}
		// An attempt without a transform records no request.
		insert(t, s, routed("stripe", 1, base.Add(time.Second), "plain")...)
		d2 := claim(t, s, "plain", "w1", base.Add(time.Second), 1)[0]
		if res := finish(t, s, hookwatch.Finish{Owner: "w1", Outcome: hookwatch.OutcomeSucceeded, Attempt: attemptOf(d2, "w1", base, "", 200)}); res[0] != nil {
			t.Fatal(res[0])
		}
		if _, as := getDelivery(t, s, d2.ID); as[0].Sent != nil || as[0].Transform != "" {
			t.Errorf("plain attempt = %+v", as[0])
		}
	})

	t.Run("RetryTransformFailures", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, routed("stripe", 3, base, "app")...)
		insert(t, s, routed("stripe", 1, base, "other")...)
		ds := claim(t, s, "app", "w1", base.Add(time.Hour), 3)
		far := base.Add(72 * time.Hour)
		fail := func(d *hookwatch.Delivery, hash string, class hookwatch.ErrorClass) hookwatch.Finish {
			a := attemptOf(d, "w1", base.Add(time.Hour), class, 0)
			a.Transform = hash
			return hookwatch.Finish{Owner: "w1", Outcome: hookwatch.OutcomeRetry, NextAttemptAt: far, NoCount: true, Attempt: a}
		}
		o := claim(t, s, "other", "w1", base.Add(time.Hour), 1)[0]
		res := finish(t, s, fail(ds[0], "sha256:old", hookwatch.ClassTransform), fail(ds[1], "sha256:new", hookwatch.ClassTransform),
			fail(ds[2], "sha256:old", hookwatch.ClassServer), fail(o, "sha256:old", hookwatch.ClassTransform))
		for _, err := range res {
			if err != nil {
				t.Fatal(err)
			}
		}
		now := base.Add(2 * time.Hour)
		n, err := s.RetryTransformFailures(ctx, "app", "sha256:new", now)
		if err != nil || n != 1 {
			t.Fatalf("RetryTransformFailures = %d, %v; want 1 (the delivery that failed under the old transform)", n, err)
		}
		got := claim(t, s, "app", "w2", now, 10)
		if len(got) != 1 || got[0].ID != ds[0].ID {
			t.Fatalf("due after the change: %d deliveries, want only %s", len(got), ds[0].ID)
		}
		// Another destination's transform failures are not touched.
		if got := claim(t, s, "other", "w2", now, 10); len(got) != 0 {
			t.Errorf("other destination: %d due", len(got))
		}
		// Leased (just claimed): not touched again.
		if n, err := s.RetryTransformFailures(ctx, "app", "sha256:newer", now); err != nil || n != 1 {
			t.Errorf("second change: %d, %v; want 1 (ds[1]; ds[0] is leased)", n, err)
		}
	})
}
