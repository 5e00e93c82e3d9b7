package fairway

import (
	"context"
	"strings"
	"time"
)

// Review verdicts.
const (
	VerdictApproved         = "approved"
	VerdictChangesRequested = "changes_requested"
	// VerdictResolved closes an earlier change request.
	VerdictResolved = "resolved"
)

// MFAPosture is what the identity provider asserted about how the
// reviewer signed in. Fairway never sees a factor, only these claims.
type MFAPosture struct {
	Source   string    `json:"source"` // oidc
	AMR      []string  `json:"amr,omitempty"`
	ACR      string    `json:"acr,omitempty"`
	AuthTime time.Time `json:"auth_time,omitzero"`
	// MFA is true when the claims show a second factor fresh enough for
	// the server's configured maximum age.
	MFA bool `json:"mfa"`
}

// Review is one reviewer's verdict for one domain of a task, bound to the
// snapshot of scope and evidence it judged (R4).
type Review struct {
	ID           int64       `json:"id"`
	Task         string      `json:"task"`
	Domain       string      `json:"domain"`
	Reviewer     string      `json:"reviewer"`
	ReviewerKind string      `json:"reviewer_kind"`
	Verdict      string      `json:"verdict"`
	Items        []string    `json:"items,omitempty"`
	Comment      string      `json:"comment,omitempty"`
	Resolves     int64       `json:"resolves,omitempty"`
	Snapshot     string      `json:"snapshot"`
	MFA          *MFAPosture `json:"mfa,omitempty"`
	// TokenIssuedBy is the actor who issued the token the review was made
	// with, when that is not the reviewer: it could hold that token, so
	// for independence the review is its too (R2).
	TokenIssuedBy string    `json:"token_issued_by,omitempty"`
	At            time.Time `json:"at"`
}

// ReviewAdd is the input to approve, request changes or resolve.
type ReviewAdd struct {
	Task    string   `json:"task"`
	Domain  string   `json:"domain"`
	Verdict string   `json:"verdict"`
	Items   []string `json:"items,omitempty"`
	Comment string   `json:"comment,omitempty"`
	// Resolves names the change request a resolution closes; when empty,
	// the domain's only open request is meant.
	Resolves int64 `json:"resolves,omitempty"`
	// Snapshot, when given, is the snapshot digest the reviewer judged
	// (as the gate showed it): the review is refused if the task's
	// title, scope or evidence moved on since, instead of binding what
	// the reviewer never saw (R4).
	Snapshot string `json:"snapshot,omitempty"`
}

// Validate checks the review input.
func (r *ReviewAdd) Validate() error {
	if err := ValidateKey("task", r.Task); err != nil {
		return err
	}
	if r.Domain == "" {
		return FieldError("domain", "is required: the review domain you review for")
	}
	switch r.Verdict {
	case VerdictApproved, VerdictResolved:
		if len(r.Items) > 0 {
			return FieldError("items", "are only for a change request")
		}
	case VerdictChangesRequested:
		if len(r.Items) == 0 {
			return FieldError("items", "a change request lists the concrete changes wanted, at least one")
		}
		for _, it := range r.Items {
			if strings.TrimSpace(it) == "" || len(it) > 2000 {
				return FieldError("items", "each item must be non-empty and at most 2000 characters")
			}
			if err := CheckText("items", it, 2000); err != nil {
				return err
			}
		}
	default:
		return FieldError("verdict", "%q is not a verdict: use approved, changes_requested or resolved", clip(r.Verdict))
	}
	if r.Snapshot != "" && !digestRE().MatchString(r.Snapshot) {
		return FieldError("snapshot", "%q is not a snapshot digest: give the sha256:… digest `fairway gate explain %s` shows as the judged snapshot", clip(r.Snapshot), r.Task)
	}
	return CheckText("comment", r.Comment, 4000)
}

// Waiver lifts one requirement for one task, or for every task of a lane,
// until it expires. It counts only once approved.
type Waiver struct {
	ID          int64     `json:"id"`
	Task        string    `json:"task,omitempty"`
	Lane        string    `json:"lane,omitempty"`
	Requirement string    `json:"requirement"`
	Reason      string    `json:"reason"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	Domain      string    `json:"domain,omitempty"`
	ApprovedBy  string    `json:"approved_by,omitempty"`
	ApprovedAt  time.Time `json:"approved_at,omitzero"`
}

// ActiveAt reports whether the waiver counts at time t.
func (w *Waiver) ActiveAt(t time.Time) bool {
	return w.ApprovedBy != "" && t.Before(w.ExpiresAt)
}

// WaiverRequest is the input to request a waiver.
type WaiverRequest struct {
	Task        string    `json:"task,omitempty"`
	Lane        string    `json:"lane,omitempty"`
	Requirement string    `json:"requirement"`
	Reason      string    `json:"reason"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
}

