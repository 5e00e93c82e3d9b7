package fairway

// TaskView is a task with everything around it, read from one consistent
// snapshot: what `task show`, the portal's task page and an agent's
// context all show.
type TaskView struct {
	Task       *Task        `json:"task"`
	BlockedBy  []*Task      `json:"blocked_by"`
	Blocks     []*Task      `json:"blocks"`
	Evidence   []*Evidence  `json:"evidence"`
	Claims     []*Claim     `json:"claims"`
	Reviews    []*Review    `json:"reviews"`
	Waivers    []*Waiver    `json:"waivers"`
	Narrowings []*Narrowing `json:"narrowings"`
	// Sessions are the task's provider sessions, newest last, each in the
	// state the clock says (a lease past its end reads expired).
	Sessions []*Session    `json:"sessions"`
	Gate     *GateDecision `json:"gate"`
}
