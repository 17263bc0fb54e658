package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
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

	do("open the source", chromedp.Navigate(base+"/sources/stripe"), chromedp.WaitVisible(css(`svg.chart`)), screenshot(dir, "source-stripe"))
	if h := text("h1"); h != "Source stripe" {
		t.Fatalf("source page is %q", h)
	}
}
