package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fairway"
	"fairway/blob"
	"fairway/demo"
	"fairway/ledger"
	"fairway/sqlite"
	"fairway/tlog"
)

// clock moves one second per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// MustOpenLedger returns a ledger on a fresh embedded store, with a
// deterministic clock.
func MustOpenLedger(tb testing.TB) *ledger.Ledger {
	tb.Helper()
	dir := tb.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		tb.Fatal(err)
	}
	l := ledger.New(store, blobs)
	l.Now = (&clock{t: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}).Now
	return l
}

func as(name string) context.Context {
	return fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: name})
}

// withSession returns a context acting as name through a live session
// of its own, attached to a task made for it, so the session is not on
// any task a test acts on.
func withSession(l *ledger.Ledger, name string) context.Context {
	key := "SES-" + strings.ToUpper(strings.NewReplacer(".", "-", "_", "-").Replace(name))
	must(l.CreateTask(as(name), fairway.TaskCreate{Key: key, Title: "session of " + name}))
	att := must(l.AttachSession(as(name), fairway.SessionAttach{Task: key, Provider: "shell"}))
	return fairway.NewContextWithAuth(as(name), &fairway.Auth{Session: att.Session.ID, Generation: att.Session.Generation})
}

// must2 is must for two values.
func must2[T, U any](v T, w U, err error) (T, U) {
	if err != nil {
		panic(err)
	}
	return v, w
}

// must returns v, and panics on err: setup that cannot fail unless the
// code under test is broken.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// fixture is what every authorisation call acts on: alice (human) made
// the ledger and its tasks; omar is a human member of ops; codex an
// agent; ci a service.
type fixture struct {
	evidence  string
	waiver    int64
	narrowing int64
	// failedRun is a dev deploy-run of OPS-FIX-002 whose smoke failed.
	failedRun int64
}

func setUp(t *testing.T, l *ledger.Ledger, withPolicy bool) *fixture {
	f := &fixture{}
	must(l.CreateActor(context.Background(), fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman}))
	for _, a := range []fairway.ActorCreate{{Name: "omar", Kind: fairway.KindHuman}, {Name: "codex", Kind: fairway.KindAgent, IssueToken: true}, {Name: "ci", Kind: fairway.KindService}} {
		must(l.CreateActor(as("alice"), a))
	}
	must(l.CreateLane(as("alice"), fairway.LaneCreate{Name: "closeout", KeyPrefix: "OPS-FIX"}))
	if !withPolicy {
		return f
	}
	must(l.BootstrapPolicy(as("alice"), "governance.yaml", demo.Policy))
	// OPS-FIX-001 has the one independent review the policy's default
	// asks, so a human may close it.
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-001", Title: "first", ReviewDomains: []string{"ops"}}))
	must(l.AddReview(as("omar"), fairway.ReviewAdd{Task: "OPS-FIX-001", Domain: "ops", Verdict: fairway.VerdictApproved}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-002", Title: "second"}))
	if err := l.AddDependency(as("alice"), "OPS-FIX-002", "OPS-FIX-001"); err != nil {
		t.Fatal(err)
	}
	ev := must(l.AddEvidence(as("alice"), fairway.EvidenceAdd{Task: "OPS-FIX-002", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("ok\n")}))
	f.evidence = ev.ID
	w := must(l.RequestWaiver(as("alice"), fairway.WaiverRequest{Task: "OPS-FIX-002", Requirement: "dependency:OPS-FIX-001", Reason: "tracked elsewhere", ExpiresAt: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)}))
	f.waiver = w.ID
	// OPS-FIX-006 waits on OPS-FIX-005, which is done: removing that
	// dependency narrows nothing, so it is a plain (human) edit.
	// The policy's default asks one independent review of it: omar's.
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-005", Title: "finished", ReviewDomains: []string{"ops"}}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-006", Title: "after the finished one"}))
	if err := l.AddDependency(as("alice"), "OPS-FIX-006", "OPS-FIX-005"); err != nil {
		t.Fatal(err)
	}
	must(l.AddReview(as("omar"), fairway.ReviewAdd{Task: "OPS-FIX-005", Domain: "ops", Verdict: fairway.VerdictApproved}))
	must(l.CloseTask(as("alice"), "OPS-FIX-005"))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-003", Lane: "closeout", Title: "reviewed", ReviewDomains: []string{"ops"}}))
	f.narrowing = must(l.ProposeNarrowing(as("alice"), "OPS-FIX-003", fairway.TaskUpdate{RemoveReviewDomains: []string{"ops"}})).ID
	run := must(l.StartDeploy(as("alice"), fairway.DeployStart{Task: "OPS-FIX-002", Environment: "dev", Commit: "0123abcd"}))
	for _, s := range []string{fairway.StageCI, fairway.StageDeploy} {
		must(l.MoveStage(as("alice"), fairway.StageMove{Run: run.ID, Stage: s, Status: fairway.StagePassed, Evidence: []string{f.evidence}}))
	}
	must(l.MoveStage(as("alice"), fairway.StageMove{Run: run.ID, Stage: fairway.StageSmoke, Status: fairway.StageFailed}))
	f.failedRun = run.ID
	return f
}

