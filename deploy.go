package fairway

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Deploy-run stages, in the order a run moves through them. Rollback is
// run only when something failed; follow-up ends the run.
const (
	StageCI       = "ci"
	StageDeploy   = "deploy"
	StageSmoke    = "smoke"
	StageUAT      = "uat"
	StageRollback = "rollback"
	StageFollowUp = "follow-up"
)

// DeployStages lists every stage of a run in order.
var DeployStages = []string{StageCI, StageDeploy, StageSmoke, StageUAT, StageRollback, StageFollowUp}

// MainStages are the stages a run must pass to finish well, in order.
var MainStages = []string{StageCI, StageDeploy, StageSmoke, StageUAT}

// Stage statuses.
const (
	StagePending = "pending"
	StageRunning = "running"
	StagePassed  = "passed"
	StageFailed  = "failed"
	StageSkipped = "skipped"
)

// StageStatuses lists the statuses a stage can be moved to.
var StageStatuses = []string{StageRunning, StagePassed, StageFailed, StageSkipped}

// Deploy-run states.
const (
	DeployRunning = "running"
	// DeploySucceeded: ci, deploy, smoke and UAT passed and nothing was
	// rolled back. Only such a run satisfies a deploy-run requirement.
	DeploySucceeded = "succeeded"
	DeployFailed    = "failed"
)

// IsTerminalStage reports whether a stage status is final.
func IsTerminalStage(status string) bool {
	return status == StagePassed || status == StageFailed || status == StageSkipped
}