// Validate checks the waiver request.
func (w *WaiverRequest) Validate() error {
	if (w.Task == "") == (w.Lane == "") {
		return FieldError("task", "a waiver is for exactly one task or one lane")
	}
	if w.Task != "" {
		if err := ValidateKey("task", w.Task); err != nil {
			return err
		}
	}
	if w.Lane != "" {
		if err := ValidateLaneName("lane", w.Lane); err != nil {
			return err
		}
	}
	if !strings.Contains(w.Requirement, ":") {
		return FieldError("requirement", "%q is not a requirement id: use one shown by `fairway gate explain`, like prerequisite:mfa-live-drill", clip(w.Requirement))
	}
	if strings.TrimSpace(w.Reason) == "" {
		return FieldError("reason", "is required: say why the requirement may be lifted")
	}
	if err := CheckText("reason", w.Reason, 4000); err != nil {
		return err
	}
	if w.ExpiresAt.IsZero() {
		return FieldError("expires_at", "is required: every waiver ends")
	}
	return nil
}

// PolicyRecord is a governance policy as stored: proposed on a task,
// active, or superseded.
type PolicyRecord struct {
	ID     int64  `json:"id"`
	Digest string `json:"digest"`
	File   string `json:"file"`
	Source string `json:"source"`
	State  string `json:"state"` // proposed, active, superseded, withdrawn
	Task   string `json:"task,omitempty"`
	// Base is the digest of the policy in force when this one was
	// proposed; it may only replace that one.
	Base        string    `json:"base,omitempty"`
	ProposedBy  string    `json:"proposed_by"`
	ProposedAt  time.Time `json:"proposed_at"`
	ActivatedAt time.Time `json:"activated_at,omitzero"`
}

// Policy states.
const (
	PolicyProposed   = "proposed"
	PolicyActive     = "active"
	PolicySuperseded = "superseded"
	PolicyWithdrawn  = "withdrawn"
)

// Auth is what the transport knows about the caller beyond its name:
// groups and MFA posture from the identity provider, and the session
// whose credential made the request.
type Auth struct {
	Groups []string    `json:"groups,omitempty"`
	MFA    *MFAPosture `json:"mfa,omitempty"`
	// Session and Generation are set when the request is made with a
	// session credential: the write helper fences on them (R10).
	Session    string `json:"session,omitempty"`
	Generation int64  `json:"generation,omitempty"`
	// ExpiresAt is when the token the request was made with stops
	// working (zero: never). A credential it issues expires no later, so
	// a short sign-in cannot mint a lasting one. Set by the server's
	// authenticator, never read from a request.
	ExpiresAt time.Time `json:"-"`
	// TokenID is the id of the bearer token the request was made with
	// (empty for a session credential, an identity provider's token or
	// local mode): a session attached with it records it, and ends when
	// it is revoked. Set by the server's authenticator, never read from
	// a request.
	TokenID string `json:"-"`
	// CredentialID names a bearer credential that is not a Fairway token
	// (an identity provider's token): the first TokenIDLen hex digits of
	// its SHA-256, so the tokens a sign-in with it issued can be found
	// and ended with it. Set by the server's authenticator, never read
	// from a request.
	CredentialID string `json:"-"`
}

type authKey struct{}

// NewContextWithAuth returns a context carrying the caller's Auth.
func NewContextWithAuth(ctx context.Context, a *Auth) context.Context {
	return context.WithValue(ctx, authKey{}, a)
}

// AuthFromContext returns the caller's Auth; never nil.
func AuthFromContext(ctx context.Context) *Auth {
	if a, ok := ctx.Value(authKey{}).(*Auth); ok && a != nil {
		return a
	}
	return &Auth{}
}

// GovernanceService holds reviews, waivers and the governance policy.
type GovernanceService interface {
	AddReview(ctx context.Context, r ReviewAdd) (*Review, error)
	ListReviews(ctx context.Context, task string) ([]*Review, error)
	RequestWaiver(ctx context.Context, w WaiverRequest) (*Waiver, error)
	ApproveWaiver(ctx context.Context, id int64) (*Waiver, error)
	ListWaivers(ctx context.Context, task, lane string) ([]*Waiver, error)
	// ActivePolicy returns the policy in force, or ENOTFOUND.
	ActivePolicy(ctx context.Context) (*PolicyRecord, error)
	// BootstrapPolicy puts the first policy in force on a ledger that has
	// none; afterwards policies change only through ProposePolicy.
	BootstrapPolicy(ctx context.Context, file string, source []byte) (*PolicyRecord, error)
	// ProposePolicy attaches a new policy to a task; it takes effect when
	// that task closes through a passing gate (R13).
	ProposePolicy(ctx context.Context, task, file string, source []byte) (*PolicyRecord, error)
}
