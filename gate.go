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

// Outcomes of the latest evidence of a kind.
const (
	OutcomeOK       = "ok"
	OutcomeFailing  = "failing"
	OutcomeUnjudged = "unjudged"
)

// EvidenceOutcome is what the newest current evidence of one kind on a
// task shows, required by the gate or not: a smoke that exited 3 is shown
// even where nothing asks for it.
type EvidenceOutcome struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Outcome is ok, failing, or unjudged when the gate cannot read what
	// the evidence shows (a screenshot, an export).
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
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
	// Latest is the newest evidence of each kind on the task, by kind.
	// Failing evidence here is a warning a closer must acknowledge.
	Latest []EvidenceOutcome `json:"latest"`
}

// Failing returns the IDs of the latest evidence that shows failure.
func (d *GateDecision) Failing() []string {
	var out []string
	for _, e := range d.Latest {
		if e.Outcome == OutcomeFailing {
			out = append(out, e.ID)
		}
	}
	return out
}
