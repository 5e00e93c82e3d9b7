package ledger_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fairway"
)

const protectedPolicy = `protected_change_classes:
  edge-dns:
    approvals: [ops]
    rollback_evidence: rollback-plan
prerequisites:
  drill-first:
    description: a drill that passed, before edge work closes
    when: "'edge-dns' in task.change_classes"
    evidence: {kind: drill}
`

// blobPath is where the file store keeps a digest's bytes.
func (p *proofLedger) blobPath(digest string) string {
	return filepath.Join(p.blobDir, "sha256", digest[7:9], digest[7:])
}

// TestGate_BlobsCheckedBeforeTheTransaction: evidence whose bytes are
// gone or changed does not count, the bytes are looked at with the
// caller's context and never inside a transaction, and starting
// protected work needs its rollback plan intact (R5, R9).
func TestGate_BlobsCheckedBeforeTheTransaction(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		state  string
		detail string // ID stands for the newer plan, OLD for the older
		// looks is how many blobs are looked at: down to the newest
		// intact plan, which decides.
		looks int32
	}{
		{name: "intact", damage: func(*testing.T, string) {}, state: fairway.ReqSatisfied, looks: 1,
			detail: "ID recorded by codex at WHEN: the gate cannot judge what it shows, so it counts by its kind"},
		{name: "newer plan missing, older decides", damage: func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, state: fairway.ReqSatisfied, looks: 2,
			detail: "OLD recorded by codex at 2026-11-01T09:00:06Z: the gate cannot judge what it shows, so it counts by its kind"},
		{name: "newer plan cut short", damage: func(t *testing.T, path string) {
			os.Chmod(path, 0o644)
			if err := os.WriteFile(path, []byte("Resto"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, state: fairway.ReqSatisfied, looks: 2,
			detail: "OLD recorded by codex at 2026-11-01T09:00:06Z: the gate cannot judge what it shows, so it counts by its kind"},
		{name: "both plans missing", damage: func(t *testing.T, path string) {
			if err := os.RemoveAll(filepath.Join(path, "..", "..")); err != nil {
				t.Fatal(err)
			}
		}, state: fairway.ReqUnsatisfied, looks: 2,
			detail: "no rollback-plan evidence on the task; ID is no longer intact in the blob store; OLD is no longer intact in the blob store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProofLedger(t, protectedPolicy)
			if _, err := p.l.CreateTask(p.alice, fairway.TaskCreate{Key: "EDGE-1", Title: "Move the tunnel", Mutating: true,
				Scope: fairway.Scope{ChangeClasses: []string{"edge-dns"}}}); err != nil {
				t.Fatal(err)
			}
			old := p.add(t, "EDGE-1", fairway.EvidenceAdd{Kind: "rollback-plan", Filename: "rollback.md"}, "Restore v41.\n")
			plan := p.add(t, "EDGE-1", fairway.EvidenceAdd{Kind: "rollback-plan", Filename: "rollback.md"}, "Restore tunnel config v41.\n")
			tc.damage(t, p.blobPath(plan.Digest))
			caller := context.WithValue(context.Background(), callerMark{}, true)
			d, err := p.l.ExplainGate(caller, "EDGE-1")
			if err != nil {
				t.Fatal(err)
			}
			if got := p.blobs.fromCaller.Load(); got != tc.looks {
				t.Fatalf("%d blob looks with the caller's context, want %d", got, tc.looks)
			}
			var r fairway.Requirement
			for _, x := range d.Requirements {
				if x.ID == "evidence:rollback-plan" {
					r = x
				}
			}
			want := strings.ReplaceAll(replaceIDs(tc.detail, plan.ID, old.ID), "WHEN", plan.RecordedAt.Format(time.RFC3339))
			if r.State != tc.state || r.Detail != want {
				t.Fatalf("rollback plan: %s %q, want %s %q", r.State, r.Detail, tc.state, want)
			}
		})
	}
}

func replaceIDs(s, id, old string) string {
	return strings.NewReplacer("OLD", old, "ID", id).Replace(s)
}

// TestGate_StartingProtectedWorkNeedsItsPlanIntact: a mutating task of a
// protected class starts only with its rollback plan's bytes intact,
// checked before the transaction (R5).
func TestGate_StartingProtectedWorkNeedsItsPlanIntact(t *testing.T) {
	for _, intact := range []bool{true, false} {
		p := newProofLedger(t, protectedPolicy)
		if _, err := p.l.CreateTask(p.alice, fairway.TaskCreate{Key: "EDGE-2", Title: "Move the tunnel", Mutating: true,
			Scope: fairway.Scope{ChangeClasses: []string{"edge-dns"}}}); err != nil {
			t.Fatal(err)
		}
		plan := p.add(t, "EDGE-2", fairway.EvidenceAdd{Kind: "rollback-plan", Filename: "rollback.md"}, "Restore tunnel config v41.\n")
		olivia := fairway.NewContextWithActor(context.Background(), &fairway.Actor{Name: "olivia"})
		if _, err := p.l.AddReview(olivia, fairway.ReviewAdd{Task: "EDGE-2", Domain: "ops", Verdict: fairway.VerdictApproved}); err != nil {
			t.Fatal(err)
		}
		if !intact {
			os.Remove(p.blobPath(plan.Digest))
		}
		_, err := p.l.TransitionTask(p.alice, "EDGE-2", fairway.Transition{Status: fairway.StatusInProgress})
		switch {
		case intact && err != nil:
			t.Fatalf("start with the plan intact: %v", err)
		case !intact && fairway.ErrorMessage(err) != "EDGE-2 is a mutating change of a protected class; before it starts it needs: "+
			"evidence:rollback-plan (rollback criteria for protected change class edge-dns) (see `fairway gate explain EDGE-2`)":
			t.Fatalf("start with the plan gone: %v", err)
		}
	}
}

// TestGate_PrerequisiteEvidenceMustShowSuccess: a failed drill does not
// meet a prerequisite; the gate says which record failed and how to mend
// it.
func TestGate_PrerequisiteEvidenceMustShowSuccess(t *testing.T) {
	p := newProofLedger(t, protectedPolicy)
	if _, err := p.l.CreateTask(p.alice, fairway.TaskCreate{Key: "EDGE-3", Title: "Move the tunnel",
		Scope: fairway.Scope{ChangeClasses: []string{"edge-dns"}}}); err != nil {
		t.Fatal(err)
	}
	drill := p.add(t, "EDGE-3", fairway.EvidenceAdd{Kind: "drill", Command: ran(1, "./drill.sh")}, "drill failed\n")
	r := p.requirement(t, "EDGE-3", "prerequisite:drill-first")
	want := "drill evidence that shows success on EDGE-3 (" + drill.ID + " exited 1: run it again until it passes: `fairway run --task EDGE-3 --kind drill -- ./drill.sh`)"
	if r.State != fairway.ReqUnsatisfied || r.Remedy != want {
		t.Fatalf("prerequisite: %s %q\nwant remedy %q", r.State, r.Remedy, want)
	}
	passed := p.add(t, "EDGE-3", fairway.EvidenceAdd{Kind: "drill", Command: ran(0, "./drill.sh")}, "drill passed\n")
	if r := p.requirement(t, "EDGE-3", "prerequisite:drill-first"); r.State != fairway.ReqSatisfied || r.Detail != "satisfied by drill evidence "+passed.ID+" on EDGE-3" {
		t.Fatalf("prerequisite after a passing drill: %s %q", r.State, r.Detail)
	}
}
