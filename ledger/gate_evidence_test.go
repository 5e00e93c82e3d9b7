package ledger_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
	"fairway/sqlite"
)

// proofPolicy asks every task for a command result, a UAT report and a
// scan, and lets the test add an evidence_kinds section.
const proofPolicy = `version: 1
owners: [ops]
review_domains:
  ops:
    members: [olivia]
rules:
  - name: proof
    when: "true"
    evidence: [command-result, uat-report, scan-output]
`

// proofLedger is a ledger on the embedded store with alice (human) and
// codex (agent), governed by proofPolicy plus extra.
type proofLedger struct {
	l         *ledger.Ledger
	blobs     *watchedBlobs
	blobDir   string
	alice     context.Context
	codex     context.Context
	clockTick time.Time
}

func newProofLedger(t *testing.T, extra string) *proofLedger {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	files, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	watched := &watchedStore{Store: store}
	blobs := &watchedBlobs{FileStore: files, t: t, store: watched}
	p := &proofLedger{l: ledger.New(watched, blobs), blobs: blobs, blobDir: filepath.Join(dir, "blobs"), clockTick: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
	p.l.Now = func() time.Time { p.clockTick = p.clockTick.Add(time.Second); return p.clockTick }
	asActor := func(name string) context.Context {
		return fairway.NewContextWithActor(ctx, &fairway.Actor{Name: name})
	}
	if _, err := p.l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}); err != nil {
		t.Fatal(err)
	}
	p.alice, p.codex = asActor("alice"), asActor("codex")
	for _, a := range []fairway.ActorCreate{{Name: "codex", Kind: fairway.KindAgent}, {Name: "olivia", Kind: fairway.KindHuman}} {
		if _, err := p.l.CreateActor(p.alice, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.l.BootstrapPolicy(p.alice, "governance.yaml", []byte(proofPolicy+extra)); err != nil {
		t.Fatal(err)
	}
	return p
}

// watchedStore is a real store that knows when a transaction is open.
type watchedStore struct {
	fairway.Store
	inTx atomic.Int32
}

func (s *watchedStore) Update(ctx context.Context, fn func(fairway.Tx) error) error {
	return s.Store.Update(ctx, func(tx fairway.Tx) error {
		s.inTx.Add(1)
		defer s.inTx.Add(-1)
		return fn(tx)
	})
}

func (s *watchedStore) View(ctx context.Context, fn func(fairway.Tx) error) error {
	return s.Store.View(ctx, func(tx fairway.Tx) error {
		s.inTx.Add(1)
		defer s.inTx.Add(-1)
		return fn(tx)
	})
}

// watchedBlobs is the file store, failing the test when its bytes are
// looked at inside a transaction (issue 8: no blob I/O in a transaction),
// and counting the looks made with a context carrying callerMark.
type watchedBlobs struct {
	*blob.FileStore
	t          *testing.T
	store      *watchedStore
	fromCaller atomic.Int32
}

type callerMark struct{}

func (b *watchedBlobs) Stat(ctx context.Context, digest string) (int64, error) {
	if b.store.inTx.Load() > 0 {
		b.t.Errorf("blob %s looked at inside a transaction", digest)
	}
	if ctx.Value(callerMark{}) != nil {
		b.fromCaller.Add(1)
	}
	return b.FileStore.Stat(ctx, digest)
}

func (b *watchedBlobs) Open(ctx context.Context, digest string) (io.ReadCloser, error) {
	if b.store.inTx.Load() > 0 {
		b.t.Errorf("blob %s opened inside a transaction", digest)
	}
	return b.FileStore.Open(ctx, digest)
}

func (p *proofLedger) add(t *testing.T, task string, a fairway.EvidenceAdd, body string) *fairway.Evidence {
	t.Helper()
	a.Task = task
	e, err := p.l.AddEvidence(p.codex, a, fairway.EvidenceParts{Content: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("add %s evidence: %v", a.Kind, err)
	}
	return e
}

func (p *proofLedger) requirement(t *testing.T, task, id string) fairway.Requirement {
	t.Helper()
	d, err := p.l.ExplainGate(context.Background(), task)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range d.Requirements {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("gate of %s has no requirement %s: %+v", task, id, d.Requirements)
	return fairway.Requirement{}
}

func ran(code int, argv ...string) *fairway.Command {
	at := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	return &fairway.Command{Argv: argv, Dir: "/src", ExitCode: code, Started: at, Ended: at.Add(time.Second)}
}

const (
	junitAllFailing = `<?xml version="1.0"?>
<testsuite name="uat"><testcase name="login"><failure message="500"/></testcase><testcase name="billing"><failure/></testcase></testsuite>`
	junitPassing = `<testsuite name="uat"><testcase name="login"/><testcase name="billing"/><testcase name="admin"><skipped/></testcase></testsuite>`
	junitEmpty   = `<testsuite name="uat"></testsuite>`
	junitErrored = `<testsuite name="uat"><testcase name="login"/><testcase name="billing"><error/></testcase></testsuite>`
	sarifError   = `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"gosec"}},"results":[{"level":"error"},{"level":"note"}]}]}`
	sarifWarning = `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"gosec"}},"results":[{"level":"warning"}]}]}`
	sarifClean   = `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"gosec"}},"results":[{"level":"none"}]}]}`
)

// TestGate_EvidenceMustShowSuccess: evidence satisfies a requirement only
// when it shows success; failing evidence is named as the reason, with
// the remedy (R3). Each failing case passed the gate before.
func TestGate_EvidenceMustShowSuccess(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		kind   string
		add    fairway.EvidenceAdd
		body   string
		state  string
		detail string // with ID standing for the evidence's ID
		remedy string
	}{
		{name: "failing run", kind: "command-result", add: fairway.EvidenceAdd{Command: ran(1, "go", "test", "./...")}, body: "FAIL\n",
			state: fairway.ReqUnsatisfied, detail: "ID exited 1: failing evidence does not count",
			remedy: "run it again until it passes: `fairway run --task T-1 -- go test ./...`"},
		{name: "interrupted run", kind: "command-result", add: fairway.EvidenceAdd{Command: &fairway.Command{Argv: []string{"make", "check all"}, ExitCode: 130, Interrupted: true, Signal: "interrupt"}}, body: "^C\n",
			state: fairway.ReqUnsatisfied, detail: "ID exited 130 (interrupted by interrupt): failing evidence does not count",
			remedy: "run it again until it passes: `fairway run --task T-1 -- make 'check all'`"},
		{name: "passing run", kind: "command-result", add: fairway.EvidenceAdd{Command: ran(0, "go", "test", "./...")}, body: "ok\n",
			state: fairway.ReqSatisfied, detail: "ID recorded by codex at 2026-11-01T09:00:06Z: exited 0"},
		{name: "failing run allowed by policy", policy: "evidence_kinds:\n  command-result:\n    success:\n      exit_code: any\n",
			kind: "command-result", add: fairway.EvidenceAdd{Command: ran(2, "lint")}, body: "warn\n",
			state: fairway.ReqSatisfied, detail: "ID recorded by codex at 2026-11-01T09:00:06Z: exited 2, which the policy accepts for command-result"},
		{name: "all-failing junit", kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.xml"}, body: junitAllFailing,
			state: fairway.ReqUnsatisfied, detail: "ID is a JUnit report of 2 tests: 0 passed, 2 failed, 0 errors: failing evidence does not count",
			remedy: "fix what fails and record a passing report: `fairway evidence add --task T-1 --kind uat-report FILE`"},
		{name: "junit with an error", kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.xml"}, body: junitErrored,
			state: fairway.ReqUnsatisfied, detail: "ID is a JUnit report of 2 tests: 1 passed, 0 failed, 1 errors: failing evidence does not count",
			remedy: "fix what fails and record a passing report: `fairway evidence add --task T-1 --kind uat-report FILE`"},
		{name: "junit with no tests", kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.xml"}, body: junitEmpty,
			state: fairway.ReqUnsatisfied, detail: "ID is a JUnit report with no tests: failing evidence does not count",
			remedy: "fix what fails and record a passing report: `fairway evidence add --task T-1 --kind uat-report FILE`"},
		{name: "junit with no tests allowed by policy", policy: "evidence_kinds:\n  uat-report:\n    success:\n      tests: no-failures\n",
			kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.xml"}, body: junitEmpty,
			state: fairway.ReqSatisfied, detail: "ID recorded by codex at 2026-11-01T09:00:06Z: JUnit report of 0 tests, none failed"},
		{name: "passing junit", kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.xml"}, body: junitPassing,
			state: fairway.ReqSatisfied, detail: "ID recorded by codex at 2026-11-01T09:00:06Z: JUnit report of 3 tests, none failed"},
		{name: "sarif error finding", kind: "scan-output", add: fairway.EvidenceAdd{Filename: "scan.sarif"}, body: sarifError,
			state: fairway.ReqUnsatisfied, detail: "ID is a SARIF report with findings at or above note (error 1, note 1): failing evidence does not count",
			remedy: "fix the findings and record a clean scan: `fairway evidence add --task T-1 --kind scan-output FILE`"},
		{name: "sarif warning under a policy threshold of error", policy: "evidence_kinds:\n  scan-output:\n    success:\n      sarif_threshold: error\n",
			kind: "scan-output", add: fairway.EvidenceAdd{Filename: "scan.sarif"}, body: sarifWarning,
			state: fairway.ReqSatisfied, detail: "ID recorded by codex at 2026-11-01T09:00:06Z: SARIF report with no findings at or above error"},
		{name: "sarif error under a policy threshold of error", policy: "evidence_kinds:\n  scan-output:\n    success:\n      sarif_threshold: error\n",
			kind: "scan-output", add: fairway.EvidenceAdd{Filename: "scan.sarif"}, body: sarifError,
			state: fairway.ReqUnsatisfied, detail: "ID is a SARIF report with findings at or above error (error 1): failing evidence does not count",
			remedy: "fix the findings and record a clean scan: `fairway evidence add --task T-1 --kind scan-output FILE`"},
		{name: "clean sarif", kind: "scan-output", add: fairway.EvidenceAdd{Filename: "scan.sarif"}, body: sarifClean,
			state: fairway.ReqSatisfied, detail: "ID recorded by codex at 2026-11-01T09:00:06Z: SARIF report with no findings at or above note"},
		{name: "command result that is a file, not a command", kind: "command-result", add: fairway.EvidenceAdd{Filename: "cr.txt"}, body: "exit 0\n",
			state: fairway.ReqUnsatisfied, detail: "ID is not a command result, and the policy requires command-result evidence to be one: failing evidence does not count",
			remedy: "record command-result evidence by running the command: `fairway run --task T-1 --kind command-result -- CMD`"},
		{name: "junit whose only test was skipped", kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.xml"}, body: `<testsuite name="uat"><testcase name="login"><skipped/></testcase></testsuite>`,
			state: fairway.ReqUnsatisfied, detail: "ID is a JUnit report of 1 tests of which none passed (1 skipped): failing evidence does not count",
			remedy: "fix what fails and record a passing report: `fairway evidence add --task T-1 --kind uat-report FILE`"},
		{name: "text saying tests passed where the policy asks for passed tests", policy: "evidence_kinds:\n  uat-report:\n    success:\n      tests: passed\n",
			kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.txt"}, body: "all tests passed\n",
			state: fairway.ReqUnsatisfied, detail: "ID is not a JUnit report, and the policy requires uat-report evidence to be one: failing evidence does not count",
			remedy: "record uat-report evidence as a JUnit report: `fairway evidence add --task T-1 --kind uat-report FILE`"},
		{name: "report the gate cannot judge", kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.png"}, body: "\x89PNG\r\n\x1a\n pixels",
			state: fairway.ReqSatisfied, detail: "ID recorded by codex at 2026-11-01T09:00:06Z: the gate cannot judge what it shows, so it counts by its kind"},
		{name: "failing junit behind a doctype", kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.xml"}, body: "<!DOCTYPE testsuite>\n" + junitAllFailing[len(`<?xml version="1.0"?>`):],
			state: fairway.ReqUnsatisfied, detail: "ID is a JUnit report of 2 tests: 0 passed, 2 failed, 0 errors: failing evidence does not count",
			remedy: "fix what fails and record a passing report: `fairway evidence add --task T-1 --kind uat-report FILE`"},
		{name: "failing junit cut short", kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.xml"}, body: strings.TrimSuffix(junitAllFailing, "</testsuite>"),
			state: fairway.ReqUnsatisfied, detail: "ID is a JUnit report of 2 tests: 0 passed, 2 failed, 1 errors: failing evidence does not count",
			remedy: "fix what fails and record a passing report: `fairway evidence add --task T-1 --kind uat-report FILE`"},
		{name: "passing junit with a broken tail", kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.xml"}, body: junitPassing + "<junk",
			state: fairway.ReqUnsatisfied, detail: "ID is a JUnit report of 3 tests: 2 passed, 0 failed, 1 errors: failing evidence does not count",
			remedy: "fix what fails and record a passing report: `fairway evidence add --task T-1 --kind uat-report FILE`"},
		{name: "failing junit whose first element is broken", kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.xml"}, body: `<testsuite name="uat" <x><testcase name="login"><failure/></testcase></testsuite>`,
			state: fairway.ReqUnsatisfied, detail: "ID is a JUnit report of 0 tests: 0 passed, 0 failed, 1 errors: failing evidence does not count",
			remedy: "fix what fails and record a passing report: `fairway evidence add --task T-1 --kind uat-report FILE`"},
		{name: "failing junit behind a page of blank lines", kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.xml"}, body: strings.Repeat("\n", 8192) + junitAllFailing,
			state: fairway.ReqUnsatisfied, detail: "ID is a JUnit report of 2 tests: 0 passed, 2 failed, 0 errors: failing evidence does not count",
			remedy: "fix what fails and record a passing report: `fairway evidence add --task T-1 --kind uat-report FILE`"},
		{name: "sarif with findings and a broken tail", kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.sarif"}, body: sarifError + "}",
			state: fairway.ReqUnsatisfied, detail: "ID is a SARIF report of a scan that did not complete (1 failed runs or tool errors): failing evidence does not count",
			remedy: "run the scan again until it completes and record its report: `fairway evidence add --task T-1 --kind uat-report FILE`"},
		{name: "report the policy wants as junit", policy: "evidence_kinds:\n  uat-report:\n    success:\n      format: junit\n",
			kind: "uat-report", add: fairway.EvidenceAdd{Filename: "uat.png"}, body: "\x89PNG\r\n\x1a\n pixels",
			state: fairway.ReqUnsatisfied, detail: "ID is not a JUnit report, and the policy requires uat-report evidence to be one: failing evidence does not count",
			remedy: "record uat-report evidence as a JUnit report: `fairway evidence add --task T-1 --kind uat-report FILE`"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProofLedger(t, tc.policy)
			if _, err := p.l.CreateTask(p.alice, fairway.TaskCreate{Key: "T-1", Title: "Prove it"}); err != nil {
				t.Fatal(err)
			}
			tc.add.Kind = tc.kind
			e := p.add(t, "T-1", tc.add, tc.body)
			r := p.requirement(t, "T-1", "evidence:"+tc.kind)
			detail := strings.ReplaceAll(tc.detail, "ID", e.ID)
			if r.State != tc.state || r.Detail != detail || r.Remedy != tc.remedy {
				t.Fatalf("evidence:%s\n got %s %q\n     remedy %q\nwant %s %q\n     remedy %q", tc.kind, r.State, r.Detail, r.Remedy, tc.state, detail, tc.remedy)
			}
		})
	}
}

