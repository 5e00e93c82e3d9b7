package fairway

import "context"

// Plan is what the planner offers: each waiting lane with what holds it,
// and the safe fallback work that can move meanwhile, most unblocking
// first. Safe work never includes a mutating task or one touching a
// protected change class, whatever waits (R5).
type Plan struct {
	Waiting []*LaneWait `json:"waiting"`
	Safe    []*SafeWork `json:"safe"`
	// PolicyDigest is the policy that decided what is safe.
	PolicyDigest string `json:"policy_digest"`
}

// LaneWait is a waiting lane and the tasks behind its wait.
type LaneWait struct {
	Lane      string   `json:"lane"`
	WaitingOn []string `json:"waiting_on"`
	// Held are the lane's blocked, in-review and dependency-waiting
	// tasks, each with what it waits on.
	Held []*HeldTask `json:"held"`
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

// SafeWork is one task safe to do while lanes wait.
type SafeWork struct {
	Task *Task `json:"task"`
	// Why says why it is safe.
	Why string `json:"why"`
	// Unblocks counts the unfinished tasks downstream of it.
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
