package portal_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/demo"
	"fairway/ledger"
	"fairway/portal"
	"fairway/sqlite"
)

// demoPortal serves the portal over a fresh ledger holding the demo
// scenario, and returns tokens for some of its people.
func demoPortal(tb testing.TB) (*httptest.Server, *ledger.Ledger, map[string]string) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		tb.Fatal(err)
	}
	l := ledger.New(s, blobs)
	if err := demo.Load(ctx, l); err != nil {
		tb.Fatal(err)
	}
	tokens := map[string]string{}
	// Each human's token is their own (a token another human issued
	// would make their reviews that human's too); olivia issues the
	// agent's.
	for _, name := range []string{"omar", "priya", "sergei", "codex-1", "olivia"} {
		by := name
		if name == "codex-1" {
			by = "olivia"
		}
		out, err := l.RotateToken(as(by), name, 0)
		if err != nil {
			tb.Fatal(err)
		}
		tokens[name] = out.Token
	}
	p := portal.New(l, ledger.TokenAuth{L: l}, []byte("test key"), nil)
	p.Links = l
	srv := httptest.NewServer(p.Handler())
	tb.Cleanup(srv.Close)
	return srv, l, tokens
}

func as(name string) context.Context {
	return fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: name})
}

// browser is a client with a cookie jar that does not follow redirects,
// so each test sees exactly what the portal answered.
func browser(tb testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(tb testing.TB, c *http.Client, u string) (*http.Response, string) {
	tb.Helper()
	res, err := c.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func post(tb testing.TB, c *http.Client, u string, form url.Values) (*http.Response, string) {
	tb.Helper()
	res, err := c.PostForm(u, form)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

var hiddenRE = regexp.MustCompile(`name="(nonce|csrf)" value="([^"]+)"`)

func hidden(tb testing.TB, body, name string) string {
	tb.Helper()
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	tb.Fatalf("no hidden %s field in the page", name)
	return ""
}

// signIn signs a fresh browser in through the form and returns it.
func signIn(tb testing.TB, srv *httptest.Server, token string) *http.Client {
	tb.Helper()
	c := browser(tb)
	_, form := get(tb, c, srv.URL+"/signin?next=/lanes")
	res, body := post(tb, c, srv.URL+"/signin", url.Values{"nonce": {hidden(tb, form, "nonce")}, "token": {token}, "next": {"/lanes"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/lanes" {
		tb.Fatalf("sign in: %d %s\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
	return c
}

func TestPortal_EveryPageNeedsASignedInSession(t *testing.T) {
	srv, _, _ := demoPortal(t)
	c := browser(t)
	for _, path := range []string{"/", "/lanes", "/tasks/OPS-SAFE-001", "/audit", "/search", "/evidence/EV-000000000000/content"} {
		res, _ := get(t, c, srv.URL+path)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin?next="+url.QueryEscape(path) {
			t.Errorf("GET %s without a session: %d to %q, want 303 to sign in", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	// A cookie that holds no live token is no session either.
	u, _ := url.Parse(srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "fairway_session", Value: "fw_forged"}})
	if res, _ := get(t, c, srv.URL+"/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("forged session cookie: %d, want 303", res.StatusCode)
	}
}

func TestPortal_SignInSetsAStrictHttpOnlyCookie(t *testing.T) {
	srv, l, tokens := demoPortal(t)
	c := browser(t)
	_, form := get(t, c, srv.URL+"/signin")
	nonce := hidden(t, form, "nonce")

	cases := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"no nonce (another site's form)", url.Values{"token": {tokens["omar"]}}, http.StatusForbidden, "expired or came from elsewhere"},
		{"wrong nonce", url.Values{"nonce": {"wrong"}, "token": {tokens["omar"]}}, http.StatusForbidden, "expired or came from elsewhere"},
		{"empty token", url.Values{"nonce": {"NONCE"}}, http.StatusBadRequest, "Paste a token"},
		{"unknown token", url.Values{"nonce": {"NONCE"}, "token": {"fw_nothing"}}, http.StatusUnauthorized, "signs in no one"},
	}
	for _, tc := range cases {
		if tc.form.Get("nonce") == "NONCE" {
			tc.form.Set("nonce", nonce) // the form's own, as a browser sends it
		}
		res, body := post(t, c, srv.URL+"/signin", tc.form)
		if res.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want %d with %q", tc.name, res.StatusCode, tc.status, tc.want)
		}
		for _, ck := range res.Cookies() {
			if ck.Name == "fairway_session" {
				t.Errorf("%s: a session cookie was set", tc.name)
			}
		}
		_, form = get(t, c, srv.URL+"/signin")
		nonce = hidden(t, form, "nonce")
	}

	res, _ := post(t, c, srv.URL+"/signin", url.Values{"nonce": {nonce}, "token": {tokens["omar"]}, "next": {"//evil.example/"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("sign in with an off-site next: %d to %q, want 303 to /", res.StatusCode, res.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "fairway_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, Path=/", session)
	}
	res, body := get(t, c, srv.URL+"/")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Signed in as <b>omar</b>") {
		t.Fatalf("overview after sign in: %d", res.StatusCode)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy = %q: want only this origin's script files, nothing inline", csp)
	}

	// Revoking the token ends the browser session at once (R1).
	if _, err := l.RevokeTokens(as("omar"), "omar"); err != nil {
		t.Fatal(err)
	}
	if res, _ := get(t, c, srv.URL+"/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("page after the token was revoked: %d, want 303 to sign in", res.StatusCode)
	}
}

func TestPortal_PostsNeedTheSessionsCSRFToken(t *testing.T) {
	srv, l, tokens := demoPortal(t)
	omar := signIn(t, srv, tokens["omar"])
	priya := signIn(t, srv, tokens["priya"])
	_, page := get(t, priya, srv.URL+"/tasks/OPS-SAFE-001")
	priyaCSRF := hidden(t, page, "csrf")

	for _, tc := range []struct {
		name string
		csrf string
	}{{"no token", ""}, {"another session's token", priyaCSRF}, {"a made-up token", "AAAA"}} {
		res, body := post(t, omar, srv.URL+"/tasks/OPS-RUNNER-INVENTORY-001/reviews", url.Values{"csrf": {tc.csrf}, "domain": {"ops"}, "verdict": {"approved"}})
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF token is missing or wrong") {
			t.Errorf("%s: %d, want 403 naming the CSRF token", tc.name, res.StatusCode)
		}
	}
	reviews, _ := l.ListReviews(context.Background(), "OPS-RUNNER-INVENTORY-001")
	if len(reviews) != 0 {
		t.Fatalf("a refused post recorded %d review(s)", len(reviews))
	}
}

// reviewPost signs in as who, reads the task page's CSRF token and posts
// a verdict.
func reviewPost(t *testing.T, srv *httptest.Server, c *http.Client, key string, form url.Values) (*http.Response, string) {
	t.Helper()
	_, page := get(t, c, srv.URL+"/tasks/"+key)
	form.Set("csrf", hidden(t, page, "csrf"))
	return post(t, c, srv.URL+"/tasks/"+key+"/reviews", form)
}

func TestPortal_ReviewsFollowEveryLedgerRule(t *testing.T) {
	srv, l, tokens := demoPortal(t)
	cases := []struct {
		name, who, key string
		form           url.Values
		status         int
		want           string
		reviews        int
	}{
		{"an agent is refused", "codex-1", "OPS-RUNNER-INVENTORY-001", url.Values{"domain": {"ops"}, "verdict": {"approved"}}, http.StatusForbidden, "only a human can", 0},
		{"a reviewer outside the domain is refused", "priya", "OPS-RUNNER-INVENTORY-001", url.Values{"domain": {"ops"}, "verdict": {"approved"}}, http.StatusForbidden, "Refused:", 0},
		{"the owner is not independent", "omar", "OPS-RTE-EXPORTS-001", url.Values{"domain": {"ops"}, "verdict": {"approved"}}, http.StatusForbidden, "Refused:", 0},
		{"an MFA domain asks to step up", "sergei", "OPS-MFA-SENSITIVE-GATE-001", url.Values{"domain": {"security"}, "verdict": {"approved"}}, http.StatusUnauthorized, "needs multi-factor authentication", 0},
		{"a change request lists its items", "omar", "OPS-RUNNER-INVENTORY-001", url.Values{"domain": {"ops"}, "verdict": {"changes_requested"}}, http.StatusBadRequest, "items", 0},
		{"an independent ops reviewer approves", "omar", "OPS-RUNNER-INVENTORY-001", url.Values{"domain": {"ops"}, "verdict": {"approved"}, "comment": {"inventory matches the hosts"}}, http.StatusSeeOther, "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := signIn(t, srv, tokens[tc.who])
			before, _ := l.ListReviews(context.Background(), tc.key)
			res, body := reviewPost(t, srv, c, tc.key, tc.form)
			if res.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("status %d, want %d with %q\n%s", res.StatusCode, tc.status, tc.want, excerpt(body))
			}
			after, _ := l.ListReviews(context.Background(), tc.key)
			if len(after)-len(before) != tc.reviews {
				t.Fatalf("%d review(s) recorded, want %d", len(after)-len(before), tc.reviews)
			}
		})
	}
	// The refusal of the agent is in the audit log, as from the CLI.
	evs, _ := l.AuditLog(context.Background(), fairway.AuditFilter{Subject: "OPS-RUNNER-INVENTORY-001"})
	refused := 0
	for _, e := range evs {
		if e.Action == "review.approved.refused" && e.Actor == "codex-1" {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("audited refusals of codex-1 = %d, want 1", refused)
	}
}

// TestPortal_ApprovalBindsThePageTheReviewerSaw: the review form carries
// the snapshot its page showed, so evidence an agent records between the
// page and the click is not approved unseen: the post is refused, saying
// the task changed, and nothing is recorded; the page read again
// approves.
func TestPortal_ApprovalBindsThePageTheReviewerSaw(t *testing.T) {
	srv, l, tokens := demoPortal(t)
	const key = "OPS-RUNNER-INVENTORY-001"
	c := signIn(t, srv, tokens["omar"])
	_, page := get(t, c, srv.URL+"/tasks/"+key)
	shown := regexp.MustCompile(`name="snapshot" value="(sha256:[0-9a-f]{64})"`).FindStringSubmatch(page)
	if shown == nil {
		t.Fatal("the review form carries no snapshot")
	}
	if _, err := l.AddEvidence(as("codex-1"), fairway.EvidenceAdd{Task: key, Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("slipped in\n")}); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"csrf": {hidden(t, page, "csrf")}, "domain": {"ops"}, "verdict": {"approved"}, "snapshot": {shown[1]}}
	res, body := post(t, c, srv.URL+"/tasks/"+key+"/reviews", form)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "changed since the snapshot you judged") {
		t.Fatalf("approving a page the task has left: status %d, want 409 saying it changed\n%s", res.StatusCode, excerpt(body))
	}
	if reviews, _ := l.ListReviews(context.Background(), key); len(reviews) != 0 {
		t.Fatalf("a refused approval was recorded: %+v", reviews)
	}
	_, page = get(t, c, srv.URL+"/tasks/"+key)
	form.Set("snapshot", regexp.MustCompile(`name="snapshot" value="(sha256:[0-9a-f]{64})"`).FindStringSubmatch(page)[1])
	if res, body := post(t, c, srv.URL+"/tasks/"+key+"/reviews", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approving the page read again: status %d\n%s", res.StatusCode, excerpt(body))
	}
}

func TestPortal_AnAgentSeesNoReviewForms(t *testing.T) {
	srv, _, tokens := demoPortal(t)
	for who, want := range map[string]bool{"codex-1": false, "omar": true} {
		c := signIn(t, srv, tokens[who])
		_, body := get(t, c, srv.URL+"/tasks/OPS-UAT-KIND-FULL-001")
		if got := strings.Contains(body, `value="approved"`); got != want {
			t.Errorf("%s sees the approve button: %v, want %v", who, got, want)
		}
		if got := strings.Contains(body, `/waivers/1/approve`); got != want {
			t.Errorf("%s sees the waiver approval: %v, want %v", who, got, want)
		}
	}
}

func TestPortal_WaiverApprovalFromTheTaskPage(t *testing.T) {
	srv, l, tokens := demoPortal(t)
	for _, tc := range []struct {
		who      string
		status   int
		approved string
	}{{"codex-1", http.StatusForbidden, ""}, {"omar", http.StatusSeeOther, "omar"}} {
		c := signIn(t, srv, tokens[tc.who])
		_, page := get(t, c, srv.URL+"/tasks/OPS-UAT-KIND-FULL-001")
		res, body := post(t, c, srv.URL+"/waivers/1/approve", url.Values{"csrf": {hidden(t, page, "csrf")}, "task": {"OPS-UAT-KIND-FULL-001"}})
		if res.StatusCode != tc.status {
			t.Fatalf("%s approves waiver 1: %d, want %d\n%s", tc.who, res.StatusCode, tc.status, excerpt(body))
		}
		ws, _ := l.ListWaivers(context.Background(), "OPS-UAT-KIND-FULL-001", "")
		if len(ws) != 1 || ws[0].ApprovedBy != tc.approved {
			t.Fatalf("after %s: waivers %+v, want approved by %q", tc.who, ws, tc.approved)
		}
	}
}

func TestPortal_UserTextRendersInert(t *testing.T) {
	srv, l, tokens := demoPortal(t)
	ctx := as("olivia")
	title := `<script>alert("title")</script><img src=x onerror=alert(1)>`
	if _, err := l.CreateTask(ctx, fairway.TaskCreate{Key: "OPS-XSS-001", Lane: "closeout", Title: title, Owner: "codex-1"}); err != nil {
		t.Fatal(err)
	}
	// Log bytes are whatever a command printed: escape sequences that
	// retitle a terminal or clear it, and markup.
	log := "ok\n\x1b]0;owned\x07\x1b[2J<script>alert('log')</script>\nhidden\U000e0069\U000e0067 \u200fmark\n"
	if _, err := l.AddEvidence(as("codex-1"), fairway.EvidenceAdd{Task: "OPS-XSS-001", Kind: fairway.EvidenceLog, Filename: "run.log", MediaType: "text/plain"},
		fairway.EvidenceParts{Content: strings.NewReader(log)}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddClaim(as("codex-1"), fairway.ClaimAdd{Task: "OPS-XSS-001", Text: `done </div><script>alert("claim")</script>`}); err != nil {
		t.Fatal(err)
	}
	c := signIn(t, srv, tokens["omar"])
	for _, path := range []string{"/tasks/OPS-XSS-001", "/lanes", "/"} {
		res, body := get(t, c, srv.URL+path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		if strings.Contains(strings.ReplaceAll(body, liveScript, ""), "<script") || strings.Contains(body, "<img src=x") || strings.ContainsRune(body, 0x1b) || strings.ContainsRune(body, 0x07) {
			t.Errorf("%s holds live markup or control bytes:\n%s", path, excerpt(body))
		}
	}
	_, body := get(t, c, srv.URL+"/tasks/OPS-XSS-001")
	for _, want := range []string{`&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;`, `␛]0;owned␇␛[2J&lt;script&gt;`, `&lt;/div&gt;&lt;script&gt;alert(&#34;claim&#34;)`, `hidden\uE0069\uE0067 \u200Fmark`} {
		if !strings.Contains(body, want) {
			t.Errorf("task page does not show %q as text", want)
		}
	}
}

func TestPortal_EvidenceIsDownloadedNeverRun(t *testing.T) {
	srv, l, tokens := demoPortal(t)
	html := "<html><script>alert(1)</script></html>"
	e, err := l.AddEvidence(as("codex-1"), fairway.EvidenceAdd{Task: "OPS-SAFE-004", Kind: fairway.EvidenceLog, Filename: "x.html", MediaType: "text/html"},
		fairway.EvidenceParts{Content: strings.NewReader(html)})
	if err != nil {
		t.Fatal(err)
	}
	c := signIn(t, srv, tokens["omar"])
	res, body := get(t, c, srv.URL+"/evidence/"+e.ID+"/content")
	if res.StatusCode != http.StatusOK || body != html {
		t.Fatalf("download: %d %q", res.StatusCode, body)
	}
	if ct, cd := res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"); ct != "application/octet-stream" || !strings.HasPrefix(cd, "attachment;") {
		t.Fatalf("an HTML evidence file is sent as %q, %q: want an attachment of octet-stream", ct, cd)
	}
	if !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("evidence bytes without a sandbox policy")
	}

	// Bytes changed in the blob store: the task page names the problem in
	// place of the text and still shows, and the download ends unfinished.
	log, err := l.AddEvidence(as("codex-1"), fairway.EvidenceAdd{Task: "OPS-SAFE-004", Kind: fairway.EvidenceLog, Filename: "smoke.log"},
		fairway.EvidenceParts{Content: strings.NewReader("smoke passed\n")})
	if err != nil {
		t.Fatal(err)
	}
	// demoPortal's folder is this test's other temporary folder.
	paths, _ := filepath.Glob(filepath.Join(filepath.Dir(t.TempDir()), "*", "blobs", "sha256", log.Digest[7:9], log.Digest[7:]))
	if len(paths) != 1 {
		t.Fatalf("the log's blob: found %v", paths)
	}
	os.Chmod(paths[0], 0o644)
	if err := os.WriteFile(paths[0], []byte("smoke FAILED\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, body = get(t, c, srv.URL+"/tasks/OPS-SAFE-004")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "was changed outside Fairway") || strings.Contains(body, "smoke FAILED") {
		t.Fatalf("task page with a changed log: %d\n%s", res.StatusCode, excerpt(body))
	}
	resp, err := c.Get(srv.URL + "/evidence/" + log.ID + "/content")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("a changed log downloaded whole, with no error")
	}
}

func TestPortal_PagesShowTheLedger(t *testing.T) {
	srv, l, tokens := demoPortal(t)
	c := signIn(t, srv, tokens["omar"])
	cases := []struct {
		path string
		want []string
	}{
		{"/", []string{"Platform boundary", "GPUaaS product domains", "route:/v1/allocations/**", "Security boundaries", "Cloudflare DNS, tunnel",
			"prerequisite:kind-compute-capacity", "OPS-UAT-KIND-FULL-001", "Current safe work", "OPS-SAFE-004", "kind-uat</b> (on dependency)"}},
		{"/lanes", []string{"safe-work", "waiting on capacity", "OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001"}},
		{"/tasks/OPS-EDGE-TUNNEL-001", []string{"review:security", "changes requested", "attach the DNS and Access policy diff", "evidence:rollback-plan", "Restore tunnel config v41"}},
		{"/tasks/OPS-SAFE-001", []string{"smoke passed, ready for review", "never counted as evidence", "12 checks, 12 passed", "task.create",
			"Latest evidence of each kind, required or not", `<span class="pill st-unjudged">unjudged</span>`}},
		{"/audit", []string{"Chain verified:", "review.approved.refused"}},
		{"/audit", []string{`<h2 id="checkpoints">Signed checkpoints</h2>`, "No checkpoint has been signed yet"}},
		{"/uat", []string{`<th scope="col">dev</th><th scope="col">kind-local</th><th scope="col">production</th>`,
			"smoke failed in deploy-run 1: terminal connect failed: the dev ingress refuses websocket upgrades",
			"no check of suite kind-smoke covered it in deploy-run 1", "no deploy-run to production yet", "Suites: kind-smoke."}},
		{"/deploys", []string{"Deploy-run #1", "Deploy-run #2", `<span class="stagename">rollback</span> <span class="pill st-passed">passed</span>`,
			`<span class="stagename">smoke</span> <span class="pill st-failed">failed</span>`, "rolled back to revision 41"}},
		{"/deploys?env=kind-local", []string{"Deploy-run #2"}},
		{"/tasks/OPS-MFA-SENSITIVE-GATE-001", []string{`<span class="pill st-replaced">replaced</span>`, `<span class="pill st-detached">detached</span>`,
			"asks whether to edit the step-up route owned by IAM", "Step-up check drafted behind the IAM contract", "generation 2"}},
		{"/tasks/OPS-SAFE-003", []string{`<span class="pill st-interrupted">interrupted</span>`, "the process exited with code 137 (killed: out of memory on ws-ops-2)",
			`<span class="pill st-bad">exit 137</span>`}},
		{"/lanes?owner=sergei", []string{"OPS-MFA-LIVE-DRILL-001", "1 of 21 tasks"}},
		{"/deploys?env=nowhere", []string{"No deploy-runs match the filter."}},
		{"/search?q=tunnel&kind=task", []string{`<a class="mono" href="/tasks/OPS-EDGE-TUNNEL-001">OPS-EDGE-TUNNEL-001</a>`, `<option value="task" selected>task</option>`}},
		{"/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", []string{"No matches.", `value="&lt;script&gt;alert(1)&lt;/script&gt;"`}},
	}
	for _, tc := range cases {
		res, body := get(t, c, srv.URL+tc.path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", tc.path, res.StatusCode)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s does not show %q", tc.path, w)
			}
		}
	}
	// A filter that names no status or risk is refused, saying why.
	for path, want := range map[string]string{"/lanes?status=finished": `&#34;finished&#34; is not a status: use one of open`, "/lanes?risk=extreme": `&#34;extreme&#34; is not a risk: use one of low`} {
		if res, body := get(t, c, srv.URL+path); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want 400 saying %q:\n%s", path, res.StatusCode, want, excerpt(body))
		}
	}
	// An approval made stale by new evidence says so (R4).
	if _, err := l.AddReview(as("omar"), fairway.ReviewAdd{Task: "OPS-RUNNER-INVENTORY-001", Domain: "ops", Verdict: fairway.VerdictApproved}); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, c, srv.URL+"/tasks/OPS-RUNNER-INVENTORY-001")
	if strings.Contains(body, ">stale<") {
		t.Fatal("a current approval is shown stale")
	}
	if _, err := l.AddEvidence(as("codex-1"), fairway.EvidenceAdd{Task: "OPS-RUNNER-INVENTORY-001", Kind: fairway.EvidenceExport, Filename: "runners.csv"},
		fairway.EvidenceParts{Content: strings.NewReader("runner,host\nr-03,ci-c\n")}); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, c, srv.URL+"/tasks/OPS-RUNNER-INVENTORY-001")
	if !strings.Contains(body, ">stale<") {
		t.Fatal("an approval of an older snapshot is not shown stale")
	}
	// A failing smoke nothing requires is shown, with the warning a closer
	// must act on.
	ev, err := l.AddEvidence(as("codex-1"), fairway.EvidenceAdd{Task: "OPS-SAFE-002", Kind: fairway.EvidenceSmoke,
		Command: &fairway.Command{Argv: []string{"./smoke.sh"}, ExitCode: 3}}, fairway.EvidenceParts{Content: strings.NewReader("2 checks failed\n")})
	if err != nil {
		t.Fatal(err)
	}
	_, body = get(t, c, srv.URL+"/tasks/OPS-SAFE-002")
	for _, w := range []string{`<td class="mono">` + ev.ID + `</td><td><span class="pill st-failing">failing</span></td><td>exited 3</td>`,
		`Latest evidence fails (<span class="mono">` + ev.ID + `</span>): whoever closes the task must look at it and acknowledge it.`} {
		if !strings.Contains(body, w) {
			t.Fatalf("the task page does not show %q", w)
		}
	}
}

