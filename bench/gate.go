package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"fairway"
	"fairway/blob"
	"fairway/demo"
	"fairway/ledger"
	"fairway/sqlite"
)

// GateFixture is a ledger holding one task with many evidence items,
// reviews and prerequisites, for timing gate evaluation.
type GateFixture struct {
	Ledger *ledger.Ledger
	Store  *sqlite.Store
	Task   string
	as     context.Context
}

// NewGateFixture builds, in dir, a task with evidence items, reviews and
// prerequisites (each satisfied by one of its evidence kinds).
func NewGateFixture(ctx context.Context, dir string, evidence, reviews, prerequisites int) (*GateFixture, error) {
	s, err := sqlite.Open(ctx, filepath.Join(dir, "fairway.db"), sqlite.Options{})
	if err != nil {
		return nil, err
	}
	blobs, err := blob.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		return nil, err
	}
	l := ledger.New(s, blobs)
	fx := &GateFixture{Ledger: l, Store: s, Task: "GATE-BENCH-001"}
	admin, err := l.CreateActor(ctx, fairway.ActorCreate{Name: "alice", Kind: fairway.KindHuman})
	if err != nil {
		return nil, err
	}
	fx.as = fairway.NewContextWithActor(ctx, admin.Actor)
	// The demo policy plus prerequisites that all apply to the task, and a
	// wide platform domain whose members are the reviewers.
	var extra strings.Builder
	members := []string{}
	for i := range reviews {
		name := fmt.Sprintf("reviewer-%02d", i)
		members = append(members, name)
		if _, err := l.CreateActor(fx.as, fairway.ActorCreate{Name: name, Kind: fairway.KindHuman}); err != nil {
			return nil, err
		}
	}
	src := strings.Replace(string(demo.Policy), "  platform: [priya, paul]", "  platform: ["+strings.Join(members, ", ")+"]", 1)
	for i := range prerequisites {
		fmt.Fprintf(&extra, "  bench-%02d:\n    description: bench prerequisite %d\n    when: \"'bench' in task.labels\"\n    evidence: {kind: bench-%02d}\n", i, i, i)
	}
	src = strings.Replace(src, "prerequisites:\n", "prerequisites:\n"+extra.String(), 1)
	if _, err := l.BootstrapPolicy(fx.as, "governance.yaml", []byte(src)); err != nil {
		return nil, err
	}
	if _, err := l.CreateTask(fx.as, fairway.TaskCreate{Key: fx.Task, Title: "gate bench", Labels: []string{"bench"}, ReviewDomains: []string{"platform"}}); err != nil {
		return nil, err
	}
	for i := range evidence {
		kind := "log"
		if i < prerequisites {
			kind = fmt.Sprintf("bench-%02d", i)
		}
		if _, err := l.AddEvidence(fx.as, fairway.EvidenceAdd{Task: fx.Task, Kind: kind}, fairway.EvidenceParts{Content: strings.NewReader(fmt.Sprintf("evidence %d\n", i))}); err != nil {
			return nil, err
		}
	}
	for i := range reviews {
		who := fairway.NewContextWithActor(ctx, &fairway.Actor{Name: members[i]})
		if _, err := l.AddReview(who, fairway.ReviewAdd{Task: fx.Task, Domain: "platform", Verdict: fairway.VerdictApproved}); err != nil {
			return nil, err
		}
	}
	return fx, nil
}

// Explain evaluates the task's gate once.
func (fx *GateFixture) Explain(ctx context.Context) (*fairway.GateDecision, error) {
	return fx.Ledger.ExplainGate(ctx, fx.Task)
}

// Write makes one durable write (a claim and its audit event): the
// baseline a gate evaluation is compared with.
func (fx *GateFixture) Write(ctx context.Context) error {
	_, err := fx.Ledger.AddClaim(fx.as, fairway.ClaimAdd{Task: fx.Task, Text: "bench"})
	return err
}
