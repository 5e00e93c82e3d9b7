package fairway

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Task statuses.
const (
	StatusOpen       = "open"
	StatusInProgress = "in_progress"
	StatusBlocked    = "blocked"
	StatusInReview   = "in_review"
	StatusDone       = "done"
	StatusCancelled  = "cancelled"
)

// Statuses lists every task status in workflow order.
var Statuses = []string{StatusOpen, StatusInProgress, StatusBlocked, StatusInReview, StatusDone, StatusCancelled}

// Wait reasons: why a blocked task (and so its lane) is waiting.
const (
	WaitDependency     = "dependency"
	WaitReviewer       = "reviewer"
	WaitCredentials    = "credentials"
	WaitExport         = "export"
	WaitApprovalWindow = "approval-window"
	WaitCapacity       = "capacity"
)

// WaitReasons lists every wait reason.
var WaitReasons = []string{WaitDependency, WaitReviewer, WaitCredentials, WaitExport, WaitApprovalWindow, WaitCapacity}

// Risk levels, lowest first.
const (
	RiskLow      = "low"
	RiskMedium   = "medium"
	RiskHigh     = "high"
	RiskCritical = "critical"
)

// Risks lists every risk level, lowest first.
var Risks = []string{RiskLow, RiskMedium, RiskHigh, RiskCritical}

// RiskRank orders risk levels: 0 for low up to 3 for critical.
func RiskRank(risk string) int { return slices.Index(Risks, risk) }

// transitions holds the status changes a plain transition may make. Reaching
// done is left out on purpose: only the gate (CloseTask) does that, and
// cancelling has its own path (CancelTask) because it needs a human and a
// reason.
var transitions = map[string][]string{
	StatusOpen:       {StatusInProgress, StatusBlocked},
	StatusInProgress: {StatusOpen, StatusBlocked, StatusInReview},
	StatusBlocked:    {StatusOpen, StatusInProgress},
	StatusInReview:   {StatusInProgress, StatusBlocked},
	StatusDone:       {},
	StatusCancelled:  {},
}

// AllowedTransitions returns the statuses a task in status from may move to
// with a plain transition.
func AllowedTransitions(from string) []string { return transitions[from] }

// RunRefusal says why a command recorded as kind may not run on t, or
// nil. A mutating task runs commands only once started: starting is
// where a protected change class's approvals and rollback evidence are
// checked (R5), and open or blocked, it has not passed that check. The
// one run it takes before is one that records evidence a protected
// control of its gate still needs (a rollback rehearsal whose kind only
// a run records, say); gate is the task's decision, read only then.
func RunRefusal(t *Task, kind string, gate func() (*GateDecision, error)) error {
	if !t.Mutating || t.Status == StatusInProgress || t.Status == StatusInReview {
		return nil
	}
	d, err := gate()
	if err != nil {
		return err
	}
	for _, r := range d.Requirements {
		if r.Protected && r.State == ReqUnsatisfied && r.ID == "evidence:"+kind {
			return nil
		}
	}
	return Errorf(EGATEFAILED, "%s is a mutating task and is %s: no command runs as its work until it starts (`fairway task take %s`, which checks its protected controls first)", t.Key, t.Status, t.Key)
}

// IsTerminal reports whether a status ends the task's life.
func IsTerminal(status string) bool { return status == StatusDone || status == StatusCancelled }

// Scope says what a task may touch. Text is the human statement; the lists
// are what policy matches against.
type Scope struct {
	Text          string   `json:"text,omitempty"`
	Surfaces      []string `json:"surfaces,omitempty"`
	ChangeClasses []string `json:"change_classes,omitempty"`
	Contracts     []string `json:"contracts,omitempty"`
	Paths         []string `json:"paths,omitempty"`
}