// TestGate_NewestEvidenceDecides: a later failure undoes an earlier
// success, a later success mends an earlier failure, and a task whose
// every required kind shows success closes.
func TestGate_NewestEvidenceDecides(t *testing.T) {
	p := newProofLedger(t, "")
	if _, err := p.l.CreateTask(p.alice, fairway.TaskCreate{Key: "T-2", Title: "Prove it twice"}); err != nil {
		t.Fatal(err)
	}
	p.add(t, "T-2", fairway.EvidenceAdd{Kind: "uat-report", Filename: "uat.xml"}, junitPassing)
	p.add(t, "T-2", fairway.EvidenceAdd{Kind: "scan-output", Filename: "scan.sarif"}, sarifClean)
	p.add(t, "T-2", fairway.EvidenceAdd{Kind: "command-result", Command: ran(0, "go", "test")}, "ok\n")
	failed := p.add(t, "T-2", fairway.EvidenceAdd{Kind: "command-result", Command: ran(1, "go", "test")}, "FAIL\n")
	if r := p.requirement(t, "T-2", "evidence:command-result"); r.State != fairway.ReqUnsatisfied || r.Detail != failed.ID+" exited 1: failing evidence does not count" {
		t.Fatalf("after a failing run: %s %q", r.State, r.Detail)
	}
	_, err := p.l.CloseTask(p.alice, "T-2")
	if fairway.ErrorCode(err) != fairway.EGATEFAILED {
		t.Fatalf("close with a failing run: %v", err)
	}
	p.add(t, "T-2", fairway.EvidenceAdd{Kind: "command-result", Command: ran(0, "go", "test")}, "ok again\n")
	d, err := p.l.CloseTask(p.alice, "T-2")
	if err != nil || !d.Pass {
		t.Fatalf("close after the run passed: %+v %v", d, err)
	}
}

