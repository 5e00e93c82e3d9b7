package fairway

import "context"

// Plan is what the planner offers: each waiting lane with what holds it,
// and the safe fallback work that can move meanwhile, most unblocking
// first. Safe work never works a mutating task or one touching a
// protected change class, whatever waits (R5): such a task appears only
// to have its review routed, which moves it toward its approval.
type Plan struct {
	Waiting []*LaneWait `json:"waiting"`
	Safe    []*SafeWork `json:"safe"`
	// PolicyDigest is the policy that decided what is safe.
	PolicyDigest string `json:"policy_digest"`
	// UnblocksBound is how far downstream each Unblocks count looks: a
	// count equal to it means at least that many.
	UnblocksBound int `json:"unblocks_bound"`
}

// LaneWait is a waiting lane and the tasks behind its wait.
type LaneWait struct {
	Lane      string   `json:"lane"`
	WaitingOn []string `json:"waiting_on"`
	// Held are the lane's blocked, in-review and dependency-waiting
	// tasks, each with what it waits on: the first of them, up to the
	// plan's limit; HeldTotal counts them all.
	Held      []*HeldTask `json:"held"`
	HeldTotal int         `json:"held_total"`
}

// HeldTask is one task a lane waits on, and why.
type HeldTask struct {
	Key    string `json:"key"`
	Title  string `json:"title"`
	Status string `json:"status"`
	// WaitsOn is the wait reason (reviewer for a task in review,
	// dependency for one with unfinished blockers).
	WaitsOn string `json:"waits_on"`
	// Blockers are the unfinished tasks it depends on.
	Blockers []string `json:"blockers,omitempty"`
}

// Kinds of safe work.
const (
	// SafeTask is a ready task that is not mutating and touches no
	// protected change class.
	SafeTask = "task"
	// SafeDocs is docs, runbook or portal work, or work the policy's
	// fallback labels name.
	SafeDocs = "docs"
	// SafeMonitor is a monitor task whose watched run has ended: its
	// terminal evidence is recorded and it waits to be settled.
	SafeMonitor = "monitor"
	// SafeFinding is a deploy-run with a failed check and no follow-up
	// task yet.
	SafeFinding = "finding"
	// SafeReview is a task in review with a required domain nobody has
	// reviewed yet: routing it to a reviewer changes no control.
	SafeReview = "review"
	// SafeSuite is a non-production deploy-run whose smoke or UAT suite
	// is due.
	SafeSuite = "suite"
)

// SafeWork is one piece of work safe to do while lanes wait.
type SafeWork struct {
	Kind string `json:"kind"`
	Task *Task  `json:"task"`
	// Run is the deploy-run of finding and suite work.
	Run int64 `json:"run,omitempty"`
	// Why says why it is safe; Action what to do.
	Why    string `json:"why"`
	Action string `json:"action"`
	// Unblocks counts the unfinished tasks downstream of it, among the
	// nearest Plan.UnblocksBound.
	Unblocks int `json:"unblocks"`
}

// PlanFilter narrows the plan to one waiting lane; safe work is offered
// from every lane.
type PlanFilter struct {
	Lane  string `json:"lane,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// PlanService plans safe fallback work while lanes wait.
type PlanService interface {
	Plan(ctx context.Context, f PlanFilter) (*Plan, error)
}
