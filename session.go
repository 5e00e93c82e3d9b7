package fairway

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Session states. Only an attached session may act; every other state is
// final, and a write made with its credential is refused (R10).
const (
	SessionAttached    = "attached"
	SessionDetached    = "detached"
	SessionInterrupted = "interrupted"
	SessionExpired     = "expired"
	SessionReplaced    = "replaced"
)

// SessionStates lists every session state.
var SessionStates = []string{SessionAttached, SessionDetached, SessionInterrupted, SessionExpired, SessionReplaced}

// Observation sources: where a session's status came from. A session's
// status is this stream, never a stored "running" trusted after a restart.
const (
	SourceHeartbeat    = "heartbeat"
	SourceProcessExit  = "process-exit"
	SourceScreenStable = "screen-stable"
	SourceWaiting      = "waiting-at-prompt"
	SourceReconcile    = "reconcile"
	SourceHook         = "hook"
	SourceIdle         = "idle"
	// SourceOutput is what the process printed: a provider session id.
	SourceOutput = "output"
	// SourceAskedInput is a question the process asked and waits on.
	SourceAskedInput = "asked-for-input"
)

// ObservationSources lists every observation source.
var ObservationSources = []string{SourceHeartbeat, SourceProcessExit, SourceScreenStable, SourceWaiting, SourceReconcile, SourceHook, SourceIdle, SourceOutput, SourceAskedInput}

// Session lease bounds: a lease shorter than MinLeaseTTL would expire
// between two heartbeats of a busy agent, and one longer than MaxLeaseTTL
// would keep a dead agent's task held for too long.
const (
	DefaultLeaseTTL = 5 * time.Minute
	MinLeaseTTL     = 10 * time.Second
	MaxLeaseTTL     = 24 * time.Hour
)

// MaxSessionsLabel is the task label prefix that lets a task hold more
// than one live session: "max-sessions/3".
const MaxSessionsLabel = "max-sessions/"

// MaxSessions returns how many live sessions a task allows: one unless a
// "max-sessions/N" label says more.
func (t *Task) MaxSessions() int {
	for _, l := range t.Labels {
		if n, ok := strings.CutPrefix(l, MaxSessionsLabel); ok {
			if v, err := strconv.Atoi(n); err == nil && v > 0 {
				return v
			}
		}
	}
	return 1
}