// Task is one governed piece of work.
type Task struct {
	Key   string `json:"key"`
	Title string `json:"title"`
	Scope Scope  `json:"scope"`
	Lane  string `json:"lane,omitempty"`
	Owner string `json:"owner,omitempty"`
	// AssignedBy is who last set the owner: the requester of the work.
	AssignedBy    string    `json:"assigned_by,omitempty"`
	Creator       string    `json:"creator"`
	Status        string    `json:"status"`
	WaitReason    string    `json:"wait_reason,omitempty"`
	Risk          string    `json:"risk"`
	Priority      int       `json:"priority"`
	ReviewDomains []string  `json:"review_domains,omitempty"`
	Mutating      bool      `json:"mutating"`
	Labels        []string  `json:"labels,omitempty"`
	CancelReason  string    `json:"cancel_reason,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	ClosedAt      time.Time `json:"closed_at,omitzero"`
}

// TaskCreate is the input to create a task. Key may be empty when Lane has a
// key prefix: the next key of the lane is then generated.
type TaskCreate struct {
	Key           string   `json:"key,omitempty"`
	Title         string   `json:"title"`
	Scope         Scope    `json:"scope,omitzero"`
	Lane          string   `json:"lane,omitempty"`
	Owner         string   `json:"owner,omitempty"`
	Risk          string   `json:"risk,omitempty"`
	Priority      *int     `json:"priority,omitempty"`
	ReviewDomains []string `json:"review_domains,omitempty"`
	Mutating      bool     `json:"mutating,omitempty"`
	Labels        []string `json:"labels,omitempty"`
}

// TaskUpdate changes a task field by field: nil fields are kept, lists
// are added to or removed from, and only ReplaceScope replaces the whole
// scope. An update that would remove a requirement of the gate is not
// applied: it is a narrowing, proposed with ProposeNarrowing.
type TaskUpdate struct {
	Title *string `json:"title,omitempty"`
	// ScopeText replaces the scope's text alone.
	ScopeText *string `json:"scope_text,omitempty"`
	// AddScope and RemoveScope add and remove surfaces, change classes,
	// contracts and paths; their Text is unused.
	AddScope    Scope `json:"add_scope,omitzero"`
	RemoveScope Scope `json:"remove_scope,omitzero"`
	// ReplaceScope replaces the whole scope, text and lists.
	ReplaceScope        *Scope   `json:"replace_scope,omitempty"`
	Owner               *string  `json:"owner,omitempty"`
	Risk                *string  `json:"risk,omitempty"`
	Priority            *int     `json:"priority,omitempty"`
	AddReviewDomains    []string `json:"add_review_domains,omitempty"`
	RemoveReviewDomains []string `json:"remove_review_domains,omitempty"`
	Mutating            *bool    `json:"mutating,omitempty"`
	AddLabels           []string `json:"add_labels,omitempty"`
	RemoveLabels        []string `json:"remove_labels,omitempty"`
	// RemoveBlockers drops dependencies on these tasks. A dependency on
	// an unfinished task is a requirement of the gate, so dropping one is
	// a narrowing.
	RemoveBlockers []string `json:"remove_blockers,omitempty"`
}

// Normalize drops empty lists, so an update reads the same whether it was
// built in process or decoded from JSON.
func (u *TaskUpdate) Normalize() {
	for _, l := range []*[]string{&u.AddScope.Surfaces, &u.AddScope.ChangeClasses, &u.AddScope.Contracts, &u.AddScope.Paths,
		&u.RemoveScope.Surfaces, &u.RemoveScope.ChangeClasses, &u.RemoveScope.Contracts, &u.RemoveScope.Paths,
		&u.AddReviewDomains, &u.RemoveReviewDomains, &u.AddLabels, &u.RemoveLabels, &u.RemoveBlockers} {
		if len(*l) == 0 {
			*l = nil
		}
	}
}

// Governs reports whether the update touches what decides a task's gate:
// scope, review domains, labels, risk, owner or the mutating flag.
func (u *TaskUpdate) Governs() bool {
	return u.ScopeText != nil || !u.AddScope.isEmpty() || !u.RemoveScope.isEmpty() || u.ReplaceScope != nil ||
		len(u.AddReviewDomains) > 0 || len(u.RemoveReviewDomains) > 0 || len(u.AddLabels) > 0 || len(u.RemoveLabels) > 0 || len(u.RemoveBlockers) > 0 ||
		u.Risk != nil || u.Owner != nil || u.Mutating != nil
}

// Apply returns the task as the update would leave it; t is not changed.
func (u *TaskUpdate) Apply(t *Task) *Task {
	n := *t
	if u.Title != nil {
		n.Title = strings.TrimSpace(*u.Title)
	}
	if u.ReplaceScope != nil {
		n.Scope = *u.ReplaceScope
	}
	if u.ScopeText != nil {
		n.Scope.Text = *u.ScopeText
	}
	n.Scope.Surfaces = editList(n.Scope.Surfaces, u.AddScope.Surfaces, u.RemoveScope.Surfaces)
	n.Scope.ChangeClasses = editList(n.Scope.ChangeClasses, u.AddScope.ChangeClasses, u.RemoveScope.ChangeClasses)
	n.Scope.Contracts = editList(n.Scope.Contracts, u.AddScope.Contracts, u.RemoveScope.Contracts)
	n.Scope.Paths = editList(n.Scope.Paths, u.AddScope.Paths, u.RemoveScope.Paths)
	n.ReviewDomains = editList(n.ReviewDomains, u.AddReviewDomains, u.RemoveReviewDomains)
	n.Labels = editList(n.Labels, u.AddLabels, u.RemoveLabels)
	if u.Owner != nil {
		n.Owner = *u.Owner
	}
	if u.Risk != nil {
		n.Risk = *u.Risk
	}
	if u.Priority != nil {
		n.Priority = *u.Priority
	}
	if u.Mutating != nil {
		n.Mutating = *u.Mutating
	}
	return &n
}

// editList adds what is missing and removes what is named, keeping order.
func editList(list, add, remove []string) []string {
	if len(add) == 0 && len(remove) == 0 {
		return list
	}
	out := make([]string, 0, len(list)+len(add))
	for _, v := range list {
		if !slices.Contains(remove, v) {
			out = append(out, v)
		}
	}
	for _, v := range add {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (s Scope) isEmpty() bool {
	return s.Text == "" && len(s.Surfaces) == 0 && len(s.ChangeClasses) == 0 && len(s.Contracts) == 0 && len(s.Paths) == 0
}

// Transition asks to move a task to another status. WaitReason is required
// when, and only when, Status is blocked.
type Transition struct {
	Status     string `json:"status"`
	WaitReason string `json:"wait_reason,omitempty"`
	Note       string `json:"note,omitempty"`
}

// TaskFilter selects tasks for listing. Empty fields match everything.
type TaskFilter struct {
	Lane   string `json:"lane,omitempty"`
	Status string `json:"status,omitempty"`
	Owner  string `json:"owner,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// NextFilter selects the tasks that can be worked on now.
type NextFilter struct {
	Lane  string `json:"lane,omitempty"`
	Limit int    `json:"limit,omitempty"`
	// SafeOnly keeps the tasks the policy counts as safe fallback work:
	// what can move while other lanes wait.
	SafeOnly bool `json:"safe_only,omitempty"`
	// Owner keeps the tasks this actor owns.
	Owner string `json:"owner,omitempty"`
}

// DefaultNextLimit is how many tasks next returns when no limit is given.
const DefaultNextLimit = 20

// TaskDependencies shows both directions of a task's dependency edges.
type TaskDependencies struct {
	Key string `json:"key"`
	// BlockedBy are the tasks that must be done before this one.
	BlockedBy []*Task `json:"blocked_by"`
	// Blocks are the tasks waiting on this one.
	Blocks []*Task `json:"blocks"`
}

// TaskService is the task, dependency and gate half of the ledger.
type TaskService interface {
	CreateTask(ctx context.Context, c TaskCreate) (*Task, error)
	GetTask(ctx context.Context, key string) (*Task, error)
	// TaskView returns a task with its dependencies, evidence, claims,
	// reviews, waivers, narrowings and gate, from one snapshot.
	TaskView(ctx context.Context, key string) (*TaskView, error)
	ListTasks(ctx context.Context, f TaskFilter) ([]*Task, error)
	UpdateTask(ctx context.Context, key string, u TaskUpdate) (*Task, error)
	TransitionTask(ctx context.Context, key string, t Transition) (*Task, error)
	// CloseTask moves a task to done when, and only when, its gate passes.
	// The decision is returned either way; a failing gate is an
	// EGATEFAILED error. Failing latest evidence (GateDecision.Latest)
	// must be acknowledged by ID, else the close is an ECONFLICT refusal.
	CloseTask(ctx context.Context, key string, acknowledge ...string) (*GateDecision, error)
	CancelTask(ctx context.Context, key, reason string) (*Task, error)
	// TakeTask starts an open task as the caller, making it the owner
	// when it has none; atomic, so of two takers exactly one wins.
	TakeTask(ctx context.Context, key string) (*Task, error)
	ExplainGate(ctx context.Context, key string) (*GateDecision, error)

	// AddDependency records that blocker must be done before blocked.
	AddDependency(ctx context.Context, blocked, blocker string) error
	RemoveDependency(ctx context.Context, blocked, blocker string) error
	Dependencies(ctx context.Context, key string) (*TaskDependencies, error)
	// Next lists open tasks whose dependencies are done, most urgent first.
	Next(ctx context.Context, f NextFilter) ([]*Task, error)
}

var keyRE = lazyRegexp(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$`)

// MaxKeyLen bounds task keys and lane prefixes.
const MaxKeyLen = 100

// ValidateKey checks a task key such as OPS-FIX-KIND-COMPUTE-CAPACITY-PREREQ-001.
func ValidateKey(field, key string) error {
	if key == "" {
		return FieldError(field, "is required")
	}
	if len(key) > MaxKeyLen || !keyRE().MatchString(key) {
		return FieldError(field, "%q is not a valid key: use upper-case letters and digits in dash-separated parts, like OPS-FIX-001 (at most %d characters)", clip(key), MaxKeyLen)
	}
	return nil
}

// Validate checks the input fields that need no store to check.
func (c *TaskCreate) Validate() error {
	if c.Key != "" {
		if err := ValidateKey("key", c.Key); err != nil {
			return err
		}
	} else if c.Lane == "" {
		return FieldError("key", "is required when no lane is given (a lane with a key prefix generates keys)")
	}
	if err := validateTitle(c.Title); err != nil {
		return err
	}
	if err := c.Scope.Validate(); err != nil {
		return err
	}
	if c.Risk != "" && RiskRank(c.Risk) < 0 {
		return FieldError("risk", "%q is not a risk level: use low, medium, high or critical", clip(c.Risk))
	}
	if c.Priority != nil {
		if err := validatePriority(*c.Priority); err != nil {
			return err
		}
	}
	if err := validateNames("review_domains", c.ReviewDomains); err != nil {
		return err
	}
	return validateNames("labels", c.Labels)
}

// Validate checks the fields that are set.
func (u *TaskUpdate) Validate() error {
	if u.Title != nil {
		if err := validateTitle(*u.Title); err != nil {
			return err
		}
	}
	if u.ScopeText != nil {
		if err := CheckText("scope_text", *u.ScopeText, 20000); err != nil {
			return err
		}
	}
	if u.ReplaceScope != nil {
		if err := u.ReplaceScope.Validate(); err != nil {
			return err
		}
	}
	for prefix, sc := range map[string]Scope{"add_scope": u.AddScope, "remove_scope": u.RemoveScope} {
		if sc.Text != "" {
			return FieldError(prefix+".text", "is not used: set scope_text to change the text")
		}
		if err := sc.Validate(); err != nil {
			return err
		}
	}
	if u.Risk != nil && RiskRank(*u.Risk) < 0 {
		return FieldError("risk", "%q is not a risk level: use low, medium, high or critical", clip(*u.Risk))
	}
	if u.Priority != nil {
		if err := validatePriority(*u.Priority); err != nil {
			return err
		}
	}
	for _, b := range u.RemoveBlockers {
		if err := ValidateKey("remove_blockers", b); err != nil {
			return err
		}
	}
	for field, names := range map[string][]string{"add_review_domains": u.AddReviewDomains, "remove_review_domains": u.RemoveReviewDomains,
		"add_labels": u.AddLabels, "remove_labels": u.RemoveLabels} {
		if err := validateNames(field, names); err != nil {
			return err
		}
	}
	if u.Title == nil && u.Priority == nil && !u.Governs() {
		return Errorf(EINVALID, "nothing to update: set at least one field")
	}
	return nil
}

// Validate checks the transition input.
func (t *Transition) Validate() error {
	if !slices.Contains(Statuses, t.Status) {
		return FieldError("status", "%q is not a status: use one of %s", clip(t.Status), strings.Join(Statuses, ", "))
	}
	if t.Status == StatusBlocked {
		if !slices.Contains(WaitReasons, t.WaitReason) {
			return FieldError("wait_reason", "a blocked task needs a wait reason: one of %s", strings.Join(WaitReasons, ", "))
		}
	} else if t.WaitReason != "" {
		return FieldError("wait_reason", "is only for status blocked")
	}
	return CheckText("note", t.Note, 4000)
}

// Validate checks the scope lists.
func (s *Scope) Validate() error {
	if err := CheckText("scope.text", s.Text, 20000); err != nil {
		return err
	}
	for field, list := range map[string][]string{
		"scope.surfaces": s.Surfaces, "scope.change_classes": s.ChangeClasses,
		"scope.contracts": s.Contracts, "scope.paths": s.Paths,
	} {
		if len(list) > 200 {
			return FieldError(field, "has more than 200 entries")
		}
		for _, v := range list {
			if strings.TrimSpace(v) == "" || len(v) > 500 {
				return FieldError(field, "entries must be non-empty and at most 500 characters")
			}
			if err := CheckLine(field, v, 500); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateTitle(title string) error {
	if strings.TrimSpace(title) == "" {
		return FieldError("title", "is required and must not be blank")
	}
	return CheckLine("title", title, 300)
}

func validatePriority(p int) error {
	if p < 0 || p > 4 {
		return FieldError("priority", "%d is out of range: use 0 (most urgent) to 4", p)
	}
	return nil
}

var nameRE = lazyRegexp(`^[a-z0-9][a-z0-9._/-]{0,62}$`)

func validateNames(field string, names []string) error {
	if len(names) > 50 {
		return FieldError(field, "has more than 50 entries")
	}
	for _, n := range names {
		if !nameRE().MatchString(n) {
			return FieldError(field, "%q is not a valid name: use lower-case letters, digits, '.', '_', '/' or '-'", clip(n))
		}
	}
	return nil
}

// clip shortens user input quoted back in error messages.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
