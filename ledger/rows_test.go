package ledger_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"fairway"
	"fairway/blob"
	"fairway/ledger"
	"fairway/sqlite"
)

// A row the gate reads, edited in the database file behind the ledger's
// back, no longer matches the event that wrote it, and audit verify says
// which and where, even though the log itself is untouched (R8).
func TestVerifyAudit_RowsEditedBehindTheLedger(t *testing.T) {
	cases := []struct {
		name, sql, want string
	}{
		{"a task's review domain dropped", `UPDATE tasks SET review_domains = '' WHERE key = 'OPS-FIX-003'`, "task OPS-FIX-003 differs from what event"},
		{"a task closed", `UPDATE tasks SET status = 'done' WHERE key = 'OPS-FIX-002'`, "task OPS-FIX-002 differs from what event"},
		{"a review's verdict", `DROP TRIGGER reviews_no_update; UPDATE reviews SET verdict = 'approved'`, "review 3 of OPS-FIX-003 differs"},
		{"a review slipped in", `INSERT INTO reviews (task, domain, reviewer, reviewer_kind, verdict, snapshot, at) VALUES ('OPS-FIX-001','ops','omar','human','approved','x',1)`,
			"review 4 of OPS-FIX-001 is in the store but no audit event wrote it"},
		{"a waiver approved", `UPDATE waivers SET approved_by = 'omar', approved_at = 1`, "waiver 1 differs"},
		{"an evidence record's content", `DROP TRIGGER evidence_no_update; UPDATE evidence SET record = replace(record, '"kind":"log"', '"kind":"log","note":"edited"')`, "differs from what event"},
		{"evidence moved to another task", `DROP TRIGGER evidence_no_update; UPDATE evidence SET task = 'OPS-FIX-001', record = replace(record, '"task":"OPS-FIX-002"', '"task":"OPS-FIX-001"')`, "differs from what event"},
		{"an agent made human", `UPDATE actors SET kind = 'human' WHERE name = 'codex'`, "actor codex differs from what the audit log left"},
		{"a token slipped in", `INSERT INTO tokens (hash, actor, created_at) VALUES ('forged', 'omar', 1)`, "actor omar has a live token that no audit event issued"},
		{"a portal sign-in made to last", `UPDATE tokens SET expires_at = expires_at + 1000000000000000 WHERE from_link = 1 AND revoked_at = 0`, "actor alice has token"},
		{"a portal sign-in made never to end", `UPDATE tokens SET expires_at = 0 WHERE from_link = 1 AND revoked_at = 0`, "whose expiry differs from what its audit event issued"},
		// A token another human issued counts, for independence, as that
		// human's too (R2): erasing who issued it would launder it.
		{"a token's issuer rewritten", `UPDATE tokens SET issued_by = actor WHERE issued_by <> actor`, "whose issuer ("},
		{"a review's token issuer erased", `DROP TRIGGER reviews_no_update; UPDATE reviews SET token_issued_by = 'alice'`, "review 1 of"},
		{"a revoked token revived", `UPDATE tokens SET revoked_at = 0 WHERE from_link = 1`, "actor alice has a live token that no audit event issued"},
		{"the policy's source edited", `UPDATE policies SET source = replace(source, 'require_mfa: true', 'require_mfa: false')`, "the policy in force"},
		{"a scope drift erased", `DROP TRIGGER scope_records_no_update; UPDATE scope_records SET outside = '[]'`, "scope record 1 of OPS-FIX-001 differs from what event"},
		{"a scope acknowledgement slipped in", `INSERT INTO scope_records (task, kind, paths, by_actor, at) VALUES ('OPS-FIX-001','acknowledge','["infra/x.tf"]','omar',1)`,
			"scope record 2 of OPS-FIX-001 is in the store but no audit event wrote it"},
		{"a dependency dropped", `DELETE FROM dependencies WHERE blocked = 'OPS-FIX-002'`, "the dependencies of OPS-FIX-002 ([]) are not the ones the audit log left ([OPS-FIX-001])"},
		// Sessions and claims: the gate reads who held a session on a task
		// or claimed work on it (R2), and a session credential works while
		// its row says it is attached, in its lease, of its token (R10).
		{"a session's attaching token erased", `UPDATE sessions SET token_id = '' WHERE token_id <> ''`, "differs from what the audit log left (task, actor, generation, attaching token, credential expiry, state or lease)"},
		{"a detached session revived", `UPDATE sessions SET state = 'attached', ended_at = 0, reason = '' WHERE state = 'detached'`, "differs from what the audit log left"},
		{"a session's lease extended", `UPDATE sessions SET lease_until = lease_until + 1000000000000000 WHERE state = 'attached'`, "differs from what the audit log left"},
		{"a session's generation changed", `UPDATE sessions SET generation = 7 WHERE state = 'attached'`, "differs from what the audit log left"},
		{"a session given to another actor", `UPDATE sessions SET actor = 'omar', actor_kind = 'human' WHERE state = 'detached'`, "differs from what the audit log left"},
		{"a session deleted", `DELETE FROM sessions WHERE state = 'detached'`, "is not in the store"},
		{"a session's credential swapped", `UPDATE sessions SET token_hash = '0000' || token_hash WHERE state = 'attached'`, "no longer holds the credential its attach event"},
		{"a session slipped in", `INSERT INTO sessions (id, task, actor, actor_kind, provider, generation, lease_ttl, lease_until, state, attached_at, updated_at, token_hash) VALUES ('ses-forged','OPS-FIX-001','omar','human','shell',9,1,1,'detached',1,1,'forged')`,
			"session ses-forged is in the store but no audit event attached it"},
		{"a claim deleted", `DELETE FROM claims`, "claim 1 of OPS-FIX-006 was written by event"},
		{"a claim given to another actor", `UPDATE claims SET actor = 'omar', actor_kind = 'human'`, "claim 1 of OPS-FIX-006 differs from what event"},
		// A task's proof chain binds its approvals (R4): rolled back to
		// what an approval judged, it would make a stale approval count.
		{"a proof chain rolled back", `UPDATE tasks SET proof_count = 0, proof_chain = '' WHERE key = 'OPS-FIX-002'`,
			"the proof chain of OPS-FIX-002 (0 records) is not the one its evidence events leave (1 records)"},
		// Narrowings: approving one applies its edit once every losing
		// domain approved; an approval slipped in would skip a domain.
		{"a narrowing approval slipped in", `UPDATE narrowings SET approvals = '[{"domain":"ops","by":"omar","at":"2026-11-01T09:00:00Z"}]'`,
			"narrowing 1 of OPS-FIX-003 differs from what the audit log left"},
		{"a narrowing's edit rewritten", `UPDATE narrowings SET edit = replace(edit, '"ops"', '"ops","security"')`, "narrowing 1 of OPS-FIX-003 differs from what the audit log left"},
		{"a narrowing deleted", `DELETE FROM narrowings`, "narrowing 1 of OPS-FIX-003 was proposed by event"},
		// Deploy-runs: the gate reads how the newest finished run in an
		// environment ended (a policy rule's deploy_runs).
		{"a failed deploy-run turned succeeded", `UPDATE deploy_runs SET state = 'succeeded' WHERE state = 'failed'`,
			"deploy-run 1 of OPS-FIX-002 differs from what the audit log left"},
		{"a failed smoke stage turned passed", `UPDATE deploy_runs SET stages = replace(stages, '"status":"failed"', '"status":"passed"')`,
			"deploy-run 1 of OPS-FIX-002 differs from what the audit log left"},
		{"a decision not to roll back erased", `UPDATE deploy_runs SET no_rollback = 'null'`, "deploy-run 1 of OPS-FIX-002 differs from what the audit log left"},
		{"a failed deploy-run deleted", `DELETE FROM deploy_runs WHERE state = 'failed'`, "deploy-run 1 of OPS-FIX-002 was started by event"},
		{"a succeeded deploy-run slipped in", `INSERT INTO deploy_runs (task, environment, class, protected, source, stages, state, started_by, started_at, finished_at) ` +
			`SELECT task, environment, class, protected, source, replace(stages, '"status":"failed"', '"status":"passed"'), 'succeeded', started_by, started_at, finished_at FROM deploy_runs WHERE id = 1`,
			"deploy-run 2 of OPS-FIX-002 is in the store but no audit event started it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			store, err := sqlite.Open(ctx, filepath.Join(dir, "fairway.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			blobs, _ := blob.NewFileStore(filepath.Join(dir, "blobs"))
			l := ledger.New(store, blobs)
			l.Now = (&clock{t: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}).Now
			f := setUp(t, l, true)
			// The failed run ends: not rolled back, by a human's decision,
			// with a finding that becomes a follow-up task.
			must(l.MoveStage(as("alice"), fairway.StageMove{Run: f.failedRun, Stage: fairway.StageUAT, Status: fairway.StageSkipped, Note: "smoke failed"}))
			must(l.DecideNoRollback(as("alice"), f.failedRun, "the fix goes forward"))
			must(l.MoveStage(as("alice"), fairway.StageMove{Run: f.failedRun, Stage: fairway.StageRollback, Status: fairway.StageSkipped, Note: "not rolled back"}))
			must(l.MoveStage(as("alice"), fairway.StageMove{Run: f.failedRun, Stage: fairway.StageFollowUp, Status: fairway.StagePassed, Findings: []string{"smoke flakes"}}))
			must(l.AddReview(as("omar"), fairway.ReviewAdd{Task: "OPS-FIX-003", Domain: "ops", Verdict: fairway.VerdictChangesRequested, Items: []string{"more"}}))
			must(l.CheckScope(as("alice"), fairway.ScopeCheck{Task: "OPS-FIX-001", Paths: []string{"infra/x.tf"}}))
			// alice signs in to the portal twice and revokes the second.
			for i := range 2 {
				link := must(l.IssueLoginLink(as("alice"), ledger.LoginLinkTTL, 0))
				signedIn := must(l.RedeemLoginLink(ctx, link.Link))
				if i == 1 {
					must(l.RevokeToken(as("alice"), fairway.TokenID(ledger.HashToken(signedIn.Token))))
				}
			}
			// codex holds a session attached with its token, and left
			// another (detached) and a claim on a task it worked on.
			agent := must(l.RotateToken(as("alice"), "codex", 0)).Token
			must(l.AttachSession(signedInAs(t, l, agent), fairway.SessionAttach{Task: "OPS-FIX-003", Provider: "codex"}))
			done := must(l.AttachSession(as("codex"), fairway.SessionAttach{Task: "OPS-FIX-006", Provider: "shell"}))
			must(l.HeartbeatSession(as("codex"), done.Session.ID))
			must(l.DetachSession(as("codex"), done.Session.ID, "handed off"))
			must(l.AddClaim(as("codex"), fairway.ClaimAdd{Task: "OPS-FIX-006", Text: "tests pass"}))
			if v := must(l.VerifyAudit(ctx)); !v.OK {
				t.Fatalf("before: %+v", v)
			}
			store.Close()
			db, err := sql.Open("sqlite", filepath.Join(dir, "fairway.db"))
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range strings.Split(c.sql, "; ") {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			db.Close()
			store, err = sqlite.Open(ctx, filepath.Join(dir, "fairway.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			v := must(ledger.New(store, blobs).VerifyAudit(ctx))
			if v.OK || !strings.Contains(v.Problem, c.want) {
				t.Fatalf("after %s: %+v, want a problem naming %q", c.name, v, c.want)
			}
		})
	}
}

// Every way a task row changes leaves an event that states the row: after
// each, audit verify still finds the tables and the log in agreement.
func TestVerifyAudit_EveryTaskChangeIsWitnessed(t *testing.T) {
	l := demoLedger(t)
	ctx := context.Background()
	steps := []func() error{
		func() error {
			return ignore(l.CreateTask(as("olivia"), fairway.TaskCreate{Key: "W-1", Title: "witnessed", Lane: "closeout"}))
		},
		func() error {
			return ignore(l.UpdateTask(as("olivia"), "W-1", fairway.TaskUpdate{Title: ptr("renamed"), AddLabels: []string{"x"}}))
		},
		func() error { return ignore(l.TakeTask(as("codex-1"), "W-1")) },
		func() error {
			return ignore(l.TransitionTask(as("codex-1"), "W-1", fairway.Transition{Status: fairway.StatusBlocked, WaitReason: fairway.WaitCapacity}))
		},
		func() error {
			return ignore(l.TransitionTask(as("codex-1"), "W-1", fairway.Transition{Status: fairway.StatusInProgress}))
		},
		func() error { return ignore(l.CloseTask(as("olivia"), "DOCS-PORTAL-001")) },
		func() error { return ignore(l.CancelTask(as("olivia"), "W-1", "not needed")) },
		func() error {
			n := must(l.ProposeNarrowing(as("priya"), "OPS-RUNNER-INVENTORY-001", fairway.TaskUpdate{RemoveScope: fairway.Scope{Surfaces: []string{"ci-runners"}}}))
			return ignore(l.ApproveNarrowing(as("omar"), n.ID))
		},
	}
	for i, step := range steps {
		if err := step(); err != nil && fairway.ErrorCode(err) != fairway.EGATEFAILED {
			t.Fatalf("step %d: %v", i, err)
		}
		if v := must(l.VerifyAudit(ctx)); !v.OK {
			t.Fatalf("after step %d: %s (event %d)", i, v.Problem, v.FirstBadSeq)
		}
	}
	// And each such event states the row: a log written today has no
	// event whose task row cannot be checked.
	for _, e := range must(l.AuditLog(ctx, fairway.AuditFilter{Limit: 10000})) {
		if !strings.HasPrefix(e.Action, "task.") || strings.HasSuffix(e.Action, ".refused") || e.Action == "task.narrow.propose" || e.Action == "task.narrow.approve" {
			continue
		}
		var body struct {
			Task *fairway.Task `json:"task"`
			Key  string        `json:"key"`
		}
		if err := json.Unmarshal(e.Change, &body); err != nil || (body.Task == nil && (e.Action != "task.create" || body.Key == "")) {
			t.Errorf("event %d (%s %s) does not state the task it leaves: %s", e.Seq, e.Action, e.Subject, e.Change)
		}
	}
}

// Closing a task judges its rows; a review turned into an approval in
// the database file, behind the ledger's back, does not close it: the
// close compares the task's reviews and evidence with the events that
// wrote them and refuses, saying what differs (R3, R8). Audit verify is
// not needed first for the forged row to stay without effect.
func TestCloseTask_ARowChangedBehindTheLedgerClosesNothing(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	open := func() (*ledger.Ledger, func()) {
		l, closeStore := openLedgerIn(t, dir)
		l.Now = (&clock{t: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}).Now
		return l, closeStore
	}
	l, closeStore := open()
	setUp(t, l, true)
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-FIX-007", Title: "asked for changes", ReviewDomains: []string{"ops"}}))
	must(l.AddReview(as("omar"), fairway.ReviewAdd{Task: "OPS-FIX-007", Domain: "ops", Verdict: fairway.VerdictChangesRequested, Items: []string{"more tests"}}))
	closeStore()
	db, err := sql.Open("sqlite", filepath.Join(dir, "fairway.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER reviews_no_update`, `UPDATE reviews SET verdict = 'approved', items = '' WHERE task = 'OPS-FIX-007'`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	l, closeStore = open()
	defer closeStore()
	if d := must(l.ExplainGate(as("alice"), "OPS-FIX-007")); !d.Pass {
		t.Fatalf("the forged approval should fool the gate's rows for this test to mean anything: %+v", d)
	}
	_, err = l.CloseTask(as("alice"), "OPS-FIX-007")
	if fairway.ErrorCode(err) != fairway.ECONFLICT || !strings.Contains(err.Error(), "review") || !strings.Contains(err.Error(), "differs from what event") ||
		!strings.Contains(err.Error(), "fairway audit verify") {
		t.Fatalf("closing over a forged approval: %v, want a conflict naming the review", err)
	}
	if task := must(l.GetTask(ctx, "OPS-FIX-007")); task.Status == fairway.StatusDone {
		t.Fatal("the task closed")
	}
	// An honest close is untouched.
	must(l.CloseTask(as("alice"), "OPS-FIX-001"))
}

// openLedgerIn opens the ledger kept in dir (the embedded store and the
// file blob store) and returns it with what closes it: a test that edits
// the database file behind the ledger's back reopens it after.
func openLedgerIn(t *testing.T, dir string) (*ledger.Ledger, func()) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return ledger.New(store, blobs), func() { store.Close() }
}