func excerpt(s string) string {
	if i := strings.Index(s, `<main`); i >= 0 {
		s = s[i:]
	}
	if len(s) > 1500 {
		s = s[:1500]
	}
	return s
}

// liveScript is the one script element a portal page holds.
const liveScript = `<script src="/assets/live.js" defer></script>`

// TestTemplates_NoInlineStyleOrScript keeps the templates within the
// Content-Security-Policy, which would silently drop inline styles.
func TestTemplates_NoInlineStyleOrScript(t *testing.T) {
	files, _ := filepath.Glob("templates/*.html")
	if len(files) == 0 {
		t.Fatal("no templates found")
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		// The one script a page loads is a file of this origin.
		b = []byte(strings.ReplaceAll(string(b), liveScript, ""))
		for _, banned := range []string{`style="`, "<style", "<script", " on"} {
			if banned == " on" {
				if regexp.MustCompile(` on[a-z]+=`).Match(b) {
					t.Errorf("%s has an inline event handler", f)
				}
				continue
			}
			if strings.Contains(string(b), banned) {
				t.Errorf("%s holds %q, which the portal's CSP refuses", f, banned)
			}
		}
	}
}

// TestPortal_CookiesAreSecureOverTLS: served over TLS, the session and
// sign-in cookies carry Secure, so a browser never sends them in clear.
func TestPortal_CookiesAreSecureOverTLS(t *testing.T) {
	_, l, tokens := demoPortal(t)
	srv := httptest.NewTLSServer(portal.New(l, ledger.TokenAuth{L: l}, []byte("test key"), nil).Handler())
	t.Cleanup(srv.Close)
	c := srv.Client()
	jar, _ := cookiejar.New(nil)
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, form := get(t, c, srv.URL+"/signin")
	for _, ck := range res.Cookies() {
		if ck.Name == "fairway_signin" && !ck.Secure {
			t.Errorf("sign-in cookie over TLS is not Secure: %+v", ck)
		}
	}
	res, _ = post(t, c, srv.URL+"/signin", url.Values{"nonce": {hidden(t, form, "nonce")}, "token": {tokens["omar"]}})
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "fairway_session" {
			session = ck
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie over TLS = %+v, want Secure, HttpOnly, SameSite=Strict", session)
	}
}

