package portal_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"fairway"
	fairwayhttp "fairway/http"
	"fairway/ledger"
)

// chromium finds the browser: $FAIRWAY_CHROMIUM, else Debian's chromium
// package. CI installs it; elsewhere the browser tests skip.
func chromium(t *testing.T) string {
	if p := os.Getenv("FAIRWAY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (Debian: apt-get install chromium; or set FAIRWAY_CHROMIUM): the browser tests need it")
	return ""
}

// artifacts is where screenshots go: $FAIRWAY_TEST_ARTIFACTS when set, so
// CI keeps them, else the test's temporary folder.
func artifacts(t *testing.T) string {
	dir := os.Getenv("FAIRWAY_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openBrowser starts a headless Chromium with a fresh profile, so each
// person signs in with cookies of their own; console errors and uncaught
// exceptions (a CSP violation among them) are collected.
func openBrowser(t *testing.T, exe string) (context.Context, *[]string) {
	// The profile is removed after Chromium's helper processes let go of
	// it; they may outlive the browser by a moment, so the removal is
	// retried rather than failing the test.
	profile, err := os.MkdirTemp("", "fairway-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(profile), chromedp.WindowSize(1366, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// Chromium speaks newer protocol events than the client decodes; they
	// are not ours to judge, so its decoding complaints are dropped.
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(func(string, ...any) {}))
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				problems = append(problems, "console error")
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx, &problems
}

func shot(t *testing.T, ctx context.Context, dir, name string) {
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func browserSignIn(srvURL, token string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(srvURL + "/signin?next=/"),
		chromedp.WaitVisible(`#token`, chromedp.ByID),
		chromedp.SendKeys(`#token`, token, chromedp.ByID),
		chromedp.Submit(`#token`, chromedp.ByID),
		chromedp.WaitVisible(`#closeout`, chromedp.ByID),
	}
}

func TestBrowser_ReviewerApprovesAndAnAgentCannot(t *testing.T) {
	exe := chromium(t)
	srv, l, tokens := demoPortal(t)
	dir := artifacts(t)
	const key = "OPS-UAT-KIND-FULL-001"

	// A human reviewer: overview → task → approve.
	ctx, problems := openBrowser(t, exe)
	var gate, reviews, flash string
	err := chromedp.Run(ctx,
		browserSignIn(srv.URL, tokens["omar"]),
		chromedp.ActionFunc(func(context.Context) error { shot(t, ctx, dir, "overview"); return nil }),
		chromedp.Click(`a[href="/tasks/`+key+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#gate-table`, chromedp.ByID),
		chromedp.Text(`#gate-table`, &gate, chromedp.ByID),
		chromedp.Text(`#reviews + div`, &reviews, chromedp.ByQuery),
		chromedp.ActionFunc(func(context.Context) error { shot(t, ctx, dir, "task-before-approval"); return nil }),
		chromedp.Click(`button[aria-label="Approve for ops"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.notice.ok`, chromedp.ByQuery),
		chromedp.Text(`.notice.ok`, &flash, chromedp.ByQuery),
		chromedp.ActionFunc(func(context.Context) error { shot(t, ctx, dir, "task-approved"); return nil }),
		chromedp.Navigate(srv.URL+"/lanes"),
		chromedp.WaitVisible(`.board`, chromedp.ByQuery),
		chromedp.ActionFunc(func(context.Context) error { shot(t, ctx, dir, "lanes"); return nil }),
		chromedp.Navigate(srv.URL+"/audit"),
		chromedp.WaitVisible(`.notice.ok`, chromedp.ByQuery),
		chromedp.ActionFunc(func(context.Context) error { shot(t, ctx, dir, "audit"); return nil }),
	)
	if err != nil {
		t.Fatalf("reviewer in the browser: %v", err)
	}
	for _, want := range []string{"prerequisite:kind-compute-capacity", "unsatisfied", "review:ops", "stale"} {
		if !strings.Contains(gate, want) {
			t.Errorf("gate table does not show %q:\n%s", want, gate)
		}
	}
	if !strings.Contains(reviews, "stale") {
		t.Errorf("reviews do not mark the stale approval:\n%s", reviews)
	}
	if flash != "Your approval is recorded." {
		t.Errorf("after approving: %q", flash)
	}
	rs, _ := l.ListReviews(context.Background(), key)
	if len(rs) != 2 || rs[1].Reviewer != "omar" || rs[1].Verdict != "approved" {
		t.Fatalf("reviews after the browser approval: %+v", rs)
	}

	// An agent: no forms, and posting the form by hand is refused.
	actx, aproblems := openBrowser(t, exe)
	var buttons int
	var refusal string
	err = chromedp.Run(actx,
		browserSignIn(srv.URL, tokens["codex-1"]),
		chromedp.Navigate(srv.URL+"/tasks/"+key),
		chromedp.WaitVisible(`#gate-table`, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll('button[value="approved"], form[action^="/waivers/"]').length`, &buttons),
		chromedp.ActionFunc(func(context.Context) error { shot(t, actx, dir, "task-as-agent"); return nil }),
		// The page's policy allows no fetch, so the agent builds the form
		// a human would have had, with its own session's CSRF token.
		chromedp.Evaluate(`(() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/tasks/`+key+`/reviews';
			for (const [k, v] of [['csrf', document.querySelector('input[name=csrf]').value], ['domain', 'ops'], ['verdict', 'approved']]) {
				const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); }
			document.body.appendChild(f); f.submit(); return true })()`, nil),
		chromedp.WaitVisible(`.notice.bad`, chromedp.ByQuery),
		chromedp.Text(`.notice.bad`, &refusal, chromedp.ByQuery),
		chromedp.ActionFunc(func(context.Context) error { shot(t, actx, dir, "task-agent-refused"); return nil }),
	)
	if err != nil {
		t.Fatalf("agent in the browser: %v", err)
	}
	if buttons != 0 {
		t.Errorf("the agent's task page has %d review or waiver forms, want none", buttons)
	}
	if !strings.Contains(refusal, "only a human can review; codex-1 is an agent") {
		t.Errorf("the agent's posted approval: %q, want the ledger's refusal", refusal)
	}
	if rs, _ := l.ListReviews(context.Background(), key); len(rs) != 2 {
		t.Fatalf("the agent's post recorded a review: %+v", rs[len(rs)-1])
	}
	if len(*problems)+len(*aproblems) > 0 {
		t.Errorf("console errors: %v %v", *problems, *aproblems)
	}
	t.Logf("screenshots in %s", dir)
}

// TestBrowser_EveryPageAtLaptopAndPhoneWidth loads each page of the demo
// at two widths, follows the overview to a task and on to its evidence,
// and fails on any console error (a CSP violation among them).
func TestBrowser_EveryPageAtLaptopAndPhoneWidth(t *testing.T) {
	exe := chromium(t)
	srv, _, tokens := demoPortal(t)
	dir := artifacts(t)
	ctx, problems := openBrowser(t, exe)
	if err := chromedp.Run(ctx, browserSignIn(srv.URL, tokens["sergei"])); err != nil {
		t.Fatal(err)
	}
	pages := []struct{ path, name, ready, want string }{
		{"/", "overview", "#closeout", "Current safe work"},
		{"/lanes", "lanes", ".board", "waiting on"},
		{"/lanes?surface=mfa&risk=high", "lanes-filtered", ".board", "1 of"},
		{"/tasks/OPS-MFA-SENSITIVE-GATE-001", "task-sessions", "#sessions", "replaced by"},
		{"/tasks/OPS-SAFE-003", "task-interrupted", "#sessions", "the process exited with code 137"},
		{"/tasks/OPS-UAT-DEV-DEPLOY-001", "task-deploy", "#deploys", "rollback"},
		{"/uat", "uat", "#uat-matrix", "smoke failed in deploy-run 1: terminal connect failed"},
		{"/deploys", "deploys", ".pipeline", "rolled back to revision 41"},
		{"/audit", "audit", "#checkpoints", "Chain verified"},
		{"/search?q=smoke", "search", "#search-table", "smoke"},
	}
	for _, width := range []struct {
		name string
		w, h int64
	}{{"laptop", 1366, 900}, {"phone", 390, 844}} {
		if err := chromedp.Run(ctx, chromedp.EmulateViewport(width.w, width.h)); err != nil {
			t.Fatal(err)
		}
		for _, pg := range pages {
			var text string
			var overflow bool
			var unnamed []string
			err := chromedp.Run(ctx,
				chromedp.Navigate(srv.URL+pg.path),
				chromedp.WaitVisible(pg.ready, chromedp.ByQuery),
				chromedp.Text(`#main`, &text, chromedp.ByID),
				// Every control and link has an accessible name: its text,
				// a label, or an aria-label.
				chromedp.Evaluate(`Array.from(document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea'))
					.filter(e => !((e.getAttribute('aria-label') || '').trim() || (e.labels && e.labels.length) || e.textContent.trim() || e.querySelector('img[alt]')))
					.map(e => e.outerHTML.slice(0, 120))`, &unnamed),
				// Wide tables scroll inside their own box; the page itself
				// never scrolls sideways.
				chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow),
			)
			if err != nil {
				t.Fatalf("%s at %s: %v", pg.path, width.name, err)
			}
			if !strings.Contains(text, pg.want) {
				t.Errorf("%s at %s does not show %q", pg.path, width.name, pg.want)
			}
			if overflow {
				t.Errorf("%s at %s scrolls sideways", pg.path, width.name)
			}
			if len(unnamed) > 0 {
				t.Errorf("%s has controls without an accessible name: %v", pg.path, unnamed)
			}
			shot(t, ctx, dir, pg.name+"-"+width.name)
		}
	}
	// The keyboard's first stop is the skip link, which moves focus to
	// the page's content.
	var first, focused string
	err := chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/lanes"),
		chromedp.WaitVisible(`.board`, chromedp.ByQuery),
		chromedp.KeyEvent("\t"),
		chromedp.Evaluate(`document.activeElement.textContent`, &first),
		chromedp.KeyEvent("\r"),
		chromedp.Evaluate(`(document.activeElement && document.activeElement.id) || location.hash.slice(1)`, &focused),
	)
	if err != nil {
		t.Fatal(err)
	}
	if first != "Skip to content" || focused != "main" {
		t.Errorf("keyboard: first stop %q, after Enter focus on #%s", first, focused)
	}
	// Overview → a task → its evidence, by clicking.
	var evidence, download string
	err = chromedp.Run(ctx,
		chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.Click(`a[href="/tasks/OPS-UAT-KIND-FULL-001"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#evidence`, chromedp.ByID),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('.evidence pre.log')).map(e => e.innerText).join(" | ")`, &evidence),
		chromedp.Evaluate(`document.querySelector('.evidence a[download]').getAttribute('href')`, &download),
	)
	if err != nil {
		t.Fatalf("overview to evidence: %v", err)
	}
	if !strings.Contains(evidence, "kind smoke on the alternate small profile") {
		t.Errorf("the task's smoke log in the page: %q", evidence)
	}
	if !strings.HasPrefix(download, "/evidence/EV-") {
		t.Errorf("evidence download link = %q", download)
	}
	if len(*problems) > 0 {
		t.Errorf("console errors: %v", *problems)
	}
	t.Logf("screenshots in %s", dir)
}

// TestBrowser_TaskPageUpdatesLive: a task page open in one tab changes,
// without a reload, when a write is made through the JSON API.
func TestBrowser_TaskPageUpdatesLive(t *testing.T) {
	exe := chromium(t)
	srv, l, tokens := demoPortal(t)
	api := httptest.NewServer(fairwayhttp.NewServer(l, ledger.TokenAuth{L: l}, nil))
	t.Cleanup(api.Close)
	dir := artifacts(t)
	const key = "OPS-SAFE-004"
	ctx, problems := openBrowser(t, exe)
	var marker bool
	err := chromedp.Run(ctx,
		browserSignIn(srv.URL, tokens["omar"]),
		chromedp.Navigate(srv.URL+"/tasks/"+key),
		chromedp.WaitVisible(`#claims`, chromedp.ByID),
		// A mark on the window survives only if the page is not reloaded.
		chromedp.Evaluate(`window.fairwayNoReload = true`, nil),
		chromedp.WaitVisible(`#live-status.on`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	const claim = "billing smoke ran against the active allocation: 9 checks passed"
	c := fairwayhttp.NewClient(api.URL, tokens["codex-1"])
	if _, err := c.AddClaim(context.Background(), fairway.ClaimAdd{Task: key, Text: claim}); err != nil {
		t.Fatal(err)
	}
	var claims string
	err = chromedp.Run(ctx,
		chromedp.WaitVisible(`.claim`, chromedp.ByQuery),
		chromedp.Text(`.claim`, &claims, chromedp.ByQuery),
		chromedp.Evaluate(`window.fairwayNoReload === true`, &marker),
		chromedp.ActionFunc(func(context.Context) error { shot(t, ctx, dir, "task-live-update"); return nil }),
	)
	if err != nil {
		t.Fatalf("waiting for the live update: %v", err)
	}
	if !strings.Contains(claims, claim) {
		t.Errorf("claims after the API write: %q", claims)
	}
	if !marker {
		t.Error("the page was reloaded; it should have updated in place")
	}
	if len(*problems) > 0 {
		t.Errorf("console errors: %v", *problems)
	}
}
