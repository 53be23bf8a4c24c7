package httpapi_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds Debian's chromium. CI (env CI set) must run the browser
// test, so there a missing browser fails; elsewhere the test is skipped
// with a message saying how to install it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is not installed (/usr/bin/chromium): .ci/run installs Debian's chromium package, and CI must run the browser test")
	}
	t.Skip("BROWSER TEST SKIPPED: Chromium is not installed; `apt-get install -y chromium` runs it (in CI a missing Chromium is a failure)")
	return ""
}

// artifactsDir is where the screenshot goes: $PARKLOT_TEST_ARTIFACTS when
// set (CI keeps it), else the test's temporary directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PARKLOT_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func testDashboardInChromium(t *testing.T, w *world) {
	exe := chromium(t)

	// The node's own HTTP server serves the dashboard too.
	resp, err := http.Get(w.node.HTTPAddress() + "/")
	if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / on the node: %v %v", resp, err)
	}
	resp.Body.Close()

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	defer cancel()

	// Every console message of the page, exceptions included, is kept:
	// an error fails the test at the end.
	var mu sync.Mutex
	var pageErrors []string
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				mu.Lock()
				pageErrors = append(pageErrors, m.String())
				mu.Unlock()
			}
		}
	}()

	const web = `article.pool[data-pool="web"]`
	err = chromedp.Do(ctx,
		chromedp.Navigate(w.open.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(web)),
		chromedp.WaitVisible(chromedp.CSS(`#conn[data-state="live"]`)),
	)
	if err != nil {
		t.Fatalf("load the dashboard: %v", err)
	}
	pools, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('article[data-pool] h3')).map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(pools)
	if want := []string{"drain", "off", "p", "small", "web", "zero"}; !slices.Equal(pools, want) {
		t.Fatalf("the dashboard shows pools %v, want %v", pools, want)
	}
	if before, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(web+` [data-capacity]`))); err != nil || before != "0 / 4 units" {
		t.Fatalf("pool web before the submit: %q %v", before, err)
	}
	levels, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('article.lot[data-lot="garage"] ul.levels li .lvl')).map(e => e.textContent)`))
	if err != nil || !slices.Equal(levels, []string{"G", "L1"}) {
		t.Fatalf("lot garage shows levels %v (%v), want G and L1", levels, err)
	}

	if resp := do(t, w.open, request{method: "POST", path: "/lots/garage/park", body: `{"plate":"WEB 1"}`}); resp.status != http.StatusCreated {
		t.Fatalf("park: %d %s", resp.status, resp.body)
	}
	sub := do(t, w.open, request{method: "POST", path: "/pools/web/tasks",
		body: `{"taskId":"web-1","tenant":"acme","units":3,"kind":"sleep","payload":{"duration":"2m"}}`})
	if sub.status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", sub.status, sub.body)
	}
	defer do(t, w.open, request{method: "DELETE", path: "/pools/web/tasks/web-1"})

	// The page updates by itself: the task shows as running, the bar
	// moves, and its start reaches the admissions and the audit feed.
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(web+` ul.tasks [data-task="web-1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#feed a[data-task="web-1"]`)),
	)
	if err != nil {
		t.Fatalf("the dashboard did not update after the submit: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('article.lot[data-lot="garage"] [data-stat="vehicles"]').textContent === "1"`)); err != nil {
		t.Fatalf("the lot did not show the parked car: %v", err)
	}
	// The occupancy map has one cell per spot and shows the parked car.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => {
		const cells = document.querySelectorAll('article.lot[data-lot="garage"] .map .spot');
		const taken = document.querySelectorAll('article.lot[data-lot="garage"] .map .spot[data-state="occupied"]');
		return cells.length === 9 && taken.length === 1;
	})()`)); err != nil {
		t.Fatalf("the lot's occupancy map does not show 9 spots with 1 occupied: %v", err)
	}
	if after, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(web+` [data-capacity]`))); err != nil || after != "3 / 4 units" {
		t.Fatalf("pool web after the submit: %q %v, want 3 / 4 units", after, err)
	}
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(web+` a[data-task="web-1"]`), "href"))
	if err != nil || !strings.HasPrefix(href.Value, "http://127.0.0.1:8233/namespaces/") || !strings.HasSuffix(href.Value, "/workflows/task%2Fweb-1") {
		t.Fatalf("task link %q (%v) does not open the task's workflow in the Temporal UI", href.Value, err)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(artifactsDir(t), "dashboard.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)

	mu.Lock()
	defer mu.Unlock()
	if len(pageErrors) > 0 {
		t.Fatalf("the page reported errors: %v", pageErrors)
	}
}