// TestPortal_OverviewCloseoutFollowsTheLedger: the overview's closeout
// dependencies name the audit event they were computed at; after a
// write the page shows the previous figures marked as being recomputed,
// then the new ones.
func TestPortal_OverviewCloseoutFollowsTheLedger(t *testing.T) {
	srv, l, tokens := demoPortal(t)
	c := signIn(t, srv, tokens["omar"])
	head, err := l.AuditTree(as("omar"))
	if err != nil {
		t.Fatal(err)
	}
	_, body := get(t, c, srv.URL+"/")
	at := fmt.Sprintf("as of audit event #%d", head.Size)
	if !strings.Contains(body, at) || strings.Contains(body, "data-recheck") {
		t.Fatalf("first overview does not say %q, or says it is recomputing", at)
	}
	// The waiver lifts the kind capacity prerequisite of the kind UAT task.
	if _, err := l.ApproveWaiver(as("omar"), 1); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, c, srv.URL+"/")
	if !strings.Contains(body, at) || !strings.Contains(body, `data-recheck="closeout"`) {
		t.Fatalf("overview right after a write: want the figures of #%d marked as recomputing", head.Size)
	}
	next := fmt.Sprintf("as of audit event #%d", head.Size+1)
	for range 200 {
		if _, body = get(t, c, srv.URL+"/"); strings.Contains(body, next) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, next) || strings.Contains(body, "data-recheck") {
		t.Fatalf("the overview never showed the figures %s", next)
	}
	if !strings.Contains(body, "waived") {
		t.Errorf("recomputed closeout does not show the waived prerequisite:\n%s", excerpt(body[strings.Index(body, `id="closeout"`):]))
	}
}