// Session is a provider session attached to a task: a replaceable
// execution attachment, never the task itself. It holds a lease that
// heartbeats renew, and a generation number that fences writes: a write
// made with a superseded generation is refused.
type Session struct {
	ID        string `json:"id"`
	Task      string `json:"task"`
	Actor     string `json:"actor"`
	ActorKind string `json:"actor_kind"`
	Provider  string `json:"provider"`
	Host      string `json:"host,omitempty"`
	// ProviderSessions are the provider's own session ids, oldest first:
	// a provider may start a new one mid-run.
	ProviderSessions []string `json:"provider_sessions,omitempty"`
	TmuxSocket       string   `json:"tmux_socket,omitempty"`
	TmuxPane         string   `json:"tmux_pane,omitempty"`
	PID              int      `json:"pid,omitempty"`
	// PIDStart is the process's start time as the operating system
	// reports it, so a reused pid is not mistaken for the session's.
	PIDStart   string `json:"pid_start,omitempty"`
	Dir        string `json:"dir,omitempty"`
	BaseCommit string `json:"base_commit,omitempty"`
	// Generation increases with every session attached to the task.
	Generation int64         `json:"generation"`
	LeaseTTL   time.Duration `json:"lease_ttl"`
	LeaseUntil time.Time     `json:"lease_until"`
	State      string        `json:"state"`
	// Reason says why a session ended, for the states that end it.
	Reason     string    `json:"reason,omitempty"`
	Replaces   string    `json:"replaces,omitempty"`
	ReplacedBy string    `json:"replaced_by,omitempty"`
	Handoff    string    `json:"handoff,omitempty"`
	AttachedAt time.Time `json:"attached_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	// CredentialExpiresAt is when the session's credential stops
	// working: the expiry of the token that attached it (zero: never).
	// Heartbeats renew the lease, never this.
	CredentialExpiresAt time.Time `json:"credential_expires_at,omitzero"`
	// TokenID is the id of the bearer token that attached the session:
	// revoking that token ends it. Empty when it was attached without
	// one (local mode, an identity provider's token) or before sessions
	// recorded it.
	TokenID string `json:"token_id,omitempty"`
	// Observations is filled in by GetSession: newest first.
	Observations []*Observation `json:"observations,omitempty"`
}

// Live reports whether the session is attached with a lease that has not
// run out at now, and a credential that has not expired: a session whose
// attaching token expired is over, whoever heartbeats it.
func (s *Session) Live(now time.Time) bool {
	return s.State == SessionAttached && now.Before(s.LeaseUntil) && !s.CredentialExpired(now)
}

// CredentialExpired reports whether the session's credential expired, with
// the token that attached it, at now.
func (s *Session) CredentialExpired(now time.Time) bool {
	return !s.CredentialExpiresAt.IsZero() && !now.Before(s.CredentialExpiresAt)
}

// Observation is one timestamped fact about a session, with its source.
type Observation struct {
	ID      int64     `json:"id"`
	Session string    `json:"session"`
	At      time.Time `json:"at"`
	Source  string    `json:"source"`
	Detail  string    `json:"detail,omitempty"`
	// ExitCode is set for process-exit observations.
	ExitCode *int `json:"exit_code,omitempty"`
}

// SessionFilter selects sessions. Live keeps attached sessions whose
// lease has not run out.
type SessionFilter struct {
	Task  string `json:"task,omitempty"`
	Actor string `json:"actor,omitempty"`
	Live  bool   `json:"live,omitempty"`
	// State keeps one state; stores use it, Live is for the ledger.
	State string `json:"state,omitempty"`
	// LeaseBefore keeps sessions whose lease ends before it (stores).
	LeaseBefore time.Time `json:"-"`
	// TokenID keeps sessions attached with that bearer token (stores).
	TokenID string `json:"-"`
}

// SessionAttach is the input to attach a session to a task.
type SessionAttach struct {
	Task     string `json:"task"`
	Provider string `json:"provider"`
	// Replace names a live session this one supersedes explicitly.
	Replace          string        `json:"replace,omitempty"`
	Host             string        `json:"host,omitempty"`
	ProviderSessions []string      `json:"provider_sessions,omitempty"`
	TmuxSocket       string        `json:"tmux_socket,omitempty"`
	TmuxPane         string        `json:"tmux_pane,omitempty"`
	PID              int           `json:"pid,omitempty"`
	PIDStart         string        `json:"pid_start,omitempty"`
	Dir              string        `json:"dir,omitempty"`
	BaseCommit       string        `json:"base_commit,omitempty"`
	LeaseTTL         time.Duration `json:"lease_ttl,omitempty"`
}

// AttachedSession is the result of an attach: the session and its
// credential, returned once; only its hash is stored.
type AttachedSession struct {
	Session *Session `json:"session"`
	Token   string   `json:"token"`
	// Handoff is the newest handoff left on the task, shown first to the
	// session that picks the work up.
	Handoff *Handoff `json:"handoff,omitempty"`
}

// Handoff is the summary a session left on its task when it ended.
type Handoff struct {
	Session  string    `json:"session"`
	Actor    string    `json:"actor"`
	Provider string    `json:"provider"`
	At       time.Time `json:"at"`
	Summary  string    `json:"summary"`
}

var (
	providerRE  = lazyRegexp(`^[a-z][a-z0-9._-]{0,39}$`)
	sessionIDRE = lazyRegexp(`^ses-[0-9a-f]{16}$`)
)

// ValidateSessionID checks a session id's form.
func ValidateSessionID(field, id string) error {
	if id == "" {
		return FieldError(field, "is required: a session id like ses-0123456789abcdef")
	}
	if !sessionIDRE().MatchString(id) {
		return FieldError(field, "%q is not a session id: it looks like ses-0123456789abcdef (see `fairway session list`)", clip(id))
	}
	return nil
}

// Validate checks the attach input.
func (a *SessionAttach) Validate() error {
	if err := ValidateKey("task", a.Task); err != nil {
		return err
	}
	if a.Provider == "" {
		return FieldError("provider", "is required: codex, claude, gemini, tmux, shell, browser or another name")
	}
	if !providerRE().MatchString(a.Provider) {
		return FieldError("provider", "%q is not a provider name: use lower-case letters, digits, '.', '_' or '-'", clip(a.Provider))
	}
	if a.Replace != "" {
		if err := ValidateSessionID("replace", a.Replace); err != nil {
			return err
		}
	}
	if len(a.ProviderSessions) > MaxProviderSessions {
		return FieldError("provider_sessions", "has more than %d entries", MaxProviderSessions)
	}
	for _, id := range a.ProviderSessions {
		if err := CheckLine("provider_sessions", id, 200); err != nil {
			return err
		}
		if strings.TrimSpace(id) == "" {
			return FieldError("provider_sessions", "holds an empty id")
		}
	}
	for _, f := range []struct{ name, v string }{{"host", a.Host}, {"tmux_socket", a.TmuxSocket}, {"tmux_pane", a.TmuxPane}, {"pid_start", a.PIDStart}, {"dir", a.Dir}} {
		if err := CheckLine(f.name, f.v, 1000); err != nil {
			return err
		}
	}
	if a.PID < 0 {
		return FieldError("pid", "must not be negative")
	}
	if a.BaseCommit != "" && !commitRE().MatchString(a.BaseCommit) {
		return FieldError("base_commit", "%q is not a commit id: use its hex form", clip(a.BaseCommit))
	}
	if a.LeaseTTL != 0 && (a.LeaseTTL < MinLeaseTTL || a.LeaseTTL > MaxLeaseTTL) {
		return FieldError("lease_ttl", "must be between %s and %s", MinLeaseTTL, MaxLeaseTTL)
	}
	return nil
}

// MaxProviderSessions bounds the provider session ids a session keeps.
const MaxProviderSessions = 20

// SessionObserve is the input to record an observation of a session.
// A process-exit observation ends the session: detached when the process
// exited 0, interrupted otherwise.
type SessionObserve struct {
	Session  string `json:"session"`
	Source   string `json:"source"`
	Detail   string `json:"detail,omitempty"`
	ExitCode *int   `json:"exit_code,omitempty"`
	// ProviderSession is a provider session id seen with the
	// observation; a new one is added to the session's list.
	ProviderSession string `json:"provider_session,omitempty"`
}

// Validate checks the observation input.
func (o *SessionObserve) Validate() error {
	if err := ValidateSessionID("session", o.Session); err != nil {
		return err
	}
	ok := false
	for _, s := range ObservationSources {
		ok = ok || s == o.Source
	}
	if !ok {
		return FieldError("source", "%q is not an observation source: use one of %s", clip(o.Source), strings.Join(ObservationSources, ", "))
	}
	if o.Source == SourceProcessExit && o.ExitCode == nil {
		return FieldError("exit_code", "is required for a process-exit observation")
	}
	if err := CheckLine("provider_session", o.ProviderSession, 200); err != nil {
		return err
	}
	return CheckText("detail", o.Detail, 4000)
}

// SessionService attaches provider sessions to tasks and keeps their
// leases. A session's credential authenticates as its actor with the
// session's generation; a write made with it after the session ended is
// refused.
type SessionService interface {
	// AttachSession attaches a new session to a task and returns its
	// credential once.
	AttachSession(ctx context.Context, a SessionAttach) (*AttachedSession, error)
	// HeartbeatSession renews a live session's lease.
	HeartbeatSession(ctx context.Context, id string) (*Session, error)
	// DetachSession ends a session with a handoff for the next one.
	DetachSession(ctx context.Context, id, handoff string) (*Session, error)
	// ObserveSession records what a provider adapter or hook saw.
	ObserveSession(ctx context.Context, o SessionObserve) (*Observation, error)
	// GetSession returns a session with its observations.
	GetSession(ctx context.Context, id string) (*Session, error)
	ListSessions(ctx context.Context, f SessionFilter) ([]*Session, error)
}

// SessionTx stores sessions, the hashes of their credentials, and their
// observations.
type SessionTx interface {
	// InsertSession stores a new session and the hash of its credential.
	InsertSession(s *Session, tokenHash string) error
	// UpdateSession stores a session's lease, state, links, handoff and
	// provider session ids.
	UpdateSession(s *Session) error
	// RenewSessionLease stores a heartbeat's new lease end and update
	// time and nothing else: a session's searchable text (its handoff)
	// does not change, so it is not indexed again. ENOTFOUND when there
	// is no such session.
	RenewSessionLease(id string, leaseUntil, updatedAt time.Time) error
	Session(id string) (*Session, error)
	// SessionByTokenHash finds the session a credential belongs to,
	// whatever its state; EUNAUTHORIZED when none.
	SessionByTokenHash(hash string) (*Session, error)
	// Sessions lists sessions oldest first, by Task, Actor, State,
	// LeaseBefore and TokenID.
	Sessions(f SessionFilter) ([]*Session, error)
	// MaxSessionGeneration returns the highest generation of a task's
	// sessions; 0 when it has none.
	MaxSessionGeneration(task string) (int64, error)
	// InsertObservation stores an observation and sets its ID.
	InsertObservation(o *Observation) error
	// Observations lists a session's observations, newest first, at
	// most limit.
	Observations(session string, limit int) ([]*Observation, error)
}
