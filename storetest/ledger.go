package storetest

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
)

// env is a ledger over the store under test with a human (alice, bob) and
// an agent (codex) already created.
type env struct {
	clock             *clock
	blobs             *blob.FileStore
	blobDir           string
	l                 *ledger.Ledger
	alice, bob, codex context.Context
	agentToken        string
}

func newEnv(t *testing.T, s fairway.Store) *env {
	dir := t.TempDir()
	blobs, err := blob.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(s, blobs)
	clk := newClock()
	l.Now = clk.Now
	e := &env{l: l, blobs: blobs, blobDir: dir, clock: clk}
	if _, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}); err != nil {
		t.Fatal(err)
	}
	e.alice = as("alice")
	if _, err := l.CreateActor(e.alice, fairway.ActorCreate{Name: "bob", Kind: fairway.KindHuman}); err != nil {
		t.Fatal(err)
	}
	created, err := l.CreateActor(e.alice, fairway.ActorCreate{Name: "codex", Kind: fairway.KindAgent, IssueToken: true})
	if err != nil {
		t.Fatal(err)
	}
	e.bob, e.codex, e.agentToken = as("bob"), as("codex"), created.Token
	return e
}

func as(name string) context.Context {
	return fairway.NewContextWithActor(ctx, &fairway.Actor{Name: name})
}

func (e *env) task(t *testing.T, key string, mods ...func(*fairway.TaskCreate)) *fairway.Task {
	t.Helper()
	c := fairway.TaskCreate{Key: key, Title: "Work on " + key}
	for _, m := range mods {
		m(&c)
	}
	task, err := e.l.CreateTask(e.alice, c)
	if err != nil {
		t.Fatalf("create %s: %v", key, err)
	}
	return task
}

func (e *env) move(t *testing.T, key, status string) {
	t.Helper()
	tr := fairway.Transition{Status: status}
	if status == fairway.StatusBlocked {
		tr.WaitReason = fairway.WaitCapacity
	}
	if _, err := e.l.TransitionTask(e.alice, key, tr); err != nil {
		t.Fatalf("move %s to %s: %v", key, status, err)
	}
}

func (e *env) auditSeq(t *testing.T) int64 {
	t.Helper()
	v, err := e.l.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK {
		t.Fatalf("audit chain broken: %+v", v)
	}
	return v.Head.Seq
}

func wantMessage(t *testing.T, err error, code, msg string) {
	t.Helper()
	wantCode(t, err, code)
	if got := fairway.ErrorMessage(err); got != msg {
		t.Fatalf("message:\n got %q\nwant %q", got, msg)
	}
}