// TestGate_ClosingHashesTheProof: a view of the gate compares each
// proof's size, but closing reads the bytes: a report replaced in the
// blob store by one of the same size does not close the task.
func TestGate_ClosingHashesTheProof(t *testing.T) {
	p := newProofLedger(t, "")
	if _, err := p.l.CreateTask(p.alice, fairway.TaskCreate{Key: "T-3", Title: "Prove it once"}); err != nil {
		t.Fatal(err)
	}
	uat := p.add(t, "T-3", fairway.EvidenceAdd{Kind: "uat-report", Filename: "uat.xml"}, junitPassing)
	p.add(t, "T-3", fairway.EvidenceAdd{Kind: "scan-output", Filename: "scan.sarif"}, sarifClean)
	p.add(t, "T-3", fairway.EvidenceAdd{Kind: "command-result", Command: ran(0, "go", "test")}, "ok\n")
	path := p.blobPath(uat.Digest)
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, []byte(strings.Replace(junitPassing, "<", " ", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, err := p.l.ExplainGate(context.Background(), "T-3"); err != nil || !d.Pass {
		t.Fatalf("explain, which compares sizes: %+v %v", d, err)
	}
	d, err := p.l.CloseTask(p.alice, "T-3")
	if fairway.ErrorCode(err) != fairway.EGATEFAILED || d == nil || d.Pass {
		t.Fatalf("close with a replaced report: %+v %v", d, err)
	}
	for _, r := range d.Requirements {
		if r.ID == "evidence:uat-report" {
			if r.State != fairway.ReqUnsatisfied || !strings.Contains(r.Detail, uat.ID+" is no longer intact in the blob store") {
				t.Fatalf("evidence:uat-report: %s %q", r.State, r.Detail)
			}
			return
		}
	}
	t.Fatalf("no evidence:uat-report requirement in %+v", d.Requirements)
}
