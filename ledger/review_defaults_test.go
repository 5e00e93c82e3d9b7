package ledger_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"fairway"
)

// TestCreateTask_NamedDomainsOnlyAddToThePolicys: the review domains an
// agent names when creating a task
// may only add to the reviews the policy asks of it, never replace its
// default reviewer; a human naming domains keeps the power to choose
// them (R1: only humans change what a gate requires).
func TestCreateTask_NamedDomainsOnlyAddToThePolicys(t *testing.T) {
	l := MustOpenLedger(t)
	setUp(t, l, true)
	cases := []struct {
		name    string
		ctx     context.Context
		c       fairway.TaskCreate
		reviews []string
	}{
		{"agent, lane default kept", as("codex"), fairway.TaskCreate{Key: "OPS-FIX-301", Lane: "closeout", ReviewDomains: []string{"gpuaas"}}, []string{"review:gpuaas", "review:platform"}},
		{"agent names the default itself", as("codex"), fairway.TaskCreate{Key: "OPS-FIX-302", Lane: "closeout", ReviewDomains: []string{"platform"}}, []string{"review:platform"}},
		{"agent, policy default kept", as("codex"), fairway.TaskCreate{Key: "NOLANE-303", ReviewDomains: []string{"gpuaas"}}, []string{"review:gpuaas", "review:ops"}},
		{"agent names nothing", as("codex"), fairway.TaskCreate{Key: "NOLANE-304"}, []string{"review:ops"}},
		{"human chooses", as("alice"), fairway.TaskCreate{Key: "NOLANE-306", ReviewDomains: []string{"gpuaas"}}, []string{"review:gpuaas"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.c.Title = "task " + c.c.Key
			task, err := l.CreateTask(c.ctx, c.c)
			if err != nil {
				t.Fatal(err)
			}
			d := must(l.ExplainGate(context.Background(), task.Key))
			var reviews []string
			for _, r := range d.Requirements {
				if r.Kind == "review" {
					reviews = append(reviews, r.ID)
				}
			}
			slices.Sort(reviews)
			if strings.Join(reviews, " ") != strings.Join(c.reviews, " ") {
				t.Fatalf("%s asks reviews %v, want %v (domains %v)", task.Key, reviews, c.reviews, task.ReviewDomains)
			}
		})
	}
}

// TestCreateTask_NamedDomainsNeverDropARequirement: when naming a domain
// would drop a requirement of another kind (a rule that applies only
// while the task names none), an agent's create is refused, naming it;
// a human's goes through.
func TestCreateTask_NamedDomainsNeverDropARequirement(t *testing.T) {
	p := newProofLedger(t, `  - name: drill-unless-ops-reviews
    when: "!('ops' in task.review_domains)"
    evidence: [drill]
`)
	c := fairway.TaskCreate{Key: "OPS-1", Title: "tune the runners", ReviewDomains: []string{"ops"}}
	_, err := p.l.CreateTask(p.codex, c)
	if fairway.ErrorCode(err) != fairway.EFORBIDDEN || !strings.Contains(fairway.ErrorMessage(err), "evidence:drill (rule drill-unless-ops-reviews)") {
		t.Fatalf("agent's create dropping a requirement: %v", err)
	}
	if _, err := p.l.GetTask(context.Background(), "OPS-1"); fairway.ErrorCode(err) != fairway.ENOTFOUND {
		t.Fatalf("the refused create left a task: %v", err)
	}
	if _, err := p.l.CreateTask(p.alice, c); err != nil {
		t.Fatalf("human's create: %v", err)
	}
}
