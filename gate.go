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
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	State  string `json:"state"`
	Detail string `json:"detail,omitempty"`
	// Remedy says what would satisfy an unsatisfied requirement and who can
	// do it.
	Remedy string `json:"remedy,omitempty"`
}

// GateDecision is the outcome of evaluating a task's gate.
type GateDecision struct {
	Task         string        `json:"task"`
	Pass         bool          `json:"pass"`
	Requirements []Requirement `json:"requirements"`
	// SnapshotDigest is the digest of everything the decision judged.
	SnapshotDigest string    `json:"snapshot_digest"`
	DecidedAt      time.Time `json:"decided_at"`
}