var ledgerTests = []struct {
	name string
	fn   func(*testing.T, *env)
}{
	{"Evidence/RecordedImmutableAndAudited", testEvidenceRecorded},
	{"Session/RevokingItsTokenEndsIt", testRevokingATokenEndsItsSessions},
	{"Audit/TreeProofsAndCheckpoints", testLedgerTreeAndCheckpoints},
	{"Audit/TreeBehindItsLogIsNotCaughtUp", testLedgerRefusesATreeBehindItsLog},
	{"Evidence/ProofChainForTheGate", testEvidenceSummaries},
	{"Governance/R1_OnlyHumansReview", testR1OnlyHumansReview},
	{"Governance/AgentsCannotChooseTheirRequirements", testAgentsCannotChooseTheirRequirements},
	{"Governance/R2_ReviewersAreIndependentMembers", testR2Independence},
	{"Governance/R2_AHandedTokenIsItsIssuers", testR2HandedTokenIsTheIssuers},
	{"Governance/R2_ChangeRequestBlocksUntilResolved", testR2ChangeRequests},
	{"Governance/R3_R4_ApprovalsGoStale", testR4Staleness},
	{"Governance/R5_ProtectedClassBeforeMutatingStep", testR5Protected},
	{"Deploy/R5_ProtectedEnvironment", testDeployProtected},
	{"Governance/R6_MFAStepUp", testR6MFA},
	{"Governance/R13_PolicyChangesThroughAGate", testR13PolicyGoverned},
	{"Governance/Waivers", testWaivers},
	{"Governance/PolicyChoosesSecretAction", testPolicyChoosesSecretAction},
	{"Governance/PrerequisiteAlternatives", testPrerequisites},
	{"Governance/BadInputWritesNothing", testGovernanceBadInput},
	{"Evidence/SecretRefusedOrRedactedByKind", testEvidenceSecrets},
	{"Evidence/MediaHeaderDoesNotSwitchScanOff", testEvidenceMediaHeaderScanned},
	{"Evidence/FailuresLeaveNothing", testEvidenceFailures},
	{"Evidence/VerifyNamesChangedBlob", testEvidenceVerify},
	{"Evidence/ReportsSummarised", testEvidenceReports},
	{"Evidence/ClaimsAndContextAreNeverProof", testClaimsAndContext},
	{"IllegalTransitionNamesAllowed", func(t *testing.T, e *env) {
		e.task(t, "T-1")
		_, err := e.l.TransitionTask(e.alice, "T-1", fairway.Transition{Status: fairway.StatusInReview})
		wantMessage(t, err, fairway.ECONFLICT, "task T-1 cannot move from open to in_review; allowed from open: in_progress, blocked, done (via `task close`), cancelled (via `task cancel`)")
		_, err = e.l.TransitionTask(e.alice, "T-1", fairway.Transition{Status: fairway.StatusBlocked})
		wantCode(t, err, fairway.EINVALID)
		_, err = e.l.TransitionTask(e.alice, "T-1", fairway.Transition{Status: fairway.StatusDone})
		wantMessage(t, err, fairway.EINVALID, "status: a task reaches done only through its gate: run `fairway task close T-1`")
		got, err := e.l.TransitionTask(e.alice, "T-1", fairway.Transition{Status: fairway.StatusBlocked, WaitReason: fairway.WaitCredentials})
		if err != nil || got.Status != fairway.StatusBlocked || got.WaitReason != fairway.WaitCredentials {
			t.Fatalf("block: %+v, %v", got, err)
		}
	}},
	{"CloseOnlyThroughPassingGate", func(t *testing.T, e *env) {
		e.task(t, "GATE-1")
		e.task(t, "GATE-DEP")
		if err := e.l.AddDependency(e.alice, "GATE-1", "GATE-DEP"); err != nil {
			t.Fatal(err)
		}
		e.move(t, "GATE-1", fairway.StatusInProgress)
		before := e.auditSeq(t)
		d, err := e.l.CloseTask(e.bob, "GATE-1")
		wantCode(t, err, fairway.EGATEFAILED)
		if d == nil || d.Pass || req(d, "dependency:GATE-DEP").State != fairway.ReqUnsatisfied {
			t.Fatalf("decision = %+v", d)
		}
		if after := e.auditSeq(t); after != before+1 {
			t.Fatalf("refused close wrote %d audit events, want 1", after-before)
		}
		if task, _ := e.l.GetTask(ctx, "GATE-1"); task.Status != fairway.StatusInProgress {
			t.Fatalf("status after refused close = %s", task.Status)
		}
		e.move(t, "GATE-DEP", fairway.StatusInProgress)
		if d, err := e.l.CloseTask(e.bob, "GATE-DEP"); err != nil || !d.Pass {
			t.Fatalf("close GATE-DEP: %+v, %v", d, err)
		}
		d, err = e.l.CloseTask(e.bob, "GATE-1")
		if err != nil || !d.Pass || req(d, "dependency:GATE-DEP").State != fairway.ReqSatisfied || !strings.HasPrefix(d.SnapshotDigest, "sha256:") {
			t.Fatalf("close GATE-1: %+v, %v", d, err)
		}
		task, _ := e.l.GetTask(ctx, "GATE-1")
		if task.Status != fairway.StatusDone || task.ClosedAt.IsZero() {
			t.Fatalf("after close: %+v", task)
		}
		_, err = e.l.TransitionTask(e.alice, "GATE-1", fairway.Transition{Status: fairway.StatusOpen})
		wantMessage(t, err, fairway.ECONFLICT, "task GATE-1 is done, a final status: it cannot move to open")
	}},
	{"OnlyHumansCloseOrCancel", func(t *testing.T, e *env) {
		e.task(t, "R1-1")
		before := e.auditSeq(t)
		_, err := e.l.CloseTask(e.codex, "R1-1")
		wantMessage(t, err, fairway.EFORBIDDEN, "only a human can close a task; codex is an agent. Agents record evidence and ask for review")
		_, err = e.l.CancelTask(e.codex, "R1-1", "not needed")
		wantMessage(t, err, fairway.EFORBIDDEN, "only a human can cancel a task; codex is an agent")
		events, err := e.l.AuditLog(ctx, fairway.AuditFilter{AfterSeq: before})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, ev := range events {
			actions = append(actions, ev.Actor+":"+ev.ActorKind+":"+ev.Action)
		}
		want := []string{"codex:agent:task.close.refused", "codex:agent:task.cancel.refused"}
		if !reflect.DeepEqual(actions, want) {
			t.Fatalf("audited refusals = %v, want %v", actions, want)
		}
		task, err := e.l.CancelTask(e.bob, "R1-1", "superseded by R1-2")
		if err != nil || task.Status != fairway.StatusCancelled || task.CancelReason != "superseded by R1-2" {
			t.Fatalf("human cancel: %+v, %v", task, err)
		}
	}},
	{"CycleRefusedNamingIt", func(t *testing.T, e *env) {
		for _, k := range []string{"C-A", "C-B", "C-C"} {
			e.task(t, k)
		}
		// C-A blocks C-B, C-B blocks C-C.
		if err := e.l.AddDependency(e.alice, "C-B", "C-A"); err != nil {
			t.Fatal(err)
		}
		if err := e.l.AddDependency(e.alice, "C-C", "C-B"); err != nil {
			t.Fatal(err)
		}
		before := e.auditSeq(t)
		err := e.l.AddDependency(e.alice, "C-A", "C-C")
		wantMessage(t, err, fairway.ECONFLICT, "C-A cannot depend on C-C: that closes the cycle C-A blocks C-B blocks C-C blocks C-A")
		err = e.l.AddDependency(e.alice, "C-A", "C-A")
		wantMessage(t, err, fairway.EINVALID, "blocker: a task cannot depend on itself")
		if after := e.auditSeq(t); after != before {
			t.Fatalf("refused cycle wrote %d audit events", after-before)
		}
		deps, err := e.l.Dependencies(ctx, "C-B")
		if err != nil || len(deps.BlockedBy) != 1 || deps.BlockedBy[0].Key != "C-A" || len(deps.Blocks) != 1 || deps.Blocks[0].Key != "C-C" {
			t.Fatalf("dependencies of C-B = %+v, %v", deps, err)
		}
	}},
	{"NextOrdersReadyWork", func(t *testing.T, e *env) {
		if _, err := e.l.CreateLane(e.alice, fairway.LaneCreate{Name: "safe-work", KeyPrefix: "SAFE"}); err != nil {
			t.Fatal(err)
		}
		p := func(n int) *int { return &n }
		e.task(t, "N-LOW", func(c *fairway.TaskCreate) { c.Risk = fairway.RiskLow })
		e.task(t, "N-HIGH", func(c *fairway.TaskCreate) { c.Risk = fairway.RiskHigh })
		e.task(t, "N-URGENT", func(c *fairway.TaskCreate) { c.Priority = p(0) })
		e.task(t, "N-GATED", func(c *fairway.TaskCreate) { c.Priority = p(0) })
		e.task(t, "N-BUSY")
		e.task(t, "N-LANE", func(c *fairway.TaskCreate) { c.Lane = "safe-work" })
		if err := e.l.AddDependency(e.alice, "N-GATED", "N-LOW"); err != nil {
			t.Fatal(err)
		}
		e.move(t, "N-BUSY", fairway.StatusInProgress)
		got, err := e.l.Next(ctx, fairway.NextFilter{})
		if want := []string{"N-URGENT", "N-HIGH", "N-LANE", "N-LOW"}; err != nil || !reflect.DeepEqual(keys(got), want) {
			t.Fatalf("next = %v, %v; want %v", keys(got), err, want)
		}
		got, err = e.l.Next(ctx, fairway.NextFilter{Lane: "safe-work"})
		if err != nil || !reflect.DeepEqual(keys(got), []string{"N-LANE"}) {
			t.Fatalf("next --lane = %v, %v", keys(got), err)
		}
		_, err = e.l.Next(ctx, fairway.NextFilter{Lane: "nope"})
		wantCode(t, err, fairway.ENOTFOUND)
		_, err = e.l.Next(ctx, fairway.NextFilter{SafeOnly: true})
		wantCode(t, err, fairway.ECONFLICT)
	}},
	{"LaneStateIsDerived", func(t *testing.T, e *env) {
		if _, err := e.l.CreateLane(e.alice, fairway.LaneCreate{Name: "kind-uat", KeyPrefix: "OPS-UAT"}); err != nil {
			t.Fatal(err)
		}
		state := func() *fairway.LaneState {
			s, err := e.l.GetLane(ctx, "kind-uat")
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		if s := state(); s.State != fairway.LaneIdle {
			t.Fatalf("empty lane state = %s", s.State)
		}
		a := e.task(t, "", func(c *fairway.TaskCreate) { c.Lane = "kind-uat" })
		b := e.task(t, "", func(c *fairway.TaskCreate) { c.Lane = "kind-uat" })
		if a.Key != "OPS-UAT-001" || b.Key != "OPS-UAT-002" {
			t.Fatalf("generated keys = %s, %s", a.Key, b.Key)
		}
		if s := state(); s.State != fairway.LaneMoving || s.Ready != 2 {
			t.Fatalf("lane with ready work = %+v", s)
		}
		e.move(t, a.Key, fairway.StatusBlocked)
		if err := e.l.AddDependency(e.alice, b.Key, a.Key); err != nil {
			t.Fatal(err)
		}
		s := state()
		if s.State != fairway.LaneWaiting || !reflect.DeepEqual(s.WaitingOn, []string{"capacity", "dependency"}) {
			t.Fatalf("blocked lane = %+v", s)
		}
		if s.Counts["blocked"] != 1 || s.Counts["open"] != 1 || s.Ready != 0 {
			t.Fatalf("counts = %v ready %d", s.Counts, s.Ready)
		}
	}},
	{"BadInputChangesNothing", func(t *testing.T, e *env) {
		e.task(t, "OK-1")
		before := e.auditSeq(t)
		bad := []struct {
			name  string
			call  func() error
			field string
		}{
			{"empty title", func() error {
				_, err := e.l.CreateTask(e.alice, fairway.TaskCreate{Key: "X-1", Title: "  "})
				return err
			}, "title"},
			{"bad key", func() error {
				_, err := e.l.CreateTask(e.alice, fairway.TaskCreate{Key: "bad key", Title: "t"})
				return err
			}, "key"},
			{"unknown owner", func() error {
				_, err := e.l.CreateTask(e.alice, fairway.TaskCreate{Key: "X-1", Title: "t", Owner: "ghost"})
				return err
			}, "owner"},
			{"unknown lane", func() error {
				_, err := e.l.CreateTask(e.alice, fairway.TaskCreate{Key: "X-1", Title: "t", Lane: "nowhere"})
				return err
			}, "lane"},
			{"bad risk", func() error {
				_, err := e.l.CreateTask(e.alice, fairway.TaskCreate{Key: "X-1", Title: "t", Risk: "extreme"})
				return err
			}, "risk"},
			{"empty update", func() error { _, err := e.l.UpdateTask(e.alice, "OK-1", fairway.TaskUpdate{}); return err }, ""},
			{"cancel without reason", func() error { _, err := e.l.CancelTask(e.alice, "OK-1", ""); return err }, "reason"},
			{"bad actor kind", func() error {
				_, err := e.l.CreateActor(e.alice, fairway.ActorCreate{Name: "x", Kind: "robot"})
				return err
			}, "kind"},
		}
		for _, b := range bad {
			err := b.call()
			var fe *fairway.Error
			if !asError(err, &fe) || fe.Code != fairway.EINVALID || fe.Field != b.field {
				t.Errorf("%s: err = %#v, want invalid on field %q", b.name, err, b.field)
			}
		}
		if _, err := e.l.GetTask(ctx, "X-1"); fairway.ErrorCode(err) != fairway.ENOTFOUND {
			t.Fatalf("X-1 exists after bad input: %v", err)
		}
		if after := e.auditSeq(t); after != before {
			t.Fatalf("bad input wrote %d audit events", after-before)
		}
	}},
	{"IdentityAndBootstrap", func(t *testing.T, e *env) {
		a, err := e.l.Authenticate(ctx, e.agentToken)
		if err != nil || a.Name != "codex" || a.Kind != fairway.KindAgent {
			t.Fatalf("authenticate = %+v, %v", a, err)
		}
		_, err = e.l.Authenticate(ctx, "fw_wrong")
		wantCode(t, err, fairway.EUNAUTHORIZED)
		_, err = e.l.CreateActor(e.codex, fairway.ActorCreate{Name: "sneaky", Kind: fairway.KindHuman})
		wantCode(t, err, fairway.EFORBIDDEN)
		_, err = e.l.CreateTask(as("ghost"), fairway.TaskCreate{Key: "G-1", Title: "t"})
		wantCode(t, err, fairway.EUNAUTHORIZED)
		_, err = e.l.CreateTask(ctx, fairway.TaskCreate{Key: "G-1", Title: "t"})
		wantCode(t, err, fairway.EUNAUTHORIZED)
		// The audit records the kind of whoever acted.
		e.task(t, "K-1")
		if _, err := e.l.TransitionTask(e.codex, "K-1", fairway.Transition{Status: fairway.StatusInProgress}); err != nil {
			t.Fatal(err)
		}
		events, _ := e.l.AuditLog(ctx, fairway.AuditFilter{Subject: "K-1"})
		if len(events) != 2 || events[0].ActorKind != "human" || events[1].Actor != "codex" || events[1].ActorKind != "agent" {
			t.Fatalf("K-1 audit = %+v", events)
		}
	}},
	{"EveryChangeIsAudited", func(t *testing.T, e *env) {
		before := e.auditSeq(t)
		if _, err := e.l.CreateLane(e.alice, fairway.LaneCreate{Name: "l1"}); err != nil {
			t.Fatal(err)
		}
		e.task(t, "A-1", func(c *fairway.TaskCreate) { c.Lane = "l1" })
		e.task(t, "A-2")
		title := "Renamed"
		if _, err := e.l.UpdateTask(e.alice, "A-1", fairway.TaskUpdate{Title: &title}); err != nil {
			t.Fatal(err)
		}
		if err := e.l.AddDependency(e.alice, "A-2", "A-1"); err != nil {
			t.Fatal(err)
		}
		if err := e.l.RemoveDependency(e.alice, "A-2", "A-1"); err != nil {
			t.Fatal(err)
		}
		e.move(t, "A-1", fairway.StatusInProgress)
		if _, err := e.l.CloseTask(e.alice, "A-1"); err != nil {
			t.Fatal(err)
		}
		events, err := e.l.AuditLog(ctx, fairway.AuditFilter{AfterSeq: before})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, ev := range events {
			actions = append(actions, ev.Action+" "+ev.Subject)
		}
		want := []string{"lane.create l1", "task.create A-1", "task.create A-2", "task.update A-1",
			"dependency.add A-2", "dependency.remove A-2", "task.transition A-1", "task.close A-1"}
		if !reflect.DeepEqual(actions, want) {
			t.Fatalf("actions = %v\nwant %v", actions, want)
		}
		e.auditSeq(t)
	}},
}

func asError(err error, target **fairway.Error) bool {
	e, ok := err.(*fairway.Error)
	if ok {
		*target = e
	}
	return ok
}

// req returns the requirement with the given ID, or an empty one.
func req(d *fairway.GateDecision, id string) fairway.Requirement {
	if d != nil {
		for _, r := range d.Requirements {
			if r.ID == id {
				return r
			}
		}
	}
	return fairway.Requirement{}
}