// call is one Service method called with arguments the fixture makes
// valid, so any refusal is about who calls.
type call struct {
	noPolicy bool // the call needs a ledger with no policy yet
	fn       func(ctx context.Context, l *ledger.Ledger, f *fixture) error
}

func ignore[T any](_ T, err error) error { return err }

var calls = map[string]call{
	"CreateTask": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.CreateTask(ctx, fairway.TaskCreate{Lane: "closeout", Title: "new"}))
	}},
	"GetTask": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.GetTask(ctx, "OPS-FIX-001"))
	}},
	"TaskView": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.TaskView(ctx, "OPS-FIX-002"))
	}},
	"ListTasks": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ListTasks(ctx, fairway.TaskFilter{}))
	}},
	"UpdateTask": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.UpdateTask(ctx, "OPS-FIX-001", fairway.TaskUpdate{Risk: ptr(fairway.RiskLow)}))
	}},
	"TransitionTask": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.TransitionTask(ctx, "OPS-FIX-001", fairway.Transition{Status: fairway.StatusInProgress}))
	}},
	"TakeTask": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.TakeTask(ctx, "OPS-FIX-001"))
	}},
	"CloseTask": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.CloseTask(ctx, "OPS-FIX-001"))
	}},
	"CancelTask": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.CancelTask(ctx, "OPS-FIX-001", "not needed"))
	}},
	"ExplainGate": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ExplainGate(ctx, "OPS-FIX-002"))
	}},
	"AddDependency": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-009", Title: "third"}))
		return l.AddDependency(ctx, "OPS-FIX-009", "OPS-FIX-001")
	}},
	"RemoveDependency": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return l.RemoveDependency(ctx, "OPS-FIX-006", "OPS-FIX-005")
	}},
	"Dependencies": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.Dependencies(ctx, "OPS-FIX-002"))
	}},
	"Next": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.Next(ctx, fairway.NextFilter{}))
	}},
	"CreateLane": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.CreateLane(ctx, fairway.LaneCreate{Name: "fallback"}))
	}},
	"GetLane": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.GetLane(ctx, "closeout"))
	}},
	"ListLanes": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error { return ignore(l.ListLanes(ctx)) }},
	"CreateActor": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.CreateActor(ctx, fairway.ActorCreate{Name: "hank", Kind: fairway.KindHuman, IssueToken: true}))
	}},
	"GetActor":   {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error { return ignore(l.GetActor(ctx, "codex")) }},
	"ListActors": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error { return ignore(l.ListActors(ctx)) }},
	"Whoami":     {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error { return ignore(l.Whoami(ctx)) }},
	"DisableActor": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.DisableActor(ctx, "alice", "left the team"))
	}},
	"RotateToken": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.RotateToken(ctx, "alice", 0))
	}},
	"RevokeTokens": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.RevokeTokens(ctx, "alice"))
	}},
	"ListTokens": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ListTokens(ctx, "alice"))
	}},
	"BindIdentity": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.BindIdentity(ctx, "omar", "https://id.example.com", "sub-omar"))
	}},
	"RevokeToken": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		tok := must(l.RotateToken(as("alice"), "alice", 0)).Token
		return ignore(l.RevokeToken(ctx, fairway.TokenID(ledger.HashToken(tok))))
	}},
	"AuditLog": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.AuditLog(ctx, fairway.AuditFilter{}))
	}},
	"VerifyAudit": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error { return ignore(l.VerifyAudit(ctx)) }},
	"AuditTree":   {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error { return ignore(l.AuditTree(ctx)) }},
	"PublishCheckpoint": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		skey, _ := must2(tlog.GenerateKey("fairway.example/audit"))
		head := must(l.AuditTree(ctx))
		c := must(tlog.Sign(skey, head))
		return ignore(l.PublishCheckpoint(ctx, &fairway.CheckpointInput{Note: c.Note, VerifierKey: c.VerifierKey}))
	}},
	"Checkpoints": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.Checkpoints(ctx, fairway.CheckpointFilter{}))
	}},
	"InclusionProof": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.InclusionProof(ctx, 1, 0))
	}},
	"ConsistencyProof": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ConsistencyProof(ctx, 1, 0))
	}},
	"AddEvidence": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.AddEvidence(ctx, fairway.EvidenceAdd{Task: "OPS-FIX-001", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("pods ready\n")}))
	}},
	"GetEvidence": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.GetEvidence(ctx, f.evidence))
	}},
	"ListEvidence": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ListEvidence(ctx, fairway.EvidenceFilter{}))
	}},
	"OpenEvidence": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		r, err := l.OpenEvidence(ctx, f.evidence, fairway.PartContent)
		if err == nil {
			r.Close()
		}
		return err
	}},
	"VerifyEvidence": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error { return ignore(l.VerifyEvidence(ctx)) }},
	"CheckScope": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.CheckScope(ctx, fairway.ScopeCheck{Task: "OPS-FIX-001", Paths: []string{"README.md"}}))
	}},
	"AcknowledgeScope": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		must(l.CheckScope(as("alice"), fairway.ScopeCheck{Task: "OPS-FIX-001", Paths: []string{"infra/outside.tf"}}))
		return ignore(l.AcknowledgeScope(ctx, fairway.ScopeAcknowledge{Task: "OPS-FIX-001", Paths: []string{"infra/outside.tf"}}))
	}},
	"ScopeRecords": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ScopeRecords(ctx, "OPS-FIX-001"))
	}},
	"AddClaim": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.AddClaim(ctx, fairway.ClaimAdd{Task: "OPS-FIX-001", Text: "tests pass"}))
	}},
	"Search": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.Search(ctx, fairway.SearchQuery{Text: "first"}))
	}},
	"ListClaims": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ListClaims(ctx, "OPS-FIX-001"))
	}},
	"AddReview": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.AddReview(ctx, fairway.ReviewAdd{Task: "OPS-FIX-001", Domain: "ops", Verdict: fairway.VerdictApproved}))
	}},
	"ListReviews": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ListReviews(ctx, "OPS-FIX-001"))
	}},
	"RequestWaiver": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.RequestWaiver(ctx, fairway.WaiverRequest{Task: "OPS-FIX-002", Requirement: "dependency:OPS-FIX-001", Reason: "x", ExpiresAt: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}))
	}},
	"ApproveWaiver": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ApproveWaiver(ctx, f.waiver))
	}},
	"ListWaivers": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ListWaivers(ctx, "", ""))
	}},
	"Watch": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		errSeen := errors.New("seen")
		if err := l.Watch(ctx, fairway.AuditFilter{}, func(*fairway.AuditEvent) error { return errSeen }); err != errSeen {
			return err
		}
		return nil
	}},
	"ProposeNarrowing": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ProposeNarrowing(ctx, "OPS-FIX-003", fairway.TaskUpdate{RemoveReviewDomains: []string{"ops"}}))
	}},
	"ApproveNarrowing": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ApproveNarrowing(ctx, f.narrowing))
	}},
	"ListNarrowings": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ListNarrowings(ctx, ""))
	}},
	"AttachSession": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.AttachSession(ctx, fairway.SessionAttach{Task: "OPS-FIX-001", Provider: "codex"}))
	}},
	"HeartbeatSession": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.HeartbeatSession(ctx, ownSession(ctx, l)))
	}},
	"DetachSession": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.DetachSession(ctx, ownSession(ctx, l), "half done"))
	}},
	"ObserveSession": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ObserveSession(ctx, fairway.SessionObserve{Session: ownSession(ctx, l), Source: fairway.SourceScreenStable}))
	}},
	"GetSession": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.GetSession(ctx, ownSession(ctx, l)))
	}},
	"ListSessions": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ListSessions(ctx, fairway.SessionFilter{Live: true}))
	}},
	"ActivePolicy": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error { return ignore(l.ActivePolicy(ctx)) }},
	"BootstrapPolicy": {noPolicy: true, fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.BootstrapPolicy(ctx, "governance.yaml", demo.Policy))
	}},
	"ProposePolicy": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ProposePolicy(ctx, "OPS-FIX-001", "governance.yaml", bytes.ReplaceAll(demo.Policy, []byte("max_days: 30"), []byte("max_days: 20"))))
	}},
	"StartDeploy": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.StartDeploy(ctx, fairway.DeployStart{Task: "OPS-FIX-002", Environment: "dev", Commit: "0123abcd"}))
	}},
	"MoveStage": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		run := must(l.StartDeploy(as("alice"), fairway.DeployStart{Task: "OPS-FIX-002", Environment: "dev", Commit: "0123abcd"}))
		// A stage passes on evidence of its own run, not the fixture's
		// failed run's.
		ev := must(l.AddEvidence(as("alice"), fairway.EvidenceAdd{Task: "OPS-FIX-002", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("ci of run " + strconv.FormatInt(run.ID, 10) + "\n")}))
		return ignore(l.MoveStage(ctx, fairway.StageMove{Run: run.ID, Stage: fairway.StageCI, Status: fairway.StagePassed, Evidence: []string{ev.ID}}))
	}},
	"DecideNoRollback": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.DecideNoRollback(ctx, f.failedRun, "probe bug, service healthy"))
	}},
	"GetDeployRun": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.GetDeployRun(ctx, f.failedRun))
	}},
	"ListDeployRuns": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.ListDeployRuns(ctx, fairway.DeployFilter{}))
	}},
	"ReceiveWebhook": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		l.Getenv = func(k string) string { return map[string]string{"FAIRWAY_GITHUB_WEBHOOK_SECRET": "s3cret"}[k] }
		body := []byte(`{"action":"completed","repository":{"full_name":"acme/gpuaas"},"workflow_run":{"id":1,"path":".github/workflows/ci.yml","head_sha":"0123abcd","status":"completed","conclusion":"success"}}`)
		return ignore(l.ReceiveWebhook(ctx, fairway.WebhookDelivery{Source: "github", Event: "workflow_run", Delivery: "d-1", Signature: githubSignature("s3cret", body), Body: body}))
	}},
	"EnvironmentStatus": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.EnvironmentStatus(ctx, "kind-local", ""))
	}},
	"Plan": {fn: func(ctx context.Context, l *ledger.Ledger, f *fixture) error {
		return ignore(l.Plan(ctx, fairway.PlanFilter{}))
	}},
}

