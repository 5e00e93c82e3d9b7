package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/demo"
	fairwayhttp "fairway/http"
	"fairway/ledger"
	"fairway/sqlite"
)

// testClock moves one second per reading, so both modes see the same times.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// cliEnv runs CLI invocations either on a local store or against a server,
// with the same actors (alice, a human; codex, an agent) in both.
type cliEnv struct {
	local  bool
	dir    string
	clock  *testClock
	server string
	tokens map[string]string
	// l is the server's ledger (server mode only).
	l *ledger.Ledger
}

func newCLIEnv(t *testing.T, local bool) *cliEnv {
	e := &cliEnv{local: local, dir: t.TempDir(), clock: &testClock{t: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}, tokens: map[string]string{}}
	store, err := sqlite.Open(context.Background(), filepath.Join(e.dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewFileStore(filepath.Join(e.dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(store, blobs)
	l.Now = e.clock.Now
	n := 0
	l.NewToken = func() string { n++; return "fw_test_" + string(rune('0'+n)) }
	ctx := context.Background()
	// Each human's token is their own: one alice issued for olivia would
	// make olivia's reviews alice's too.
	for _, a := range []fairway.ActorCreate{{Name: "alice", Kind: "human", IssueToken: true}, {Name: "codex", Kind: "agent", IssueToken: true},
		{Name: "olivia", Kind: "human"}, {Name: "omar", Kind: "human"}} {
		out, err := l.CreateActor(fairway.NewContextWithActor(ctx, &fairway.Actor{Name: "alice"}), a)
		if err == nil && !a.IssueToken {
			// At the creation's time, so later times are as before.
			at := out.Actor.CreatedAt
			l.Now = func() time.Time { return at }
			out, err = l.RotateToken(fairway.NewContextWithActor(ctx, &fairway.Actor{Name: a.Name}), a.Name, 0)
			l.Now = e.clock.Now
		}
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[a.Name] = out.Token
	}
	if local {
		store.Close()
		return e
	}
	e.l = l
	srv := httptest.NewServer(fairwayhttp.NewServer(l, ledger.TokenAuth{L: l}, nil))
	t.Cleanup(func() { srv.Close(); store.Close() })
	e.server = srv.URL
	return e
}

func (e *cliEnv) run(as string, args ...string) (stdout, stderr string, code int) {
	return e.runIn("", as, args...)
}

func (e *cliEnv) runIn(stdin, as string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	env := map[string]string{}
	if e.local {
		env["FAIRWAY_DIR"] = e.dir
		env["FAIRWAY_ACTOR"] = as
	} else {
		env["FAIRWAY_SERVER"] = e.server
		env["FAIRWAY_TOKEN"] = e.tokens[as]
	}
	a := &app{ctx: context.Background(), stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return env[k] }, now: e.clock.Now}
	code = a.run(args)
	return out.String(), errb.String(), code
}

// cliSteps run in order on one ledger. Each is checked for its exact
// output and exit code, and the local and server runs must agree.
var cliSteps = []struct {
	as      string
	args    string
	stdin   string
	code    int
	stdout  string
	stderr  string
	partial bool // stdout is a prefix
}{
	{as: "alice", args: "lane create closeout --prefix OPS-FIX", stdout: "created lane closeout\n"},
	{as: "alice", args: `task create --lane closeout --title Restore-capacity --risk high --priority 1 --owner alice`, stdout: "created OPS-FIX-001\n"},
	{as: "alice", args: "task create OPS-UAT-KIND-FULL-001 --title Full-kind-UAT --domain ops --mutating", stdout: "created OPS-UAT-KIND-FULL-001\n"},
	{as: "alice", args: "dep add OPS-UAT-KIND-FULL-001 OPS-FIX-001", stdout: "OPS-UAT-KIND-FULL-001 now waits on OPS-FIX-001\n"},
	{as: "alice", args: "dep add OPS-FIX-001 OPS-UAT-KIND-FULL-001", code: exitConflict,
		stderr: "fairway: OPS-FIX-001 cannot depend on OPS-UAT-KIND-FULL-001: that closes the cycle OPS-FIX-001 blocks OPS-UAT-KIND-FULL-001 blocks OPS-FIX-001\n"},
	{as: "codex", args: "next", stdout: "KEY          STATUS  PRI  RISK  LANE      OWNER  TITLE\nOPS-FIX-001  open    P1   high  closeout  alice  Restore-capacity\n"},
	{as: "codex", args: "task show OPS-FIX-001", stdout: `OPS-FIX-001  Restore-capacity
  status:          open
  lane:            closeout
  owner:           alice
  creator:         alice
  risk:            high
  priority:        P1
  mutating:        no
  review domains:  -
  labels:          -
  created:         2026-11-01T09:00:06Z
  updated:         2026-11-01T09:00:06Z
  waits on:        -
  evidence:        -
  reviews:         -
  gate:            PASS
`},
	{as: "codex", args: "task move OPS-FIX-001 blocked --wait-reason capacity --note unschedulable", stdout: "OPS-FIX-001 is blocked (waiting on capacity)\n"},
	{as: "codex", args: "lane list", stdout: "LANE      PREFIX   STATE                READY  OPEN  IN PROGRESS  BLOCKED  IN REVIEW  DONE\ncloseout  OPS-FIX  waiting on capacity  0      0     0            1        0          0\n"},
	{as: "codex", args: "next", stdout: "nothing is ready: no open task has all its dependencies done\n"},
	{as: "alice", args: "task close OPS-UAT-KIND-FULL-001", code: exitGateFailed, partial: true,
		stdout: "Gate for OPS-UAT-KIND-FULL-001: FAIL\n  NOT_APPLICABLE policy — no governance policy is in force, so only dependencies are checked; bootstrap one with `fairway policy apply FILE`\n  UNSATISFIED    dependency:OPS-FIX-001 — OPS-FIX-001 is blocked\n",
		stderr: "fairway: the gate for OPS-UAT-KIND-FULL-001 did not pass; run `fairway gate explain OPS-UAT-KIND-FULL-001` to see what is unsatisfied\n"},
	{as: "codex", args: "task close OPS-FIX-001", code: exitForbidden,
		stderr: "fairway: only a human can close a task; codex is an agent. Agents record evidence and ask for review\n"},
	{as: "codex", args: "task show NOPE-1", code: exitNotFound, stderr: "fairway: task \"NOPE-1\" not found\n"},
	{as: "alice", args: "task create X-1 --title", code: exitUsage, stderr: "fairway: flag needs an argument: -title (see 'fairway task create --help')\n"},
	{as: "alice", args: "task create X-1 --title ' ' --owner ghost", code: exitUsage, stderr: "fairway: title: is required and must not be blank\n"},
	{as: "alice", args: "task create X-1 --title T --owner ghost", code: exitUsage, stderr: "fairway: owner: actor \"ghost\" does not exist; create it first with `fairway actor create ghost`\n"},
	{as: "alice", args: "task move OPS-FIX-001 in_review", code: exitConflict,
		stderr: "fairway: task OPS-FIX-001 cannot move from blocked to in_review; allowed from blocked: open, in_progress, done (via `task close`), cancelled (via `task cancel`)\n"},
	{as: "alice", args: "task move OPS-FIX-001 in_progress", stdout: "OPS-FIX-001 is in_progress\n"},
	{as: "alice", args: "task close OPS-FIX-001", partial: true, stdout: "Gate for OPS-FIX-001: PASS\n  No requirement applies to OPS-FIX-001: nothing was checked, and its evidence is not judged.\n  A human can add review domains or evidence to its scope (`fairway task update OPS-FIX-001 --domain DOMAIN`).\n  NOT_APPLICABLE policy — no governance policy is in force, so only dependencies are checked; bootstrap one with `fairway policy apply FILE`\n  NOT_APPLICABLE dependencies — the task has no dependencies\n"},
	{as: "codex", args: "next --json", partial: true, stdout: "[\n  {\n    \"key\": \"OPS-UAT-KIND-FULL-001\",\n"},
	{as: "codex", args: "task cancel OPS-UAT-KIND-FULL-001 --reason dropped", code: exitForbidden, stderr: "fairway: only a human can cancel a task; codex is an agent\n"},
	{as: "codex", args: "actor whoami", stdout: "codex (agent)\n"},
	{as: "codex", args: "evidence add --task OPS-UAT-KIND-FULL-001 --kind uat-report {files}/junit.xml", partial: true, stdout: "recorded EV-"},
	{as: "codex", args: "evidence add --task OPS-UAT-KIND-FULL-001 --kind uat-report {files}/env.txt", code: exitForbidden,
		stderr: "fairway: evidence refused: the content holds a secret (github-token, line 1, column 7); policy refuses secrets in uat-report evidence, so remove it and record again\n"},
	{as: "codex", args: "evidence add --task OPS-UAT-KIND-FULL-001 --kind uat-report {files}/missing.txt", code: exitUsage,
		stderr: "fairway: file: cannot read {files}/missing.txt: no such file or directory\n"},
	{as: "codex", args: "evidence add --task OPS-UAT-KIND-FULL-001 --kind log -", stdin: "pod-a Running\n", partial: true, stdout: "recorded EV-"},
	{as: "codex", args: "claim --task OPS-UAT-KIND-FULL-001 tests pass", stdout: "claim 1 recorded on OPS-UAT-KIND-FULL-001 (a claim is not evidence: reviews and evidence decide closure)\n"},
	{as: "codex", args: "claim list OPS-UAT-KIND-FULL-001", stdout: "2026-11-01T09:00:26Z  codex (agent) claims: tests pass\n"},
	{as: "codex", args: "evidence verify", stdout: "evidence intact: 2 blobs checked\n"},
	{as: "alice", args: "policy apply {files}/governance.yaml", partial: true, stdout: "policy sha256:"},
	{as: "codex", args: "policy apply {files}/governance.yaml", code: exitForbidden, stderr: "fairway: only a human can bootstrap the governance policy; codex is an agent\n"},
	{as: "alice", args: "task create OPS-EDGE-001 --title Rotate-tunnel --surface edge --change-class edge-dns --mutating", stdout: "created OPS-EDGE-001\n"},
	{as: "codex", args: "task move OPS-EDGE-001 in_progress", code: exitGateFailed,
		stderr: "fairway: OPS-EDGE-001 is a mutating change of a protected class; before it starts it needs: review:ops (surface edge; protected change class edge-dns); " +
			"review:security (surface edge; protected change class edge-dns); evidence:rollback-plan (surface edge; rollback criteria for protected change class edge-dns) (see `fairway gate explain OPS-EDGE-001`)\n"},
	{as: "codex", args: "review approve OPS-EDGE-001 --domain ops", code: exitForbidden,
		stderr: "fairway: only a human can review; codex is an agent. Agents may execute and summarise; reviews are for independent humans\n"},
	{as: "olivia", args: "review approve OPS-EDGE-001 --domain ops", code: exitUnauthorized,
		stderr: "fairway: approving OPS-EDGE-001 for ops needs MFA asserted by the identity provider: no MFA posture: local mode and plain tokens carry none; approve through the server with an OIDC token; sign in again with MFA\n"},
	{as: "olivia", args: "review request-changes OPS-EDGE-001 --domain ops --item attach-the-DNS-diff", stdout: "review 1: olivia requested changes to OPS-EDGE-001 for ops: attach-the-DNS-diff\n"},
	{as: "codex", args: "gate explain OPS-EDGE-001", partial: true, stdout: "Gate for OPS-EDGE-001: FAIL\n  NOT_APPLICABLE dependencies — the task has no dependencies\n  UNSATISFIED    review:ops [protected] — 0 of 1 approval(s); open change requests: #1 by olivia: attach-the-DNS-diff\n"},
	{as: "alice", args: "waiver request --task OPS-EDGE-001 --requirement evidence:diff --reason diff-is-in-the-runbook --expires 24h",
		stdout: "waiver 1 requested for evidence:diff on OPS-EDGE-001 until 2026-11-02T09:00:39Z; it counts once a member of ops approves it\n"},
	{as: "alice", args: "waiver request --task OPS-EDGE-001 --requirement evidence:diff --reason x", code: exitUsage,
		stderr: "fairway: expires: is required: every waiver ends (e.g. 72h or 2026-12-31T00:00:00Z)\n"},
	{as: "omar", args: "waiver approve 1", code: exitUnauthorized,
		stderr: "fairway: approving waiver 1 for ops needs MFA asserted by the identity provider, as approving for ops on OPS-EDGE-001 does; sign in again with MFA\n"},
	{as: "codex", args: "policy show", partial: true, stdout: "# policy in force: sha256:"},
	{as: "alice", args: "task update OPS-EDGE-001 --priority 0 --label edge", stdout: "updated OPS-EDGE-001\n"},
	{as: "codex", args: "task update OPS-EDGE-001 --label none", code: exitForbidden,
		stderr: "fairway: only a human can change a task's scope, review domains, labels, risk, owner or mutating flag; codex is an agent. They decide what its gate requires\n"},
	{as: "codex", args: "task update OPS-EDGE-001 --title Rotate-the-tunnel", stdout: "updated OPS-EDGE-001\n"},
	{as: "codex", args: "task show OPS-EDGE-001 --json --full", partial: true, stdout: "{\n  \"task\": {\n    \"key\": \"OPS-EDGE-001\","},
	{as: "codex", args: "audit verify", partial: true, stdout: "audit log intact: 32 events, head 32 "},
}

func TestCLI_SameOutputLocalAndServer(t *testing.T) {
	local, remote := newCLIEnv(t, true), newCLIEnv(t, false)
	files := t.TempDir()
	os.WriteFile(filepath.Join(files, "junit.xml"), []byte(`<testsuite><testcase name="a"/><testcase name="b"><failure/></testcase></testsuite>`), 0o644)
	os.WriteFile(filepath.Join(files, "env.txt"), []byte("token ghp_1234567890abcdefghijABCDEFGHIJ123456\n"), 0o644)
	os.WriteFile(filepath.Join(files, "governance.yaml"), demo.Policy, 0o644)
	for i, step := range cliSteps {
		step.args = strings.ReplaceAll(step.args, "{files}", files)
		step.stderr = strings.ReplaceAll(step.stderr, "{files}", files)
		args := splitArgs(step.args)
		lout, lerr, lcode := local.runIn(step.stdin, step.as, args...)
		rout, rerr, rcode := remote.runIn(step.stdin, step.as, args...)
		if lout != rout || lerr != rerr || lcode != rcode {
			t.Fatalf("step %d %q: local and server differ:\nlocal  (%d) %q %q\nserver (%d) %q %q", i, step.args, lcode, lout, lerr, rcode, rout, rerr)
		}
		if lcode != step.code {
			t.Fatalf("step %d %q: exit code %d, want %d (stderr %q)", i, step.args, lcode, step.code, lerr)
		}
		if lerr != step.stderr {
			t.Fatalf("step %d %q: stderr\n got %q\nwant %q", i, step.args, lerr, step.stderr)
		}
		if step.partial && !strings.HasPrefix(lout, step.stdout) || !step.partial && lout != step.stdout {
			t.Fatalf("step %d %q: stdout\n got %q\nwant %q", i, step.args, lout, step.stdout)
		}
	}
}

// splitArgs splits on spaces, keeping single-quoted parts together.
func splitArgs(s string) []string {
	var out []string
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ")
		if strings.HasPrefix(s, "'") {
			end := strings.Index(s[1:], "'") + 1
			out = append(out, s[1:end])
			s = s[end+1:]
			continue
		}
		end := strings.IndexByte(s, ' ')
		if end < 0 {
			end = len(s)
		}
		if s[:end] != "" {
			out = append(out, s[:end])
		}
		s = s[end:]
	}
	return out
}

func TestCLI_HelpShowsExampleForEveryCommand(t *testing.T) {
	for _, c := range commands {
		var out bytes.Buffer
		a := &app{ctx: context.Background(), stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
		code := a.run(append(strings.Fields(c.name), "--help"))
		if code != exitOK {
			t.Errorf("%s --help: exit %d", c.name, code)
		}
		if !strings.Contains(out.String(), "Example:\n  fairway ") && !strings.Contains(out.String(), "Example:\n  FAIRWAY_") {
			t.Errorf("%s --help has no example:\n%s", c.name, out.String())
		}
	}
}

func TestCLI_UnknownCommandIsUsageError(t *testing.T) {
	var out, errb bytes.Buffer
	a := &app{ctx: context.Background(), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if code := a.run([]string{"frobnicate"}); code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if got := errb.String(); got != "fairway: unknown command \"frobnicate\"; run 'fairway help' for the list\n" {
		t.Fatalf("stderr %q", got)
	}
}

func TestCLI_AuditFollowPrintsNewEvents(t *testing.T) {
	e := newCLIEnv(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int)
	go func() {
		a := &app{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: &out, now: e.clock.Now,
			getenv: func(k string) string { return map[string]string{"FAIRWAY_DIR": e.dir}[k] }}
		done <- a.run([]string{"audit", "log", "--follow", "--json", "--after", "6"})
	}()
	if _, _, code := e.run("alice", "task", "create", "FOL-1", "--title", "followed"); code != 0 {
		t.Fatal("create failed")
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), `"subject":"FOL-1"`) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("follow exit %d: %s", code, out.String())
	}
	var ev fairway.AuditEvent
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &ev); err != nil || ev.Action != "task.create" || ev.Seq != 7 {
		t.Fatalf("followed %q (%v)", out.String(), err)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A mistyped --dir must not quietly start a new, empty ledger: only the
// first actor starts one.
func TestCLI_NoStoreIsNotFound(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		a := &app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		return a.run(append(args, "--dir", dir)), errb.String()
	}
	code, stderr := run("next")
	if code != exitNotFound || !strings.Contains(stderr, "no Fairway store at "+dir) {
		t.Fatalf("next on a missing store: exit %d %q", code, stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the missing store's folder was created: %v", err)
	}
	if code, stderr := run("actor", "create", "alice", "--kind", "human"); code != exitOK {
		t.Fatalf("the first actor: exit %d %q", code, stderr)
	}
	if code, _ := run("next"); code != exitOK {
		t.Fatalf("next once the store exists: exit %d", code)
	}
}

// TestPortalLoginLink_CLI: the CLI prints a one-time link for its human
// (local store only); the link signs that person in once.
func TestPortalLoginLink_CLI(t *testing.T) {
	e := newCLIEnv(t, true)
	out, errOut, code := e.run("omar", "portal", "login-link", "--url", "https://fairway.example/", "--json")
	if code != 0 {
		t.Fatalf("login-link: exit %d: %s", code, errOut)
	}
	var got struct {
		Actor string `json:"actor"`
		Link  string `json:"link"`
		URL   string `json:"url"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Actor != "omar" || got.URL != "https://fairway.example/login?link="+got.Link || !strings.HasPrefix(got.Link, ledger.LoginLinkPrefix) {
		t.Fatalf("login-link = %+v", got)
	}
	if _, errOut, code := e.run("codex", "portal", "login-link"); code != exitForbidden || !strings.Contains(errOut, "only a human can get a portal login link") {
		t.Errorf("an agent's login link: exit %d: %s", code, errOut)
	}
	if _, errOut, code := e.run("omar", "portal", "login-link", "--url", "ftp://x"); code != exitUsage || !strings.Contains(errOut, "is not the portal's address") {
		t.Errorf("a bad --url: exit %d: %s", code, errOut)
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(e.dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	l := ledger.New(store, nil)
	l.Now = e.clock.Now
	if a, err := l.RedeemLoginLink(context.Background(), got.Link); err != nil || a.Actor.Name != "omar" {
		t.Fatalf("redeeming the printed link: %+v %v", a, err)
	}
	if _, err := l.RedeemLoginLink(context.Background(), got.Link); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("the printed link, twice: %v", err)
	}
}

// TestToken_CLIListAndRevokeOne: token list shows ids and times, never a
// secret; token revoke takes an id, and an actor's name only with --all;
// the same in local and server mode. A login link's sign-in life has
// bounds.
func TestToken_CLIListAndRevokeOne(t *testing.T) {
	for _, local := range []bool{true, false} {
		e := newCLIEnv(t, local)
		out, errOut, code := e.run("olivia", "token", "list", "omar", "--json")
		if code != 0 {
			t.Fatalf("local=%t token list: exit %d: %s", local, code, errOut)
		}
		var list []fairway.Token
		if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].Actor != "omar" {
			t.Fatalf("local=%t token list = %s (%v)", local, out, err)
		}
		if list[0].IssuedBy != "omar" {
			t.Fatalf("local=%t omar's token issued by %q, want omar", local, list[0].IssuedBy)
		}
		if text, _, _ := e.run("olivia", "token", "list", "codex"); !strings.Contains(text, "issued by alice") {
			t.Fatalf("local=%t token list codex:\n%s\nwant it issued by alice", local, text)
		}
		id := fairway.TokenID(ledger.HashToken(e.tokens["omar"]))
		if list[0].ID != id || strings.Contains(out, e.tokens["omar"]) || strings.Contains(out, ledger.HashToken(e.tokens["omar"])) {
			t.Fatalf("local=%t token list shows %s, want id %s and neither the token nor its hash", local, out, id)
		}
		if out, _, _ := e.run("omar", "token", "list"); !strings.Contains(out, id) || !strings.Contains(out, "never") {
			t.Fatalf("local=%t token list of your own: %s", local, out)
		}
		if _, errOut, code := e.run("omar", "token", "revoke", "omar"); code != exitUsage || !strings.Contains(errOut, "--all") {
			t.Fatalf("local=%t token revoke NAME without --all: exit %d: %s", local, code, errOut)
		}
		if _, errOut, code := e.run("codex", "token", "revoke", id); code != exitForbidden {
			t.Fatalf("local=%t an agent revoking a human's token: exit %d: %s", local, code, errOut)
		}
		out, errOut, code = e.run("olivia", "token", "revoke", id)
		if code != 0 || !strings.Contains(out, "revoked token "+id+" of omar") {
			t.Fatalf("local=%t token revoke ID: exit %d: %s %s", local, code, out, errOut)
		}
		if out, _, _ := e.run("olivia", "token", "list", "omar"); !strings.Contains(out, "no live tokens") {
			t.Fatalf("local=%t after revoking: %s", local, out)
		}
		out, errOut, code = e.run("codex", "token", "revoke", "--all", "codex")
		if code != 0 || !strings.Contains(out, "revoked 1 token(s) of codex") {
			t.Fatalf("local=%t token revoke --all: exit %d: %s %s", local, code, out, errOut)
		}
	}
	e := newCLIEnv(t, true)
	if _, errOut, code := e.run("omar", "portal", "login-link", "--session-ttl", "30d"); code != exitUsage {
		t.Errorf("--session-ttl 30d: exit %d: %s", code, errOut)
	}
	if _, errOut, code := e.run("omar", "portal", "login-link", "--session-ttl", "200h"); code != exitUsage || !strings.Contains(errOut, "between 5m0s and 168h0m0s") {
		t.Errorf("--session-ttl 200h: exit %d: %s", code, errOut)
	}
	out, errOut, code := e.run("omar", "portal", "login-link", "--session-ttl", "2h", "--json")
	if code != 0 || !strings.Contains(out, `"session_ttl": "2h0m0s"`) {
		t.Errorf("--session-ttl 2h: exit %d: %s %s", code, out, errOut)
	}
	if _, errOut, code := e.run("olivia", "token", "rotate", "codex", "--ttl", "1m"); code != exitUsage || !strings.Contains(errOut, "is not a token's life") {
		t.Errorf("token rotate --ttl 1m: exit %d: %s", code, errOut)
	}
	if out, errOut, code := e.run("olivia", "token", "rotate", "codex", "--ttl", "2h"); code != 0 || !strings.Contains(out, "it expires at 2026-11-01T") {
		t.Errorf("token rotate --ttl 2h: exit %d: %s %s", code, out, errOut)
	}
}
