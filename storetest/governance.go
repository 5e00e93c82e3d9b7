package storetest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"fairway"
	"fairway/demo"
	"fairway/ledger"
)

// governed bootstraps the demo policy and creates its people: ops
// (olivia, omar), security (sana, sergei), platform (priya, paul),
// product (grace, gustavo). Governance owners are olivia and sana.
func (e *env) governed(t *testing.T) {
	t.Helper()
	for _, name := range []string{"olivia", "omar", "sana", "sergei", "priya", "paul", "grace", "gustavo"} {
		if _, err := e.l.CreateActor(e.alice, fairway.ActorCreate{Name: name, Kind: fairway.KindHuman}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.l.BootstrapPolicy(e.alice, "governance.yaml", demo.Policy); err != nil {
		t.Fatal(err)
	}
}

// withMFA acts as name with MFA asserted by the identity provider.
func withMFA(name string) context.Context {
	return fairway.NewContextWithAuth(as(name), &fairway.Auth{MFA: &fairway.MFAPosture{Source: "oidc", AMR: []string{"pwd", "otp"}, MFA: true}})
}

func (e *env) review(t *testing.T, ctx context.Context, key, domain, verdict string, items ...string) *fairway.Review {
	t.Helper()
	rv, err := e.l.AddReview(ctx, fairway.ReviewAdd{Task: key, Domain: domain, Verdict: verdict, Items: items})
	if err != nil {
		t.Fatalf("%s review of %s for %s: %v", verdict, key, domain, err)
	}
	return rv
}

func (e *env) gate(t *testing.T, key string) *fairway.GateDecision {
	t.Helper()
	d, err := e.l.ExplainGate(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func wantState(t *testing.T, d *fairway.GateDecision, id, state string) fairway.Requirement {
	t.Helper()
	r := req(d, id)
	if r.State != state {
		t.Fatalf("%s is %q (%s; %s), want %s", id, r.State, r.Detail, r.Remedy, state)
	}
	return r
}

func testR1OnlyHumansReview(t *testing.T, e *env) {
	e.governed(t)
	e.task(t, "R1-REV", func(c *fairway.TaskCreate) { c.ReviewDomains = []string{"ops"} })
	// olivia's live session is on another task, so only the credential
	// is at issue.
	e.task(t, "R1-SES")
	att, err := e.l.AttachSession(as("olivia"), fairway.SessionAttach{Task: "R1-SES", Provider: "tmux"})
	if err != nil {
		t.Fatal(err)
	}
	before := e.auditSeq(t)
	_, err = e.l.AddReview(e.codex, fairway.ReviewAdd{Task: "R1-REV", Domain: "ops", Verdict: fairway.VerdictApproved})
	wantMessage(t, err, fairway.EFORBIDDEN, "only a human can review; codex is an agent. Agents may execute and summarise; reviews are for independent humans")
	session := fairway.NewContextWithAuth(as("olivia"), &fairway.Auth{Session: att.Session.ID, Generation: att.Session.Generation})
	_, err = e.l.AddReview(session, fairway.ReviewAdd{Task: "R1-REV", Domain: "ops", Verdict: fairway.VerdictApproved})
	wantMessage(t, err, fairway.EFORBIDDEN, "only a human can review, and not with a session credential (session "+att.Session.ID+")")
	_, err = e.l.CloseTask(session, "R1-REV")
	wantCode(t, err, fairway.EFORBIDDEN)
	events, _ := e.l.AuditLog(ctx, fairway.AuditFilter{AfterSeq: before})
	if len(events) != 3 || events[0].Action != "review.approved.refused" || events[2].Action != "task.close.refused" {
		t.Fatalf("refusals not audited: %+v", events)
	}
	wantState(t, e.gate(t, "R1-REV"), "review:ops", fairway.ReqUnsatisfied)
}

// testAgentsCannotChooseTheirRequirements: an agent may create work and
// retitle it, but not narrow what its gate requires.
func testAgentsCannotChooseTheirRequirements(t *testing.T, e *env) {
	e.governed(t)
	e.task(t, "NARROW-1", func(c *fairway.TaskCreate) {
		c.ReviewDomains = []string{"security"}
		c.Mutating = true
		c.Scope = fairway.Scope{ChangeClasses: []string{"edge-dns"}}
	})
	e.task(t, "NARROW-DEP")
	if err := e.l.AddDependency(e.codex, "NARROW-1", "NARROW-DEP"); err != nil {
		t.Fatalf("agents may add dependencies: %v", err)
	}
	before := e.auditSeq(t)
	off := false
	for name, u := range map[string]fairway.TaskUpdate{
		"domains": {RemoveReviewDomains: []string{"ops"}}, "scope": {ReplaceScope: &fairway.Scope{}}, "mutating": {Mutating: &off},
		"labels": {AddLabels: []string{"safe-fallback"}}, "risk": {Risk: ptr("low")}, "owner": {Owner: ptr("codex")},
	} {
		_, err := e.l.UpdateTask(e.codex, "NARROW-1", u)
		wantCode(t, err, fairway.EFORBIDDEN)
		if !strings.HasPrefix(fairway.ErrorMessage(err), "only a human can change a task's scope") {
			t.Fatalf("%s: %v", name, err)
		}
	}
	err := e.l.RemoveDependency(e.codex, "NARROW-1", "NARROW-DEP")
	wantMessage(t, err, fairway.EFORBIDDEN, "only a human can remove a dependency; codex is an agent. It lifts a requirement of the gate")
	if after := e.auditSeq(t); after != before+7 {
		t.Fatalf("refusals audited: %d, want 7", after-before)
	}
	if _, err := e.l.UpdateTask(e.codex, "NARROW-1", fairway.TaskUpdate{Title: ptr("Rotate the tunnel (retitled)")}); err != nil {
		t.Fatalf("agents may retitle: %v", err)
	}
	d := e.gate(t, "NARROW-1")
	wantState(t, d, "review:security", fairway.ReqUnsatisfied)
	wantState(t, d, "dependency:NARROW-DEP", fairway.ReqUnsatisfied)
}

func ptr[T any](v T) *T { return &v }

func testR2Independence(t *testing.T, e *env) {
	e.governed(t)
	// olivia creates the work and gives it to the agent; omar records
	// evidence; so only a third ops member could approve, and there is
	// none: ops has olivia and omar.
	task, err := e.l.CreateTask(as("olivia"), fairway.TaskCreate{Key: "R2-1", Title: "runner inventory", Owner: "codex", ReviewDomains: []string{"ops", "platform"}})
	if err != nil {
		t.Fatal(err)
	}
	if task.AssignedBy != "olivia" {
		t.Fatalf("assigned by %q", task.AssignedBy)
	}
	if _, err := e.l.AddEvidence(as("omar"), fairway.EvidenceAdd{Task: "R2-1", Kind: "export"}, fairway.EvidenceParts{Content: strings.NewReader("inventory\n")}); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"olivia", "omar"} {
		_, err := e.l.AddReview(as(who), fairway.ReviewAdd{Task: "R2-1", Domain: "ops", Verdict: fairway.VerdictApproved})
		wantCode(t, err, fairway.EFORBIDDEN)
		if !strings.Contains(fairway.ErrorMessage(err), "is not independent of R2-1") {
			t.Fatalf("%s: %v", who, err)
		}
	}
	_, err = e.l.AddReview(as("grace"), fairway.ReviewAdd{Task: "R2-1", Domain: "ops", Verdict: fairway.VerdictApproved})
	wantMessage(t, err, fairway.EFORBIDDEN, "grace is not a member of review domain ops; members: ops (olivia, omar)")
	d := e.gate(t, "R2-1")
	r := wantState(t, d, "review:ops", fairway.ReqUnsatisfied)
	if !strings.Contains(r.Remedy, "by a human of ops (olivia, omar) who is not codex, olivia, omar") {
		t.Fatalf("remedy = %q", r.Remedy)
	}
	// A reviewer who later records evidence loses independence: the
	// approval stops counting even though it was valid when given.
	e.review(t, as("priya"), "R2-1", "platform", fairway.VerdictApproved)
	if _, err := e.l.AddEvidence(as("priya"), fairway.EvidenceAdd{Task: "R2-1", Kind: "context"}, fairway.EvidenceParts{Content: strings.NewReader("notes\n")}); err != nil {
		t.Fatal(err)
	}
	r = wantState(t, e.gate(t, "R2-1"), "review:platform", fairway.ReqUnsatisfied)
	if !strings.Contains(r.Detail, "not independent: priya (recorded its evidence)") {
		t.Fatalf("detail = %q", r.Detail)
	}
	e.review(t, as("paul"), "R2-1", "platform", fairway.VerdictApproved)
	wantState(t, e.gate(t, "R2-1"), "review:platform", fairway.ReqSatisfied)
}

// withToken authenticates a bearer token as the server does.
func (e *env) withToken(t *testing.T, token string) context.Context {
	t.Helper()
	a, auth, err := ledger.TokenAuth{L: e.l}.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	return fairway.NewContextWithAuth(fairway.NewContextWithActor(ctx, a), auth)
}

func (e *env) rotate(t *testing.T, by context.Context, name string) (string, *fairway.Token) {
	t.Helper()
	out, err := e.l.RotateToken(by, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	var k *fairway.Token
	if err := e.l.Store().View(ctx, func(tx fairway.Tx) error {
		_, k, err = tx.ActorByTokenHash(ledger.HashToken(out.Token))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out.Token, k
}

// testR2HandedTokenIsTheIssuers: a token a human issues for another human
// could be kept by the issuer, so what is done with it is the issuer's
// too: olivia holding sana's token is one reviewer, not two; she cannot
// review her own work through it; and rotating it or signing in with it
// does not launder it.
func testR2HandedTokenIsTheIssuers(t *testing.T, e *env) {
	e.governed(t)
	oTok, ok := e.rotate(t, as("olivia"), "olivia")
	if ok.IssuedBy != "olivia" || ok.Vouched() != "" {
		t.Fatalf("olivia's own token: %+v, want issued by olivia", ok)
	}
	olivia := e.withToken(t, oTok)
	sTok, sk := e.rotate(t, olivia, "sana")
	if sk.IssuedBy != "olivia" || sk.IssuedWith != ok.ID {
		t.Fatalf("sana's token from olivia: %+v, want issued by olivia with %s", sk, ok.ID)
	}
	sanaByOlivia := e.withToken(t, sTok)

	e.task(t, "GOV-H", func(c *fairway.TaskCreate) { c.ReviewDomains = []string{"governance"} })
	e.review(t, olivia, "GOV-H", "governance", fairway.VerdictApproved)
	rv := e.review(t, sanaByOlivia, "GOV-H", "governance", fairway.VerdictApproved)
	if rv.Reviewer != "sana" || rv.TokenIssuedBy != "olivia" {
		t.Fatalf("review = %+v, want sana's with a token issued by olivia", rv)
	}
	r := wantState(t, e.gate(t, "GOV-H"), "review:governance", fairway.ReqUnsatisfied)
	if !strings.HasPrefix(r.Detail, "1 of 2 approval(s) by olivia+sana") {
		t.Fatalf("detail = %q", r.Detail)
	}
	list, err := e.l.ListReviews(ctx, "GOV-H")
	if err != nil || len(list) != 2 || list[1].TokenIssuedBy != "olivia" || list[0].TokenIssuedBy != "" {
		t.Fatalf("stored reviews = %+v %v", list, err)
	}

	// Her own work, through sana's token: refused.
	if _, err := e.l.CreateTask(olivia, fairway.TaskCreate{Key: "GOV-O", Title: "olivia's", ReviewDomains: []string{"governance"}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.l.AddReview(sanaByOlivia, fairway.ReviewAdd{Task: "GOV-O", Domain: "governance", Verdict: fairway.VerdictApproved})
	wantMessage(t, err, fairway.EFORBIDDEN, "sana is not independent of GOV-O: sana acts with a token issued by olivia, who created the task; ask another member of governance (olivia, sana)")

	// A rotate, or a login link, made with the handed token stays olivia's.
	sTok2, sk2 := e.rotate(t, sanaByOlivia, "sana")
	if sk2.IssuedBy != "olivia" || sk2.IssuedWith != sk.ID {
		t.Fatalf("sana's token rotated with olivia's hand-over: %+v, want still issued by olivia", sk2)
	}
	link, err := e.l.IssueLoginLink(e.withToken(t, sTok2), ledger.LoginLinkTTL, 0)
	if err != nil {
		t.Fatal(err)
	}
	signedIn, err := e.l.RedeemLoginLink(ctx, link.Link)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.l.AddReview(e.withToken(t, signedIn.Token), fairway.ReviewAdd{Task: "GOV-O", Domain: "governance", Verdict: fairway.VerdictApproved})
	wantMessage(t, err, fairway.EFORBIDDEN, "sana is not independent of GOV-O: sana acts with a token issued by olivia, who created the task; ask another member of governance (olivia, sana)")

	// Revoking and re-issuing later does not wash the recorded review.
	if _, err := e.l.RevokeTokens(as("sana"), "sana"); err != nil {
		t.Fatal(err)
	}
	sOwn, sko := e.rotate(t, as("sana"), "sana")
	if sko.IssuedBy != "sana" || sko.Vouched() != "" {
		t.Fatalf("sana's own token: %+v", sko)
	}
	e.review(t, e.withToken(t, sOwn), "GOV-H", "governance", fairway.VerdictApproved)
	wantState(t, e.gate(t, "GOV-H"), "review:governance", fairway.ReqUnsatisfied)

	// With her own token, sana is a reviewer of her own.
	e.task(t, "GOV-S", func(c *fairway.TaskCreate) { c.ReviewDomains = []string{"governance"} })
	e.review(t, olivia, "GOV-S", "governance", fairway.VerdictApproved)
	e.review(t, e.withToken(t, sOwn), "GOV-S", "governance", fairway.VerdictApproved)
	r = wantState(t, e.gate(t, "GOV-S"), "review:governance", fairway.ReqSatisfied)
	if !strings.HasPrefix(r.Detail, "2 of 2 approval(s) by olivia, sana") {
		t.Fatalf("detail = %q", r.Detail)
	}
}

func testR2ChangeRequests(t *testing.T, e *env) {
	e.governed(t)
	e.task(t, "R2-CR", func(c *fairway.TaskCreate) { c.ReviewDomains = []string{"platform"} })
	_, err := e.l.AddReview(as("paul"), fairway.ReviewAdd{Task: "R2-CR", Domain: "platform", Verdict: fairway.VerdictChangesRequested})
	wantMessage(t, err, fairway.EINVALID, "items: a change request lists the concrete changes wanted, at least one")
	cr := e.review(t, as("paul"), "R2-CR", "platform", fairway.VerdictChangesRequested, "add the smoke log")
	e.review(t, as("priya"), "R2-CR", "platform", fairway.VerdictApproved)
	r := wantState(t, e.gate(t, "R2-CR"), "review:platform", fairway.ReqUnsatisfied)
	if !strings.Contains(r.Detail, "open change requests: #"+itoa(cr.ID)+" by paul: add the smoke log") {
		t.Fatalf("detail = %q", r.Detail)
	}
	_, err = e.l.AddReview(as("grace"), fairway.ReviewAdd{Task: "R2-CR", Domain: "platform", Verdict: fairway.VerdictResolved})
	wantCode(t, err, fairway.EFORBIDDEN)
	res := e.review(t, as("priya"), "R2-CR", "platform", fairway.VerdictResolved)
	if res.Resolves != cr.ID {
		t.Fatalf("resolves %d, want %d", res.Resolves, cr.ID)
	}
	wantState(t, e.gate(t, "R2-CR"), "review:platform", fairway.ReqSatisfied)
	_, err = e.l.AddReview(as("priya"), fairway.ReviewAdd{Task: "R2-CR", Domain: "platform", Verdict: fairway.VerdictResolved})
	wantMessage(t, err, fairway.ECONFLICT, "there is no open change request for domain platform to resolve")
	// The governance domain needs two approvals.
	e.task(t, "GOV-2", func(c *fairway.TaskCreate) { c.ReviewDomains = []string{"governance"} })
	e.review(t, as("olivia"), "GOV-2", "governance", fairway.VerdictApproved)
	r = wantState(t, e.gate(t, "GOV-2"), "review:governance", fairway.ReqUnsatisfied)
	if !strings.HasPrefix(r.Detail, "1 of 2 approval(s) by olivia") {
		t.Fatalf("detail = %q", r.Detail)
	}
	e.review(t, as("sana"), "GOV-2", "governance", fairway.VerdictApproved)
	wantState(t, e.gate(t, "GOV-2"), "review:governance", fairway.ReqSatisfied)
	e.move(t, "GOV-2", fairway.StatusInProgress)
	if d, err := e.l.CloseTask(as("grace"), "GOV-2"); err != nil || !d.Pass || d.PolicyDigest == "" {
		t.Fatalf("close = %+v %v", d, err)
	}
}

func testR4Staleness(t *testing.T, e *env) {
	e.governed(t)
	e.task(t, "R4-1", func(c *fairway.TaskCreate) {
		c.ReviewDomains = []string{"ops"}
		c.Scope = fairway.Scope{Surfaces: []string{"ci-runners"}}
	})
	if _, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "R4-1", Kind: "export"}, fairway.EvidenceParts{Content: strings.NewReader("runners: 4\n")}); err != nil {
		t.Fatal(err)
	}
	e.review(t, as("olivia"), "R4-1", "ops", fairway.VerdictApproved)
	d := e.gate(t, "R4-1")
	wantState(t, d, "review:ops", fairway.ReqSatisfied)
	wantState(t, d, "evidence:export", fairway.ReqSatisfied)
	if !d.Pass {
		t.Fatalf("gate = %+v", d)
	}
	// New evidence changes what was judged.
	if _, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "R4-1", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader("more\n")}); err != nil {
		t.Fatal(err)
	}
	r := wantState(t, e.gate(t, "R4-1"), "review:ops", fairway.ReqUnsatisfied)
	if r.Detail != "0 of 1 approval(s); stale (title, scope or evidence changed since): olivia" {
		t.Fatalf("detail = %q", r.Detail)
	}
	e.move(t, "R4-1", fairway.StatusInProgress)
	_, err := e.l.CloseTask(as("grace"), "R4-1")
	wantCode(t, err, fairway.EGATEFAILED)
	e.review(t, as("olivia"), "R4-1", "ops", fairway.VerdictApproved)
	wantState(t, e.gate(t, "R4-1"), "review:ops", fairway.ReqSatisfied)
	// So does a new title, which an agent may give: an approval is of
	// the task as it was named.
	if _, err := e.l.UpdateTask(e.codex, "R4-1", fairway.TaskUpdate{Title: ptr("remove the runners' limits")}); err != nil {
		t.Fatal(err)
	}
	r = wantState(t, e.gate(t, "R4-1"), "review:ops", fairway.ReqUnsatisfied)
	if r.Detail != "0 of 1 approval(s); stale (title, scope or evidence changed since): olivia" {
		t.Fatalf("detail after a retitle = %q", r.Detail)
	}
	e.review(t, as("olivia"), "R4-1", "ops", fairway.VerdictApproved)
	wantState(t, e.gate(t, "R4-1"), "review:ops", fairway.ReqSatisfied)
	// So does a change of scope; a transcript does not (it is not proof).
	if _, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "R4-1", Kind: "context"}, fairway.EvidenceParts{Content: strings.NewReader("chat\n")}); err != nil {
		t.Fatal(err)
	}
	wantState(t, e.gate(t, "R4-1"), "review:ops", fairway.ReqSatisfied)
	scope := fairway.Scope{Surfaces: []string{"ci-runners"}, Paths: []string{"infra/runners/**"}}
	if _, err := e.l.UpdateTask(e.alice, "R4-1", fairway.TaskUpdate{ReplaceScope: &scope}); err != nil {
		t.Fatal(err)
	}
	wantState(t, e.gate(t, "R4-1"), "review:ops", fairway.ReqUnsatisfied)
	e.review(t, as("omar"), "R4-1", "ops", fairway.VerdictApproved)
	d, err = e.l.CloseTask(as("grace"), "R4-1")
	if err != nil || !d.Pass {
		t.Fatalf("close = %+v %v", d, err)
	}
	rec, _ := e.l.ActivePolicy(ctx)
	if d.PolicyDigest != rec.Digest {
		t.Fatalf("decision policy digest %q, want %q", d.PolicyDigest, rec.Digest)
	}
}

func testR5Protected(t *testing.T, e *env) {
	e.governed(t)
	e.task(t, "R5-EDGE", func(c *fairway.TaskCreate) {
		c.Mutating = true
		c.Scope = fairway.Scope{Text: "rotate the tunnel", ChangeClasses: []string{"edge-dns"}}
	})
	before := e.auditSeq(t)
	_, err := e.l.TransitionTask(e.codex, "R5-EDGE", fairway.Transition{Status: fairway.StatusInProgress})
	wantMessage(t, err, fairway.EGATEFAILED, "R5-EDGE is a mutating change of a protected class; before it starts it needs: "+
		"review:ops (protected change class edge-dns); review:security (protected change class edge-dns); "+
		"evidence:rollback-plan (rollback criteria for protected change class edge-dns) (see `fairway gate explain R5-EDGE`)")
	if after := e.auditSeq(t); after != before+1 {
		t.Fatalf("refusal audited %d events", after-before)
	}
	// Fallback work does not loosen this: a waiver of a protected control
	// is refused.
	_, err = e.l.RequestWaiver(e.alice, fairway.WaiverRequest{Task: "R5-EDGE", Requirement: "evidence:rollback-plan", Reason: "lane is waiting", ExpiresAt: e.clock.Now().Add(time.Hour)})
	wantMessage(t, err, fairway.EINVALID, "requirement: evidence:rollback-plan is a control of a protected change class and cannot be waived (R5)")
	if _, err := e.l.AddEvidence(e.alice, fairway.EvidenceAdd{Task: "R5-EDGE", Kind: "rollback-plan"}, fairway.EvidenceParts{Content: strings.NewReader("restore tunnel config v41\n")}); err != nil {
		t.Fatal(err)
	}
	e.review(t, as("olivia"), "R5-EDGE", "ops", fairway.VerdictApproved)
	_, err = e.l.TransitionTask(e.codex, "R5-EDGE", fairway.Transition{Status: fairway.StatusInProgress})
	wantCode(t, err, fairway.EGATEFAILED)
	e.review(t, withMFA("sana"), "R5-EDGE", "security", fairway.VerdictApproved)
	if _, err := e.l.TransitionTask(e.codex, "R5-EDGE", fairway.Transition{Status: fairway.StatusInProgress}); err != nil {
		t.Fatalf("start after approvals: %v", err)
	}
	// A non-mutating task of the same class may start: it changes nothing.
	e.task(t, "R5-PLAN", func(c *fairway.TaskCreate) { c.Scope = fairway.Scope{ChangeClasses: []string{"edge-dns"}} })
	e.move(t, "R5-PLAN", fairway.StatusInProgress)
}

func testR6MFA(t *testing.T, e *env) {
	e.governed(t)
	e.l.StepUpACR = []string{"urn:example:mfa"}
	e.task(t, "R6-1", func(c *fairway.TaskCreate) { c.ReviewDomains = []string{"security", "ops"} })
	before := e.auditSeq(t)
	_, err := e.l.AddReview(as("sana"), fairway.ReviewAdd{Task: "R6-1", Domain: "security", Verdict: fairway.VerdictApproved})
	wantCode(t, err, fairway.ESTEPUP)
	fe := err.(*fairway.Error)
	if fe.StepUp == nil || fe.StepUp.MaxAge != 900 || len(fe.StepUp.ACRValues) != 1 {
		t.Fatalf("step-up = %+v", fe.StepUp)
	}
	noMFA := fairway.NewContextWithAuth(as("sana"), &fairway.Auth{MFA: &fairway.MFAPosture{Source: "oidc", AMR: []string{"pwd"}}})
	_, err = e.l.AddReview(noMFA, fairway.ReviewAdd{Task: "R6-1", Domain: "security", Verdict: fairway.VerdictApproved})
	wantCode(t, err, fairway.ESTEPUP)
	if !strings.Contains(fairway.ErrorMessage(err), "no fresh second factor (amr pwd)") {
		t.Fatalf("message = %q", fairway.ErrorMessage(err))
	}
	if after := e.auditSeq(t); after != before+2 {
		t.Fatalf("step-up refusals audited %d", after-before)
	}
	rv := e.review(t, withMFA("sana"), "R6-1", "security", fairway.VerdictApproved)
	if rv.MFA == nil || !rv.MFA.MFA || strings.Join(rv.MFA.AMR, ",") != "pwd,otp" {
		t.Fatalf("posture not recorded: %+v", rv.MFA)
	}
	// ops needs no MFA for this task.
	e.review(t, as("omar"), "R6-1", "ops", fairway.VerdictApproved)
	wantState(t, e.gate(t, "R6-1"), "review:security", fairway.ReqSatisfied)
}

func testR13PolicyGoverned(t *testing.T, e *env) {
	e.governed(t)
	old, _ := e.l.ActivePolicy(ctx)
	_, err := e.l.BootstrapPolicy(e.alice, "governance.yaml", demo.Policy)
	wantCode(t, err, fairway.ECONFLICT)
	// A broken proposal is refused with its place; the policy in force stays.
	bad := strings.Replace(string(demo.Policy), "owners: [governance]", "owners: [nobody]", 1)
	e.task(t, "GOV-POLICY-2")
	_, err = e.l.ProposePolicy(e.alice, "GOV-POLICY-2", "governance.yaml", []byte(bad))
	wantCode(t, err, fairway.EINVALID)
	if !strings.Contains(fairway.ErrorMessage(err), `governance.yaml:7:10: owners[0]: review domain "nobody" is not defined under review_domains`) {
		t.Fatalf("message = %q", fairway.ErrorMessage(err))
	}
	next := strings.Replace(string(demo.Policy), "max_days: 30", "max_days: 14", 1)
	prop, err := e.l.ProposePolicy(e.codex, "GOV-POLICY-2", "governance.yaml", []byte(next))
	if err != nil || prop.State != fairway.PolicyProposed {
		t.Fatalf("propose = %+v %v", prop, err)
	}
	d := e.gate(t, "GOV-POLICY-2")
	r := wantState(t, d, "review:governance", fairway.ReqUnsatisfied)
	if r.Because != "the task changes the governance policy" {
		t.Fatalf("because = %q", r.Because)
	}
	e.move(t, "GOV-POLICY-2", fairway.StatusInProgress)
	_, err = e.l.CloseTask(as("grace"), "GOV-POLICY-2")
	wantCode(t, err, fairway.EGATEFAILED)
	if cur, _ := e.l.ActivePolicy(ctx); cur.Digest != old.Digest {
		t.Fatal("the policy changed without a passing gate")
	}
	e.review(t, as("olivia"), "GOV-POLICY-2", "governance", fairway.VerdictApproved)
	e.review(t, as("sana"), "GOV-POLICY-2", "governance", fairway.VerdictApproved)
	d, err = e.l.CloseTask(as("grace"), "GOV-POLICY-2")
	if err != nil || !d.Pass || d.PolicyDigest != old.Digest {
		t.Fatalf("close = %+v %v", d, err)
	}
	cur, _ := e.l.ActivePolicy(ctx)
	if cur.Digest != prop.Digest || cur.Task != "GOV-POLICY-2" || cur.Base != old.Digest {
		t.Fatalf("policy in force = %+v", cur)
	}
	// A proposal made on a policy that has since been replaced cannot
	// close: it would silently undo the change in between.
	e.task(t, "GOV-POLICY-3")
	if _, err := e.l.ProposePolicy(e.alice, "GOV-POLICY-3", "governance.yaml", demo.Policy); err != nil {
		t.Fatal(err)
	}
	e.task(t, "GOV-POLICY-4")
	four := strings.Replace(next, "max_days: 14", "max_days: 7", 1)
	if _, err := e.l.ProposePolicy(e.alice, "GOV-POLICY-4", "governance.yaml", []byte(four)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"GOV-POLICY-3", "GOV-POLICY-4"} {
		e.review(t, as("olivia"), k, "governance", fairway.VerdictApproved)
		e.review(t, as("sana"), k, "governance", fairway.VerdictApproved)
		e.move(t, k, fairway.StatusInProgress)
	}
	if _, err := e.l.CloseTask(as("grace"), "GOV-POLICY-3"); err != nil {
		t.Fatal(err)
	}
	d, err = e.l.CloseTask(as("grace"), "GOV-POLICY-4")
	wantCode(t, err, fairway.EGATEFAILED)
	if r := req(d, "policy-base"); r.State != fairway.ReqUnsatisfied || !strings.HasPrefix(r.Detail, "the policy in force changed since this proposal") {
		t.Fatalf("policy-base = %+v", r)
	}
	events, _ := e.l.AuditLog(ctx, fairway.AuditFilter{Subject: prop.Digest})
	if len(events) != 1 || events[0].Action != "policy.activate" {
		t.Fatalf("activation audit = %+v", events)
	}
}

func testWaivers(t *testing.T, e *env) {
	e.governed(t)
	e.task(t, "OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001")
	e.task(t, "UAT-1", func(c *fairway.TaskCreate) { c.Labels = []string{"kind-uat"} })
	r := wantState(t, e.gate(t, "UAT-1"), "prerequisite:kind-compute-capacity", fairway.ReqUnsatisfied)
	if !strings.Contains(r.Remedy, "close OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001 (capacity restored, now open)") ||
		!strings.Contains(r.Remedy, "or a waiver approved by ops") {
		t.Fatalf("remedy = %q", r.Remedy)
	}
	_, err := e.l.RequestWaiver(as("priya"), fairway.WaiverRequest{Task: "UAT-1", Requirement: "prerequisite:kind-compute-capacity", Reason: "alternate profile"})
	wantMessage(t, err, fairway.EINVALID, "expires_at: is required: every waiver ends")
	_, err = e.l.RequestWaiver(as("priya"), fairway.WaiverRequest{Task: "UAT-1", Requirement: "review:ops", Reason: "x", ExpiresAt: e.clock.Now().Add(time.Hour)})
	wantMessage(t, err, fairway.EINVALID, "requirement: independent review cannot be waived; ask a member of ops")
	w, err := e.l.RequestWaiver(as("olivia"), fairway.WaiverRequest{Task: "UAT-1", Requirement: "prerequisite:kind-compute-capacity",
		Reason: "ops approved the alternate small profile", ExpiresAt: e.clock.Now().Add(2 * time.Hour)})
	if err != nil || w.Domain != "ops" {
		t.Fatalf("request = %+v %v", w, err)
	}
	wantState(t, e.gate(t, "UAT-1"), "prerequisite:kind-compute-capacity", fairway.ReqUnsatisfied)
	_, err = e.l.ApproveWaiver(as("olivia"), w.ID)
	wantMessage(t, err, fairway.EFORBIDDEN, "olivia requested waiver "+itoa(w.ID)+" and cannot also approve it")
	_, err = e.l.ApproveWaiver(as("sana"), w.ID)
	wantCode(t, err, fairway.EFORBIDDEN)
	_, err = e.l.ApproveWaiver(e.codex, w.ID)
	wantCode(t, err, fairway.EFORBIDDEN)
	if _, err := e.l.ApproveWaiver(as("omar"), w.ID); err != nil {
		t.Fatal(err)
	}
	r = wantState(t, e.gate(t, "UAT-1"), "prerequisite:kind-compute-capacity", fairway.ReqWaived)
	if r.Waiver == nil || r.Waiver.ApprovedBy != "omar" || !strings.HasPrefix(r.Detail, "waived by omar until ") {
		t.Fatalf("waived requirement = %+v", r)
	}
	// Expired waivers stop counting.
	e.clock.advance(3 * time.Hour)
	wantState(t, e.gate(t, "UAT-1"), "prerequisite:kind-compute-capacity", fairway.ReqUnsatisfied)
	// A lane waiver covers the lane's tasks.
	if _, err := e.l.CreateLane(e.alice, fairway.LaneCreate{Name: "kind-uat", KeyPrefix: "UAT"}); err != nil {
		t.Fatal(err)
	}
	lt := e.task(t, "", func(c *fairway.TaskCreate) { c.Lane = "kind-uat"; c.Labels = []string{"kind-uat"} })
	lw, err := e.l.RequestWaiver(as("priya"), fairway.WaiverRequest{Lane: "kind-uat", Requirement: "prerequisite:kind-compute-capacity",
		Reason: "non-mutating smoke only", ExpiresAt: e.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.l.ApproveWaiver(as("olivia"), lw.ID); err != nil {
		t.Fatal(err)
	}
	wantState(t, e.gate(t, lt.Key), "prerequisite:kind-compute-capacity", fairway.ReqWaived)
	wantState(t, e.gate(t, "UAT-1"), "prerequisite:kind-compute-capacity", fairway.ReqUnsatisfied)
	// The waiver's approver must be independent of the task too.
	if _, err := e.l.CreateTask(as("omar"), fairway.TaskCreate{Key: "UAT-OMAR", Title: "omar's UAT", Labels: []string{"kind-uat"}}); err != nil {
		t.Fatal(err)
	}
	ow, err := e.l.RequestWaiver(as("priya"), fairway.WaiverRequest{Task: "UAT-OMAR", Requirement: "prerequisite:kind-compute-capacity",
		Reason: "alternate profile", ExpiresAt: e.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.l.ApproveWaiver(as("omar"), ow.ID)
	wantMessage(t, err, fairway.EFORBIDDEN, "omar is not independent of UAT-OMAR (created the task) and cannot approve its waiver")
	list, _ := e.l.ListWaivers(ctx, "UAT-1", "")
	if len(list) != 1 || list[0].ID != w.ID {
		t.Fatalf("waivers of UAT-1 = %+v", list)
	}
}

func testPrerequisites(t *testing.T, e *env) {
	e.governed(t)
	e.task(t, "OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001")
	e.task(t, "UAT-2", func(c *fairway.TaskCreate) { c.Labels = []string{"dev-deploy"} })
	// An agent's alternate profile alone is approved by no one: evidence
	// on another task counts once a human of the prerequisite's domain
	// recorded or approved it.
	if _, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001", Kind: "alternate-profile"},
		fairway.EvidenceParts{Content: strings.NewReader("profile: whatever-fits\n")}); err != nil {
		t.Fatal(err)
	}
	wantState(t, e.gate(t, "UAT-2"), "prerequisite:kind-compute-capacity", fairway.ReqUnsatisfied)
	// An approved alternate profile, recorded as evidence on the capacity task.
	if _, err := e.l.AddEvidence(as("olivia"), fairway.EvidenceAdd{Task: "OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001", Kind: "alternate-profile"},
		fairway.EvidenceParts{Content: strings.NewReader("profile: compute-vm-small-alt\n")}); err != nil {
		t.Fatal(err)
	}
	r := wantState(t, e.gate(t, "UAT-2"), "prerequisite:kind-compute-capacity", fairway.ReqSatisfied)
	if !strings.HasPrefix(r.Detail, "satisfied by approved alternate profile: alternate-profile evidence EV-") {
		t.Fatalf("detail = %q", r.Detail)
	}
	// The MFA drill prerequisite wants drill evidence on its drill task.
	e.task(t, "MFA-GATE-1", func(c *fairway.TaskCreate) { c.Scope = fairway.Scope{Surfaces: []string{"mfa"}} })
	r = wantState(t, e.gate(t, "MFA-GATE-1"), "prerequisite:mfa-live-drill", fairway.ReqUnsatisfied)
	if !strings.HasPrefix(r.Remedy, "record drill evidence on OPS-MFA-LIVE-DRILL-001") {
		t.Fatalf("remedy = %q", r.Remedy)
	}
	e.task(t, "OPS-MFA-LIVE-DRILL-001")
	if _, err := e.l.AddEvidence(as("sergei"), fairway.EvidenceAdd{Task: "OPS-MFA-LIVE-DRILL-001", Kind: "context"}, fairway.EvidenceParts{Content: strings.NewReader("we did the drill, trust me\n")}); err != nil {
		t.Fatal(err)
	}
	wantState(t, e.gate(t, "MFA-GATE-1"), "prerequisite:mfa-live-drill", fairway.ReqUnsatisfied)
	if _, err := e.l.AddEvidence(as("sergei"), fairway.EvidenceAdd{Task: "OPS-MFA-LIVE-DRILL-001", Kind: "drill"}, fairway.EvidenceParts{Content: strings.NewReader("drill record\n")}); err != nil {
		t.Fatal(err)
	}
	wantState(t, e.gate(t, "MFA-GATE-1"), "prerequisite:mfa-live-drill", fairway.ReqSatisfied)
}

func testGovernanceBadInput(t *testing.T, e *env) {
	e.governed(t)
	e.task(t, "BAD-1")
	before := e.auditSeq(t)
	_, err := e.l.AddReview(as("olivia"), fairway.ReviewAdd{Task: "BAD-1", Domain: "finance", Verdict: fairway.VerdictApproved})
	wantCode(t, err, fairway.EINVALID)
	if !strings.HasPrefix(fairway.ErrorMessage(err), `domain: review domain "finance" is not defined by the policy in force; known domains: app-platform, governance, gpuaas, ops`) {
		t.Fatalf("message = %q", fairway.ErrorMessage(err))
	}
	_, err = e.l.AddReview(as("olivia"), fairway.ReviewAdd{Task: "BAD-1", Domain: "ops", Verdict: "lgtm"})
	wantCode(t, err, fairway.EINVALID)
	_, err = e.l.RequestWaiver(as("olivia"), fairway.WaiverRequest{Task: "BAD-1", Requirement: "prerequisite:none", Reason: "x", ExpiresAt: e.clock.Now().Add(time.Hour)})
	wantMessage(t, err, fairway.EINVALID, `requirement: prerequisite "none" is not in the policy in force`)
	_, err = e.l.RequestWaiver(as("olivia"), fairway.WaiverRequest{Task: "BAD-1", Requirement: "prerequisite:mfa-live-drill", Reason: "x", ExpiresAt: e.clock.Now().Add(90 * 24 * time.Hour)})
	wantMessage(t, err, fairway.EINVALID, "expires_at: waivers last at most 30 days under the policy in force")
	if after := e.auditSeq(t); after != before {
		t.Fatalf("bad input wrote %d audit events", after-before)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// testPolicyChoosesSecretAction flips the defaults through the policy: a
// secret in a log is refused and one in a UAT report is redacted.
func testPolicyChoosesSecretAction(t *testing.T, e *env) {
	src := strings.Replace(string(demo.Policy),
		"  redact: [log, command-result, context, smoke]\n  refuse: [uat-report, export, drill, rollback-plan, screenshot, scan-output]",
		"  redact: [uat-report]\n  refuse: [log]", 1)
	if src == string(demo.Policy) {
		t.Fatal("the demo policy's secrets section moved; update this test")
	}
	if _, err := e.l.BootstrapPolicy(e.alice, "governance.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	e.task(t, "SEC-POL-1")
	_, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "SEC-POL-1", Kind: "log"}, fairway.EvidenceParts{Content: strings.NewReader(awsLine)})
	wantCode(t, err, fairway.EFORBIDDEN)
	ev, err := e.l.AddEvidence(e.codex, fairway.EvidenceAdd{Task: "SEC-POL-1", Kind: "uat-report"}, fairway.EvidenceParts{Content: strings.NewReader(awsLine)})
	if err != nil || !ev.Scan.Redacted {
		t.Fatalf("uat-report under a redacting policy = %+v %v", ev, err)
	}
	if got := e.read(t, ev.ID, ""); strings.Contains(got, "wJalr") {
		t.Fatalf("stored %q", got)
	}
}