func ptr[T any](v T) *T { return &v }

// ownSession returns the session the caller acts through, or attaches
// one for the caller (as setup) when it acts with its own credential.
func ownSession(ctx context.Context, l *ledger.Ledger) string {
	if id := fairway.AuthFromContext(ctx).Session; id != "" {
		return id
	}
	name := fairway.ActorFromContext(ctx).Name
	return must(l.AttachSession(as(name), fairway.SessionAttach{Task: "OPS-FIX-002", Provider: "shell"})).Session.ID
}

// The callers: each actor kind with its own credential, and each with a
// session credential.
var callers = []struct {
	name string
	ctx  func(l *ledger.Ledger) context.Context
}{
	{"human", func(*ledger.Ledger) context.Context { return as("omar") }},
	{"agent", func(*ledger.Ledger) context.Context { return as("codex") }},
	{"service", func(*ledger.Ledger) context.Context { return as("ci") }},
	{"human+session", func(l *ledger.Ledger) context.Context { return withSession(l, "omar") }},
	{"agent+session", func(l *ledger.Ledger) context.Context { return withSession(l, "codex") }},
	{"service+session", func(l *ledger.Ledger) context.Context { return withSession(l, "ci") }},
}

// humanOnly and everyone are the allowed sets the table uses.
var (
	everyone  = []string{"human", "agent", "service", "human+session", "agent+session", "service+session"}
	humanOnly = []string{"human"}
	// ownCredential is every kind acting with its own credential.
	// ownCredential: a write that a session credential may make only on
	// its own task (the callers' sessions here are on tasks of their own).
	ownCredential = []string{"human", "agent", "service"}
)

