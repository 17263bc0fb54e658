package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hookwatch/hookwatch"
)

// TestBrowserPerformance opens the performance view in Chromium, changes
// its range, follows a destination and a source to their pages, and keeps
// a screenshot of each.
func TestBrowserPerformance(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	f := newFixture(t)
	dir := artifacts(t)
	base := f.dash.URL
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// SVG elements have no innerText: their text is textContent.
	svgText := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('`+sel+`').textContent`))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	do("sign in",
		chromedp.Navigate(base+"/performance"),
		chromedp.WaitVisible(css(`input[name=name]`)),
		chromedp.SendKeys(css(`input[name=name]`), user),
		chromedp.SendKeys(css(`input[name=password]`), password),
		chromedp.Submit(css(`input[name=password]`)),
		chromedp.WaitVisible(css(`svg.chart`)),
		screenshot(dir, "performance-24h"),
	)
	if h := text("h1"); h != "Performance" {
		t.Fatalf("after sign-in the page is %q, want Performance", h)
	}
	if cur := text(`nav.tabs a[aria-current=page]`); cur != "24h" {
		t.Errorf("range shown as current: %q, want 24h", cur)
	}
	// The axis labels read as durations, never as a raw count of ms.
	if axis := svgText(`svg.chart[aria-label^="Processing time"]`); strings.Contains(axis, "000ms") {
		t.Errorf("processing time axis reads %q", axis)
	}

	do("last hour", chromedp.Click(css(`nav.tabs a[href="/performance?range=1h"]`)), chromedp.WaitVisible(css(`nav.tabs a[aria-current=page][href$="range=1h"]`)),
		screenshot(dir, "performance-1h"))
	if title := svgText(`svg.chart[aria-label^="Deliveries"] > title`); !strings.Contains(title, "per 2 minutes") {
		t.Errorf("1h deliveries chart titled %q, want 2-minute buckets", title)
	}

	do("open a destination", chromedp.Click(css(`table a[href="/destinations/flaky"]`)), chromedp.WaitVisible(css(`svg.chart`)),
		screenshot(dir, "destination-flaky"))
	if h := text("h1"); h != "Destination flaky" {
		t.Fatalf("destination page is %q", h)
	}
	if dead := text(`main table tbody .badge.dead`); dead != "dead" {
		t.Errorf("recent failures show %q, want a dead letter", dead)
	}

	// Bulk replay: flaky's app is fixed; replay its dead deliveries from
	// the filtered list, dry run first, and see them delivered.
	f.flakyFixed.Store(true)
	do("list dead deliveries", chromedp.Navigate(base+"/events?status=dead&destination=flaky"), chromedp.WaitVisible(css(`#replay-matching`)),
		chromedp.Click(css(`#replay-matching`)), chromedp.WaitVisible(css(`#confirm-replay`)), screenshot(dir, "replay-dry-run"))
	if n := text(`#replay-count`); n != "2" {
		t.Fatalf("dry run counts %s deliveries, want 2", n)
	}
	if rs, _ := f.store.ListReplays(context.Background(), 10); len(rs) != 0 {
		t.Fatalf("the dry run recorded a replay: %+v", rs)
	}
	do("confirm the replay", chromedp.SetValue(css(`input[name=rate]`), "0"), chromedp.Click(css(`#confirm-replay`)), chromedp.WaitVisible(css(`p.flash`)))
	if flash := text(`p.flash`); !strings.Contains(flash, "2 deliveries re-queued") {
		t.Errorf("after the replay the page says %q", flash)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := f.store.CountDeliveries(context.Background(), hookwatch.DeliveryFilter{Destination: "flaky"})
		if err != nil {
			t.Fatal(err)
		}
		if c["flaky"][hookwatch.DeliverySucceeded] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replayed deliveries to flaky not delivered: %v", c["flaky"])
		}
		time.Sleep(20 * time.Millisecond)
	}
	do("destination after the replay", chromedp.Navigate(base+"/destinations/flaky"), chromedp.WaitVisible(css(`svg.chart`)), screenshot(dir, "destination-flaky-replayed"))
	if got := text(`main p a[href$="status=dead"]`); got != "0 dead" {
		t.Errorf("flaky shows %q after the replay, want 0 dead", got)
	}

	// Bulk release from the filtered quarantine list.
	do("release in bulk", chromedp.Navigate(base+"/quarantine?source=stripe"), chromedp.WaitVisible(css(`#release-matching`)),
		chromedp.Click(css(`#release-matching`)), chromedp.WaitVisible(css(`#confirm-release`)), screenshot(dir, "release-dry-run"))
	if n := text(`#release-released`); n != "1" {
		t.Fatalf("release dry run would release %s, want 1", n)
	}
	do("confirm the release", chromedp.Click(css(`#confirm-release`)), chromedp.WaitVisible(css(`p.flash`)))
	if q, err := f.store.GetQuarantined(context.Background(), f.qrnID); err != nil || !q.Released() {
		t.Errorf("quarantined request after the bulk release: %+v, %v", q, err)
	}

	do("open the source", chromedp.Navigate(base+"/sources/stripe"), chromedp.WaitVisible(css(`svg.chart`)), screenshot(dir, "source-stripe"))
	if h := text("h1"); h != "Source stripe" {
		t.Fatalf("source page is %q", h)
	}
}
