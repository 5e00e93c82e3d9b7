package ledger_test

import (
	"context"
	"strings"
	"testing"

	"fairway"
)

// TestEvidence_CIConclusionComesFromTheCISystem: how a CI run ended is
// the CI system's word, delivered by its service actor (the webhook) or
// recorded by a human. An agent writing "success" by hand is refused and
// audited, so it neither satisfies a monitor's gate nor passes a
// deploy-run's ci stage; a run that did not succeed never passes a
// stage, whoever recorded it.
func TestEvidence_CIConclusionComesFromTheCISystem(t *testing.T) {
	l := deployLedger(t, "")
	must(l.CreateActor(as("alice"), fairway.ActorCreate{Name: "ci", Kind: fairway.KindService}))
	must(l.CreateTask(as("alice"), fairway.TaskCreate{Key: "OPS-CI-MONITOR-001", Title: "watch main CI", Lane: "closeout", Labels: []string{"monitor"}}))
	record := func(who, task, conclusion string) (*fairway.Evidence, error) {
		return l.AddEvidence(as(who), fairway.EvidenceAdd{Task: task, Kind: fairway.EvidenceCITerminal, Filename: "ci-run.json", MediaType: "application/json"},
			fairway.EvidenceParts{Content: strings.NewReader(`{"provider":"github","run":"42","conclusion":"` + conclusion + `"}` + "\n")})
	}
	ciTerminal := func(task string) fairway.Requirement {
		t.Helper()
		d := must(l.ExplainGate(context.Background(), task))
		for _, r := range d.Requirements {
			if r.ID == "evidence:ci-terminal" {
				return r
			}
		}
		t.Fatalf("gate of %s has no evidence:ci-terminal: %+v", task, d.Requirements)
		return fairway.Requirement{}
	}

	for _, task := range []string{"OPS-CI-MONITOR-001", "OPS-DEPLOY-001"} {
		before := auditLen(t, l)
		_, err := record("codex", task, "success")
		if fairway.ErrorCode(err) != fairway.EFORBIDDEN {
			t.Fatalf("agent's hand-written CI conclusion on %s: %v, want %s", task, err, fairway.EFORBIDDEN)
		}
		for _, want := range []string{"codex is an agent", "/api/v1/webhooks/", "fairway monitor record"} {
			if !strings.Contains(fairway.ErrorMessage(err), want) {
				t.Errorf("refusal %q does not say %q", fairway.ErrorMessage(err), want)
			}
		}
		if auditLen(t, l) != before+1 {
			t.Fatalf("the refusal wrote %d audit events, want 1", auditLen(t, l)-before)
		}
		if list := must(l.ListEvidence(context.Background(), fairway.EvidenceFilter{Task: task})); len(list) != 0 {
			t.Fatalf("a refused record was kept: %+v", list)
		}
	}
	if r := ciTerminal("OPS-CI-MONITOR-001"); r.State != fairway.ReqUnsatisfied {
		t.Fatalf("monitor gate after the agent's try: %+v", r)
	}

	// The CI system's service actor, and a human, record it.
	must(record("ci", "OPS-CI-MONITOR-001", "success"))
	if r := ciTerminal("OPS-CI-MONITOR-001"); r.State != fairway.ReqSatisfied {
		t.Fatalf("monitor gate with the CI system's record: %+v", r)
	}
	failed := must(record("ci", "OPS-DEPLOY-001", "failure"))
	passed := must(record("alice", "OPS-DEPLOY-001", "success"))

	run := start(t, l, "dev")
	if _, err := move(l, "codex", run.ID, fairway.StageCI, fairway.StagePassed, failed.ID); fairway.ErrorCode(err) != fairway.EINVALID ||
		!strings.Contains(err.Error(), "the watched run concluded failure") {
		t.Fatalf("ci stage passed on a failed run's record: %v", err)
	}
	if _, err := move(l, "codex", run.ID, fairway.StageCI, fairway.StagePassed, passed.ID); err != nil {
		t.Fatalf("ci stage on a human's record of a run that succeeded: %v", err)
	}
}