// allowed is who may call each method. A method of fairway.Service
// without a row fails the test: adding an operation means deciding here
// who may do it.
var allowed = map[string][]string{
	"CreateTask": ownCredential, "GetTask": everyone, "TaskView": everyone, "ListTasks": everyone,
	"UpdateTask":     humanOnly, // changes risk: what the gate requires
	"TransitionTask": ownCredential,
	// Taking assigns only unowned work, and only to the taker.
	"TakeTask":  ownCredential,
	"CloseTask": humanOnly, "CancelTask": humanOnly, "ExplainGate": everyone,
	"AddDependency": ownCredential, "RemoveDependency": humanOnly, "Dependencies": everyone, "Next": everyone,
	"CreateLane": ownCredential, "GetLane": everyone, "ListLanes": everyone,
	"CreateActor": humanOnly, // a human actor, with a token
	"GetActor":    everyone, "ListActors": everyone, "Whoami": everyone,
	"DisableActor": humanOnly,
	"RotateToken":  humanOnly, // a human's token
	"RevokeTokens": humanOnly, // a human's tokens, by someone else
	// The audit log shows every token's issue and revocation to all.
	"ListTokens":  everyone,
	"RevokeToken": humanOnly, // one of a human's tokens, by someone else
	// A binding makes an identity provider's tokens act as the actor.
	"BindIdentity": humanOnly,
	"AuditLog":     everyone, "VerifyAudit": everyone, "Watch": everyone,
	// A checkpoint is checked against the log before it is stored, and
	// proofs are public: any known actor may ask for them.
	"AuditTree": everyone, "PublishCheckpoint": ownCredential, "Checkpoints": everyone, "InclusionProof": everyone, "ConsistencyProof": everyone,
	"AddEvidence": ownCredential, "GetEvidence": everyone, "ListEvidence": everyone, "OpenEvidence": everyone, "VerifyEvidence": everyone,
	"AddClaim": ownCredential, "ListClaims": everyone, "Search": everyone,
	// Anyone working on a task checks its scope; acknowledging a change
	// outside it is a human owner's decision.
	"CheckScope": ownCredential, "AcknowledgeScope": humanOnly, "ScopeRecords": everyone,
	"AddReview": humanOnly, "ListReviews": everyone,
	"RequestWaiver": ownCredential, "ApproveWaiver": humanOnly, "ListWaivers": everyone,
	"ActivePolicy": everyone, "BootstrapPolicy": humanOnly, "ProposePolicy": ownCredential,
	"ProposeNarrowing": humanOnly, "ApproveNarrowing": humanOnly, "ListNarrowings": everyone,
	// A session is attached with an actor's own credential, and
	// controlled by its actor or its own credential.
	"AttachSession": ownCredential, "HeartbeatSession": everyone, "DetachSession": everyone, "ObserveSession": everyone,
	"GetSession": everyone, "ListSessions": everyone,
	// Agents execute deploys and record their stages; deciding not to roll
	// back is a human's decision.
	"StartDeploy": ownCredential, "MoveStage": ownCredential, "DecideNoRollback": humanOnly,
	"GetDeployRun": everyone, "ListDeployRuns": everyone, "EnvironmentStatus": everyone,
	// A webhook's signature is its credential: whoever delivers it, the
	// policy's service actor records it.
	"ReceiveWebhook": everyone,
	"Plan":           everyone,
}