// DeployRun is one attempt to deploy a task's change to an environment:
// its source commit, artifact digests, and stages, each with its
// evidence and who moved it.
type DeployRun struct {
	ID          int64  `json:"id"`
	Task        string `json:"task"`
	Environment string `json:"environment"`
	// Class and Protected are copied from the policy when the run starts.
	Class     string         `json:"class"`
	Protected bool           `json:"protected,omitempty"`
	Commit    string         `json:"commit"`
	Artifacts []string       `json:"artifacts,omitempty"`
	Stages    []*DeployStage `json:"stages"`
	State     string         `json:"state"`
	// NoRollback is a human's recorded decision not to roll back after a
	// failed smoke or UAT stage.
	NoRollback *Decision `json:"no_rollback,omitempty"`
	// FollowUps are the tasks made from the run's findings.
	FollowUps  []string  `json:"follow_ups,omitempty"`
	StartedBy  string    `json:"started_by"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Stage returns the run's stage of that name, or nil.
func (r *DeployRun) Stage(name string) *DeployStage {
	for _, s := range r.Stages {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// DeployStage is one stage of a run and its last move.
type DeployStage struct {
	Name     string   `json:"name"`
	Status   string   `json:"status"`
	Evidence []string `json:"evidence,omitempty"`
	Note     string   `json:"note,omitempty"`
	// By, ByKind and At say who moved the stage last, and when.
	By     string    `json:"by,omitempty"`
	ByKind string    `json:"by_kind,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

// Decision is a human's recorded decision, with why.
type Decision struct {
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// DeployStart is the input to open a deploy-run.
type DeployStart struct {
	Task        string   `json:"task"`
	Environment string   `json:"environment"`
	Commit      string   `json:"commit"`
	Artifacts   []string `json:"artifacts,omitempty"`
}

// Validate checks the input fields that need no store.
func (d *DeployStart) Validate() error {
	if err := ValidateKey("task", d.Task); err != nil {
		return err
	}
	if d.Environment == "" {
		return FieldError("environment", "is required: name an environment the policy declares")
	}
	if err := CheckLine("environment", d.Environment, 100); err != nil {
		return err
	}
	if !commitRE().MatchString(d.Commit) {
		return FieldError("commit", "%q is not a source commit: give the full or abbreviated hex SHA (7 to 64 hex digits)", clip(d.Commit))
	}
	for _, a := range d.Artifacts {
		if err := ValidateDigest("artifacts", a); err != nil {
			return err
		}
	}
	return nil
}

// commitRE matches a git commit hash, abbreviated or whole.
var commitRE = lazyRegexp(`^[0-9a-f]{7,64}$`)

// StageMove is the input to move one stage of a run.
type StageMove struct {
	Run      int64    `json:"run"`
	Stage    string   `json:"stage"`
	Status   string   `json:"status"`
	Evidence []string `json:"evidence,omitempty"`
	Note     string   `json:"note,omitempty"`
	// Findings, on the follow-up stage, each become a follow-up task
	// linked to the run.
	Findings []string `json:"findings,omitempty"`
}

// Validate checks the input fields that need no store.
func (m *StageMove) Validate() error {
	if m.Run <= 0 {
		return FieldError("run", "is required: the number of a deploy-run")
	}
	if !slices.Contains(DeployStages, m.Stage) {
		return FieldError("stage", "%q is not a stage: use one of %s", clip(m.Stage), strings.Join(DeployStages, ", "))
	}
	if !slices.Contains(StageStatuses, m.Status) {
		return FieldError("status", "%q is not a stage status: use one of %s", clip(m.Status), strings.Join(StageStatuses, ", "))
	}
	for _, e := range m.Evidence {
		if err := CheckLine("evidence", e, 100); err != nil {
			return err
		}
		if strings.TrimSpace(e) == "" {
			return FieldError("evidence", "an evidence id is empty")
		}
	}
	if m.Status == StageSkipped && strings.TrimSpace(m.Note) == "" {
		return FieldError("note", "is required to skip a stage: say why it is skipped")
	}
	if err := CheckText("note", m.Note, 4000); err != nil {
		return err
	}
	if len(m.Findings) > 0 && m.Stage != StageFollowUp {
		return FieldError("findings", "are recorded on the follow-up stage only")
	}
	for _, f := range m.Findings {
		if strings.TrimSpace(f) == "" {
			return FieldError("findings", "a finding is empty: say what was found")
		}
		if err := CheckLine("findings", f, 200); err != nil {
			return err
		}
	}
	return nil
}

// DeployFilter selects deploy-runs to list.
type DeployFilter struct {
	Task        string `json:"task,omitempty"`
	Environment string `json:"environment,omitempty"`
}

// DeployService opens deploy-runs and moves their stages.
type DeployService interface {
	// StartDeploy opens a run of a task in an environment the policy
	// declares, every stage pending.
	StartDeploy(ctx context.Context, in DeployStart) (*DeployRun, error)
	// MoveStage moves one stage, under the rules of the run's
	// environment; moving the follow-up stage to passed or skipped
	// finishes the run.
	MoveStage(ctx context.Context, in StageMove) (*DeployRun, error)
	// DecideNoRollback records a human's decision not to roll back a run
	// whose smoke or UAT failed, so that it can finish.
	DecideNoRollback(ctx context.Context, run int64, reason string) (*DeployRun, error)
	GetDeployRun(ctx context.Context, id int64) (*DeployRun, error)
	ListDeployRuns(ctx context.Context, f DeployFilter) ([]*DeployRun, error)
	// EnvironmentStatus says whether an environment takes mutating work:
	// each of its prerequisites the policy names that is unmet, for the
	// task when one is given (its waivers count), is a blocker.
	EnvironmentStatus(ctx context.Context, name, task string) (*EnvironmentState, error)
}

// EnvironmentState is an environment the policy declares and what stops
// mutating work there.
type EnvironmentState struct {
	Name        string `json:"name"`
	Class       string `json:"class"`
	Protected   bool   `json:"protected,omitempty"`
	Description string `json:"description,omitempty"`
	// Task is the task whose waivers were counted, if any.
	Task     string     `json:"task,omitempty"`
	Blockers []*Blocker `json:"blockers"`
}

// Blocker is one unmet prerequisite of an environment.
type Blocker struct {
	// Prerequisite names the policy's prerequisite, e.g.
	// kind-compute-capacity.
	Prerequisite string `json:"prerequisite"`
	Description  string `json:"description"`
	// Remedy says what would meet it.
	Remedy string `json:"remedy"`
}

// String says the blocker in a few words: the prerequisite and why.
func (b *Blocker) String() string {
	return "prerequisite " + b.Prerequisite + " unmet: " + b.Description
}
