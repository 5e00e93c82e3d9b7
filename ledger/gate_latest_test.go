package ledger_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
	"fairway/sqlite"
)

// reviewOnlyPolicy asks nothing of a task but the default review, so
// its evidence is required by nothing and must still be shown.
const reviewOnlyPolicy = `version: 1
owners: [ops]
review_domains:
  ops:
    members: [olivia]
defaults:
  review_domains: [ops]
`

// newReviewOnlyLedger is a ledger under reviewOnlyPolicy with alice and
// olivia (humans) and codex (agent), and task T-1 created by alice.
func newReviewOnlyLedger(t *testing.T) (l *ledger.Ledger, alice, olivia, codex context.Context) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	l = ledger.New(store, blobs)
	tick := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { tick = tick.Add(time.Second); return tick }
	must(l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}))
	for _, a := range []fairway.ActorCreate{{Name: "olivia", Kind: fairway.KindHuman}, {Name: "codex", Kind: fairway.KindAgent}} {
		must(l.CreateActor(as("alice"), a))
	}
	must(l.BootstrapPolicy(as("alice"), "governance.yaml", []byte(reviewOnlyPolicy)))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "T-1", Title: "smoke the console"}))
	return l, as("alice"), as("olivia"), as("codex")
}

func addEvidence(t *testing.T, l *ledger.Ledger, by context.Context, a fairway.EvidenceAdd, body string) *fairway.Evidence {
	t.Helper()
	a.Task = "T-1"
	e, err := l.AddEvidence(by, a, fairway.EvidenceParts{Content: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("add %s evidence: %v", a.Kind, err)
	}
	return e
}

// The newest current evidence of every kind is on the gate with what it
// shows, whether or not anything requires it: a smoke that exited 3 is
// never hidden behind a gate that asks only for a review.
func TestGate_ShowsLatestEvidenceOfEveryKind(t *testing.T) {
	l, _, _, codex := newReviewOnlyLedger(t)
	addEvidence(t, l, codex, fairway.EvidenceAdd{Kind: "command-result", Command: ran(1, "go", "test", "./...")}, "FAIL\n")
	tests := addEvidence(t, l, codex, fairway.EvidenceAdd{Kind: "command-result", Command: ran(0, "go", "test", "./...")}, "ok\n")
	smoke := addEvidence(t, l, codex, fairway.EvidenceAdd{Kind: "smoke", Command: ran(3, "./smoke.sh")}, "3 checks failed\n")
	shot := addEvidence(t, l, codex, fairway.EvidenceAdd{Kind: "screenshot", Filename: "console.png"}, "png bytes")
	oldUAT := addEvidence(t, l, codex, fairway.EvidenceAdd{Kind: "uat-report", Filename: "uat.xml"}, junitAllFailing)
	// A correction replaces what it supersedes.
	uat := addEvidence(t, l, codex, fairway.EvidenceAdd{Kind: "uat-report", Filename: "uat.xml", Supersedes: oldUAT.ID}, junitPassing)
	addEvidence(t, l, codex, fairway.EvidenceAdd{Kind: fairway.EvidenceContext, Filename: "transcript.txt"}, "the agent said: all done")

	d := must(l.ExplainGate(context.Background(), "T-1"))
	want := []fairway.EvidenceOutcome{
		{ID: tests.ID, Kind: "command-result", Outcome: fairway.OutcomeOK, Detail: "exited 0"},
		{ID: shot.ID, Kind: "screenshot", Outcome: fairway.OutcomeUnjudged, Detail: "the gate cannot judge what it shows"},
		{ID: smoke.ID, Kind: "smoke", Outcome: fairway.OutcomeFailing, Detail: "exited 3"},
		{ID: uat.ID, Kind: "uat-report", Outcome: fairway.OutcomeOK, Detail: "JUnit report of 3 tests, none failed"},
	}
	got, _ := json.Marshal(d.Latest)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Fatalf("latest:\n got %s\nwant %s", got, wantJSON)
	}
	if f := d.Failing(); len(f) != 1 || f[0] != smoke.ID {
		t.Fatalf("failing = %v, want [%s]", f, smoke.ID)
	}
	// task show carries the same gate.
	v := must(l.TaskView(context.Background(), "T-1"))
	if len(v.Gate.Latest) != 4 || v.Gate.Latest[2].Outcome != fairway.OutcomeFailing {
		t.Fatalf("task view latest = %+v", v.Gate.Latest)
	}
}