func TestAuthority_EveryMethodByEveryCaller(t *testing.T) {
	svc := reflect.TypeFor[fairway.Service]()
	for i := range svc.NumMethod() {
		name := svc.Method(i).Name
		c, hasCall := calls[name]
		who, hasRow := allowed[name]
		if !hasCall || !hasRow {
			t.Errorf("fairway.Service.%s has no row in the authorisation table (call %t, allowed %t): decide who may call it", name, hasCall, hasRow)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, caller := range callers {
				l := MustOpenLedger(t)
				f := setUp(t, l, !c.noPolicy)
				ctx := caller.ctx(l)
				before := auditLen(t, l)
				err := c.fn(ctx, l, f)
				switch code := fairway.ErrorCode(err); code {
				case "":
					got = append(got, caller.name)
				case fairway.EFORBIDDEN:
					// A refusal changes nothing but the audit log, where
					// it is recorded: the caller's one event is the
					// refusal (a call's own set-up writes are alice's).
					events := must(l.AuditLog(context.Background(), fairway.AuditFilter{AfterSeq: int64(before), Limit: 1000}))
					var mine []*fairway.AuditEvent
					for _, e := range events {
						if e.Actor != "alice" {
							mine = append(mine, e)
						}
					}
					if len(mine) != 1 || !strings.HasSuffix(mine[0].Action, ".refused") {
						t.Errorf("%s by %s: refused (%v) but the refusal was not the caller's one audited event", name, caller.name, err)
					}
				default:
					t.Errorf("%s by %s: %v (want success or a refusal; the fixture should make the call valid)", name, caller.name, err)
				}
			}
			if !slices.Equal(got, who) {
				t.Errorf("%s is allowed for %v, want %v", name, got, who)
			}
		})
	}
}

