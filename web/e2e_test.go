package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hookwatch/hookwatch"
)

// browser starts a fresh headless Chromium for one test, or skips the test
// when none is installed.
func browser(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Skip("no Chromium installed: install Debian's chromium package (apt-get install -y chromium; .ci/run does) to run the browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1360, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelC := chromedp.NewContext(actx)
	// The first Run starts the browser, which lives as long as that
	// context: no timeout on it, only on the steps after.
	if err := chromedp.Do(bctx); err != nil {
		cancelC()
		cancelA()
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelT := context.WithTimeout(bctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	return ctx
}

// artifacts is the folder for screenshots: $HOOKWATCH_ARTIFACTS, or
// hookwatch-screenshots in the temporary directory.
func artifacts(t *testing.T) string {
	dir := os.Getenv("HOOKWATCH_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "hookwatch-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

func screenshot(dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		buf, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	})
}

// TestBrowser drives the dashboard in headless Chromium the way an
// operator would: sign in, find an event by its provider ID, replay it and
// see the new attempt, resolve its issue, pause a destination.
func TestBrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	f := newFixture(t)
	dir := artifacts(t)
	base := f.dash.URL
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// Sign in: a page asked for while signed out comes back after.
	do("sign in",
		chromedp.Navigate(base+"/events"),
		chromedp.WaitVisible(css(`input[name=name]`)),
		screenshot(dir, "signin"),
		chromedp.SendKeys(css(`input[name=name]`), user),
		chromedp.SendKeys(css(`input[name=password]`), password),
		chromedp.Submit(css(`input[name=password]`)),
		chromedp.WaitVisible(css(`form.filters`)),
	)
	if h := text("h1"); h != "Events" {
		t.Fatalf("after sign-in the page is %q, want Events", h)
	}

	do("overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css(`svg.chart`)), screenshot(dir, "overview"))

	// Find the event by its provider ID and open it.
	link := `a[href="/events/` + f.ev1 + `"]`
	do("find the event",
		chromedp.Navigate(base+"/events"),
		chromedp.WaitVisible(css(`input[name=q]`)),
		chromedp.SendKeys(css(`input[name=q]`), "evt_stripe_first"),
		chromedp.Submit(css(`input[name=q]`)),
		chromedp.WaitVisible(css(link)),
		screenshot(dir, "events"),
	)
	if n := count(`a[href^="/events/evt_"]`); n != 1 {
		t.Fatalf("the search shows %d events, want 1", n)
	}
	do("open the event", chromedp.Click(css(link)), chromedp.WaitVisible(css(`#timeline`)))
	before := count(`#timeline li`)

	// Replay it; the new attempts appear on the event page.
	do("replay", chromedp.Click(css(`#replay`)), chromedp.WaitVisible(css(`p.flash`)))
	if msg := text("p.flash"); !strings.Contains(msg, "2 deliveries re-queued") {
		t.Fatalf("flash after replay: %q", msg)
	}
	after := before
	for deadline := time.Now().Add(10 * time.Second); after < before+2 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		do("reload", chromedp.Reload(), chromedp.WaitVisible(css(`#timeline`)))
		after = count(`#timeline li`)
	}
	if after < before+2 {
		t.Fatalf("timeline has %d attempts after the replay, %d before: want the two new ones", after, before)
	}
	do("event screenshot", screenshot(dir, "event"))

	// Resolve the issue.
	do("resolve",
		chromedp.Navigate(base+"/issues"),
		chromedp.WaitVisible(css(`a[href="/issues/`+f.issueID+`"]`)),
		screenshot(dir, "issues"),
		chromedp.Click(css(`a[href="/issues/`+f.issueID+`"]`)),
		chromedp.WaitVisible(css(`#action-resolved`)),
		chromedp.Click(css(`#action-resolved`)),
		chromedp.WaitVisible(css(`p.flash`)),
		screenshot(dir, "issue"),
	)
	if st := text("#status"); st != "resolved" {
		t.Fatalf("issue status shown: %q", st)
	}
	if is, _ := f.store.GetIssue(context.Background(), f.issueID); is.Status != hookwatch.IssueResolved {
		t.Fatalf("issue is %s in the store", is.Status)
	}

	// Pause a destination.
	do("pause",
		chromedp.Navigate(base+"/destinations"),
		chromedp.WaitVisible(css(`form[action="/destinations/app/pause"] button`)),
		chromedp.Click(css(`form[action="/destinations/app/pause"] button`)),
		chromedp.WaitVisible(css(`form[action="/destinations/app/resume"] button`)),
		screenshot(dir, "destinations"),
	)
	if st := text(`tr#app .badge`); st != "paused" {
		t.Fatalf("app shown as %q", st)
	}
	if st, _ := f.store.DestinationStates(context.Background()); !st["app"].Paused {
		t.Fatal("app is not paused in the store")
	}

	// The remaining pages, for the record.
	for _, p := range []string{"alerts", "quarantine"} {
		do(p, chromedp.Navigate(base+"/"+p), chromedp.WaitVisible(css(`h1`)), screenshot(dir, p))
	}
}