// A gate that passes while the latest evidence of some kind fails closes
// only when the human closing names every failing record: otherwise the
// close is refused, naming them, and the refusal is audited.
func TestClose_FailingLatestEvidenceMustBeAcknowledged(t *testing.T) {
	l, alice, olivia, codex := newReviewOnlyLedger(t)
	smoke := addEvidence(t, l, codex, fairway.EvidenceAdd{Kind: "smoke", Command: ran(3, "./smoke.sh")}, "3 checks failed\n")
	scan := addEvidence(t, l, codex, fairway.EvidenceAdd{Kind: "scan-output", Filename: "scan.sarif"}, sarifError)
	ok := addEvidence(t, l, codex, fairway.EvidenceAdd{Kind: "log", Filename: "deploy.log"}, "deployed\n")
	must(l.AddReview(olivia, fairway.ReviewAdd{Task: "T-1", Domain: "ops", Verdict: fairway.VerdictApproved}))

	refusals := []struct {
		name string
		by   context.Context
		ack  []string
		code string
		want string
	}{
		{"nothing acknowledged", alice, nil, fairway.ECONFLICT,
			"the latest evidence of T-1 fails: " + scan.ID + " (scan-output: is a SARIF report with findings at or above note (error 1, note 1)), " + smoke.ID + " (smoke: exited 3)"},
		{"one of two acknowledged", alice, []string{smoke.ID}, fairway.ECONFLICT, "not acknowledged: " + scan.ID},
		{"passing evidence acknowledged", alice, []string{smoke.ID, scan.ID, ok.ID}, fairway.EINVALID,
			"acknowledge: " + ok.ID + " is not failing latest evidence of T-1"},
		{"an unknown record acknowledged", alice, []string{smoke.ID, scan.ID, "EV-nope"}, fairway.EINVALID,
			"acknowledge: EV-nope is not failing latest evidence of T-1"},
		{"an agent acknowledging everything", codex, []string{smoke.ID, scan.ID}, fairway.EFORBIDDEN, "only a human can close a task"},
	}
	for _, c := range refusals {
		before := len(must(l.AuditLog(context.Background(), fairway.AuditFilter{})))
		d, err := l.CloseTask(c.by, "T-1", c.ack...)
		if fairway.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: err = %v, want %s containing %q", c.name, err, c.code, c.want)
		}
		// The closer sees the gate they were refused on, once they may close.
		if showsGate := d != nil && d.Pass && len(d.Failing()) == 2; showsGate != (c.by == alice) {
			t.Fatalf("%s: decision returned %+v", c.name, d)
		}
		events := must(l.AuditLog(context.Background(), fairway.AuditFilter{}))
		if len(events) != before+1 || events[len(events)-1].Action != "task.close.refused" {
			t.Fatalf("%s: refusal not audited as one task.close.refused event", c.name)
		}
		if task := must(l.GetTask(context.Background(), "T-1")); task.Status == fairway.StatusDone {
			t.Fatalf("%s: the task closed", c.name)
		}
	}

	d, err := l.CloseTask(alice, "T-1", scan.ID, smoke.ID)
	if err != nil || !d.Pass {
		t.Fatalf("close with every failure acknowledged: %v", err)
	}
	events := must(l.AuditLog(context.Background(), fairway.AuditFilter{}))
	last := events[len(events)-1]
	var change struct {
		Acknowledged []string `json:"acknowledged"`
	}
	if err := json.Unmarshal(last.Change, &change); err != nil || last.Action != "task.close" ||
		strings.Join(change.Acknowledged, ",") != scan.ID+","+smoke.ID {
		t.Fatalf("close event %s %s: acknowledged %v (%v)", last.Action, last.Change, change.Acknowledged, err)
	}
}