// TestPortal_OneTimeLoginLink: a link opens a page that spends nothing;
// its button signs the person in once; the same link is refused after.
func TestPortal_OneTimeLoginLink(t *testing.T) {
	srv, l, _ := demoPortal(t)
	link, err := l.IssueLoginLink(as("sergei"), ledger.LoginLinkTTL, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := browser(t)
	res, page := get(t, c, srv.URL+"/login?link="+url.QueryEscape(link.Link))
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "Sign in with this link") {
		t.Fatalf("link page: %d\n%s", res.StatusCode, excerpt(page))
	}
	// Opening the page spent nothing: a previewer that fetched it leaves
	// the link good.
	get(t, browser(t), srv.URL+"/login?link="+url.QueryEscape(link.Link))
	res, body := post(t, c, srv.URL+"/signin/link", url.Values{"nonce": {hidden(t, page, "nonce")}, "link": {link.Link}, "next": {"/audit"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/audit" {
		t.Fatalf("spending the link: %d %q\n%s", res.StatusCode, res.Header.Get("Location"), excerpt(body))
	}
	if _, body := get(t, c, srv.URL+"/"); !strings.Contains(body, "Signed in as <b>sergei</b> (human)") {
		t.Fatalf("after the link: %s", excerpt(body))
	}
	// Again, from another browser: used.
	c2 := browser(t)
	_, page = get(t, c2, srv.URL+"/login?link="+url.QueryEscape(link.Link))
	res, body = post(t, c2, srv.URL+"/signin/link", url.Values{"nonce": {hidden(t, page, "nonce")}, "link": {link.Link}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "used already") {
		t.Fatalf("the link again: %d\n%s", res.StatusCode, excerpt(body))
	}
	// Without the page's nonce (another site's form): refused, link kept.
	link2, _ := l.IssueLoginLink(as("omar"), ledger.LoginLinkTTL, 0)
	res, _ = post(t, browser(t), srv.URL+"/signin/link", url.Values{"link": {link2.Link}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("a link posted without the form's nonce: %d", res.StatusCode)
	}
	if _, err := l.RedeemLoginLink(context.Background(), link2.Link); err != nil {
		t.Fatalf("the refused post spent the link: %v", err)
	}
}

// TestPortal_SignOutRevokesTheLinksToken: a copy of the session cookie
// (a stolen one) stops working once its person signs out, and the
// revocation is audited; a token pasted into the sign-in form is the
// person's own credential and survives signing out.
func TestPortal_SignOutRevokesTheLinksToken(t *testing.T) {
	srv, l, tokens := demoPortal(t)
	link, err := l.IssueLoginLink(as("sergei"), ledger.LoginLinkTTL, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := browser(t)
	_, page := get(t, c, srv.URL+"/login?link="+url.QueryEscape(link.Link))
	if res, body := post(t, c, srv.URL+"/signin/link", url.Values{"nonce": {hidden(t, page, "nonce")}, "link": {link.Link}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("spending the link: %d\n%s", res.StatusCode, excerpt(body))
	}
	base, _ := url.Parse(srv.URL)
	var stolen *http.Cookie
	for _, ck := range c.Jar.Cookies(base) {
		if ck.Name == "fairway_session" {
			stolen = ck
		}
	}
	if stolen == nil {
		t.Fatal("no session cookie after the link")
	}
	thief := browser(t)
	thief.Jar.SetCookies(base, []*http.Cookie{{Name: stolen.Name, Value: stolen.Value, Path: "/"}})
	_, body := get(t, thief, srv.URL+"/")
	if !strings.Contains(body, "Signed in as <b>sergei</b>") {
		t.Fatalf("the copied cookie before sign-out: %s", excerpt(body))
	}
	res, _ := post(t, c, srv.URL+"/signout", url.Values{"csrf": {hidden(t, body, "csrf")}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Fatalf("sign out: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = get(t, thief, srv.URL+"/")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/signin") {
		t.Fatalf("the copied cookie after sign-out: %d %q, want sent to sign in", res.StatusCode, res.Header.Get("Location"))
	}
	if _, err := l.Authenticate(context.Background(), stolen.Value); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("the signed-out token at the ledger: %v, want EUNAUTHORIZED", err)
	}
	events, err := l.AuditLog(as("sergei"), fairway.AuditFilter{Subject: "sergei"})
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.Action != "token.signout" || last.Actor != "sergei" || !strings.Contains(string(last.Change), `"token_id":"`+fairway.TokenID(ledger.HashToken(stolen.Value))+`"`) {
		t.Fatalf("the last event of sergei: %s by %s %s, want token.signout naming the token", last.Action, last.Actor, last.Change)
	}

	// A pasted token: signing out forgets it in this browser, no more.
	pasted := signIn(t, srv, tokens["omar"])
	_, body = get(t, pasted, srv.URL+"/")
	post(t, pasted, srv.URL+"/signout", url.Values{"csrf": {hidden(t, body, "csrf")}})
	if a, err := l.Authenticate(context.Background(), tokens["omar"]); err != nil || a.Name != "omar" {
		t.Fatalf("omar's own token after signing out of the portal: %v %v, want still omar's", a, err)
	}
	if v, err := l.VerifyAudit(as("omar")); err != nil || !v.OK {
		t.Fatalf("audit verify after sign-outs: %+v %v", v, err)
	}
}

// A live stream opened with a copied cookie ends when the person signs
// out: the signed-out token hears of no change after.
func TestPortal_LiveStreamEndsAtSignOut(t *testing.T) {
	srv, l, _ := demoPortal(t)
	link, err := l.IssueLoginLink(as("sergei"), ledger.LoginLinkTTL, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := browser(t)
	_, page := get(t, c, srv.URL+"/login?link="+url.QueryEscape(link.Link))
	if res, body := post(t, c, srv.URL+"/signin/link", url.Values{"nonce": {hidden(t, page, "nonce")}, "link": {link.Link}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("spending the link: %d\n%s", res.StatusCode, excerpt(body))
	}
	base, _ := url.Parse(srv.URL)
	thief := browser(t)
	thief.Jar.SetCookies(base, c.Jar.Cookies(base))
	res, err := thief.Get(srv.URL + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("opening /live: %d", res.StatusCode)
	}
	_, body := get(t, c, srv.URL+"/")
	if res, _ := post(t, c, srv.URL+"/signout", url.Values{"csrf": {hidden(t, body, "csrf")}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", res.StatusCode)
	}
	if _, err := l.CreateTask(as("olivia"), fairway.TaskCreate{Key: "LIVE-AFTER", Title: "written after the sign-out"}); err != nil {
		t.Fatal(err)
	}
	// The stream's next event is the hole; its end is the fix.
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "event: ") {
			t.Fatalf("the signed-out cookie's live stream delivered %q", sc.Text())
		}
	}
}

// When a portal sign-in expires the person is told so: the page they
// were on sends them to sign in saying their sign-in ended, and pasting
// the expired token says when it expired and how to get a new link.
func TestPortal_AnExpiredSignInSaysSo(t *testing.T) {
	srv, l, _ := demoPortal(t)
	now := time.Now().UTC()
	l.Now = func() time.Time { return now }
	link, err := l.IssueLoginLink(as("sergei"), ledger.LoginLinkTTL, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := browser(t)
	_, page := get(t, c, srv.URL+"/login?link="+url.QueryEscape(link.Link))
	if res, body := post(t, c, srv.URL+"/signin/link", url.Values{"nonce": {hidden(t, page, "nonce")}, "link": {link.Link}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("spending the link: %d\n%s", res.StatusCode, excerpt(body))
	}
	base, _ := url.Parse(srv.URL)
	var token string
	for _, ck := range c.Jar.Cookies(base) {
		if ck.Name == "fairway_session" {
			token = ck.Value
		}
	}
	now = now.Add(time.Hour)
	res, _ := get(t, c, srv.URL+"/lanes")
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin?") {
		t.Fatalf("a page after the sign-in expired: %d %q, want sent to sign in", res.StatusCode, loc)
	}
	_, body := get(t, c, srv.URL+loc)
	if !strings.Contains(body, "Your sign-in has ended") {
		t.Fatalf("the sign-in page after an expired sign-in does not say it ended:\n%s", excerpt(body))
	}
	_, body = post(t, c, srv.URL+"/signin", url.Values{"nonce": {hidden(t, body, "nonce")}, "token": {token}})
	if !strings.Contains(body, "expired at "+now.Format(time.RFC3339)) || !strings.Contains(body, "fairway portal login-link") {
		t.Fatalf("pasting the expired token does not say it expired and how to get a link:\n%s", excerpt(body))
	}
}