func auditLen(t *testing.T, l *ledger.Ledger) int {
	return len(must(l.AuditLog(context.Background(), fairway.AuditFilter{Limit: 10000})))
}

// Who may create which kind of actor and be issued whose token.
func TestAuthority_ActorsAndTokensByKind(t *testing.T) {
	cases := []struct {
		caller string
		ctx    func(l *ledger.Ledger) context.Context
		// may create (and so be issued the first token of) each kind
		human, agent, service bool
	}{
		{"human", func(*ledger.Ledger) context.Context { return as("omar") }, true, true, true},
		{"service", func(*ledger.Ledger) context.Context { return as("ci") }, false, true, true},
		{"agent", func(*ledger.Ledger) context.Context { return as("codex") }, false, false, false},
		{"human+session", func(l *ledger.Ledger) context.Context { return withSession(l, "omar") }, false, false, false},
	}
	for _, c := range cases {
		l := MustOpenLedger(t)
		setUp(t, l, false)
		ctx := c.ctx(l)
		for i, kind := range []string{fairway.KindHuman, fairway.KindAgent, fairway.KindService} {
			want := []bool{c.human, c.agent, c.service}[i]
			_, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "new-" + kind, Kind: kind, IssueToken: true})
			if (err == nil) != want || err != nil && fairway.ErrorCode(err) != fairway.EFORBIDDEN {
				t.Errorf("%s creating a %s: %v, want allowed=%t", c.caller, kind, err, want)
			}
			if err == nil {
				_, err = l.RotateToken(ctx, "new-"+kind, 0)
				if err != nil {
					t.Errorf("%s rotating the token of the %s it created: %v", c.caller, kind, err)
				}
			}
		}
	}
}

// An agent may revoke its own tokens (it can only lose by it), never
// another's; a revoked token stops at once.
func TestAuthority_RevokedTokenStops(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, false)
	out := must(l.RotateToken(as("alice"), "codex", 0))
	if a, err := l.Authenticate(context.Background(), out.Token); err != nil || a.Name != "codex" {
		t.Fatalf("fresh token: %v %v", a, err)
	}
	if _, err := l.RevokeTokens(as("codex"), "ci"); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
		t.Fatalf("agent revoking a service's tokens: %v, want forbidden", err)
	}
	if n := must(l.RevokeTokens(as("codex"), "codex")); n != 1 {
		t.Fatalf("revoked %d tokens, want 1", n)
	}
	if _, err := l.Authenticate(context.Background(), out.Token); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("revoked token: %v, want unauthorized", err)
	}
}

// A disabled actor stops at once: its tokens, and its local-mode use.
func TestAuthority_DisabledActorStops(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, false)
	tok := must(l.RotateToken(as("alice"), "codex", 0))
	if _, err := l.DisableActor(as("codex"), "alice", "mutiny"); fairway.ErrorCode(err) != fairway.EFORBIDDEN {
		t.Fatalf("agent disabling a human: %v, want forbidden", err)
	}
	if _, err := l.DisableActor(as("alice"), "alice", "bye"); fairway.ErrorCode(err) != fairway.ECONFLICT {
		t.Fatalf("disabling yourself: %v, want conflict", err)
	}
	if _, err := l.DisableActor(as("alice"), "codex", ""); fairway.ErrorCode(err) != fairway.EINVALID {
		t.Fatalf("disabling without a reason: %v, want invalid", err)
	}
	a := must(l.DisableActor(as("alice"), "codex", "replaced by codex-2"))
	if !a.Disabled() || a.DisabledBy != "alice" {
		t.Fatalf("disabled actor = %+v", a)
	}
	if _, err := l.Authenticate(context.Background(), tok.Token); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("disabled actor's token: %v, want unauthorized", err)
	}
	if _, err := l.CreateLane(as("codex"), fairway.LaneCreate{Name: "x"}); fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		t.Fatalf("disabled actor writing: %v, want unauthorized", err)
	}
	if _, err := l.RotateToken(as("alice"), "codex", 0); fairway.ErrorCode(err) != fairway.ECONFLICT {
		t.Fatalf("a token for a disabled actor: %v, want conflict", err)
	}
}

func asError(err error, target **fairway.Error) bool { return errors.As(err, target) }
