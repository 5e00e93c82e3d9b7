package fairway

import "time"

// Requirement states in a gate decision.
const (
	ReqSatisfied     = "SATISFIED"
	ReqUnsatisfied   = "UNSATISFIED"
	ReqWaived        = "WAIVED"
	ReqNotApplicable = "NOT_APPLICABLE"
)

// Requirement is one thing a gate checks, with its state and, when it is
// unsatisfied, what would satisfy it.
type Requirement struct {
	// ID names the requirement; waivers refer to it.
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	State string `json:"state"`
	// Because says why the requirement applies (the policy's reasons).
	Because string `json:"because,omitempty"`
	Detail  string `json:"detail,omitempty"`
	// Remedy says what would satisfy an unsatisfied requirement and who can
	// do it.
	Remedy string `json:"remedy,omitempty"`
	// Protected marks controls of a protected change class, needed before
	// any mutating step.
	Protected bool `json:"protected,omitempty"`
	// Waiver is the approved waiver in force for this requirement, shown
	// even when the requirement is also met otherwise.
	Waiver *Waiver `json:"waiver,omitempty"`
}

// GateDecision is the outcome of evaluating a task's gate.
type GateDecision struct {
	Task         string        `json:"task"`
	Pass         bool          `json:"pass"`
	Requirements []Requirement `json:"requirements"`
	// SnapshotDigest is the digest of everything the decision judged.
	SnapshotDigest string `json:"snapshot_digest"`
	// PolicyDigest is the digest of the governance policy applied; empty
	// when none was in force.
	PolicyDigest string    `json:"policy_digest,omitempty"`
	DecidedAt    time.Time `json:"decided_at"`
}
