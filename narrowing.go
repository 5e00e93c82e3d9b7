package fairway

import (
	"context"
	"encoding/json"
	"time"
)

// Narrowing states.
const (
	NarrowingPending = "pending"
	NarrowingApplied = "applied"
)

// A Narrowing is a change to a task that would remove requirements from
// its gate: a reworded scope, a dropped surface or change class, a lower
// risk. It is never a single edit (R4): it is proposed, shown with what
// it removes, and applied only once a member of every domain that loses a
// requirement approved it.
type Narrowing struct {
	ID   int64  `json:"id"`
	Task string `json:"task"`
	// Update is the edit that takes effect when the narrowing is applied.
	Update     TaskUpdate        `json:"update"`
	Removes    []RemovedNeed     `json:"removes"`
	Approvals  []NarrowingReview `json:"approvals,omitempty"`
	ProposedBy string            `json:"proposed_by"`
	ProposedAt time.Time         `json:"proposed_at"`
	// Base is when the task last changed before the proposal; a task
	// changed since is proposed again, so the approval judged what it
	// applies to.
	Base      time.Time `json:"base"`
	State     string    `json:"state"`
	AppliedAt time.Time `json:"applied_at,omitzero"`
}

// RemovedNeed is one requirement a narrowing removes, and the domain that
// loses it.
type RemovedNeed struct {
	Requirement string `json:"requirement"`
	Because     string `json:"because"`
	Domain      string `json:"domain"`
	Protected   bool   `json:"protected,omitempty"`
	// MFA is set when the requirement asked for MFA: approving its
	// removal asks for it too, so a narrowing cannot take off a second
	// factor with one factor.
	MFA bool `json:"mfa,omitempty"`
}

// NarrowingReview is one domain's approval of a narrowing.
type NarrowingReview struct {
	Domain string    `json:"domain"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// Domains lists the domains that must approve, in order, once each.
func (n *Narrowing) Domains() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range n.Removes {
		if !seen[r.Domain] {
			seen[r.Domain] = true
			out = append(out, r.Domain)
		}
	}
	return out
}

// Pending lists the domains that have not approved yet.
func (n *Narrowing) Pending() []string {
	var out []string
	for _, d := range n.Domains() {
		approved := false
		for _, a := range n.Approvals {
			approved = approved || a.Domain == d
		}
		if !approved {
			out = append(out, d)
		}
	}
	return out
}

// NarrowingService proposes and approves narrowings of a task's gate.
type NarrowingService interface {
	// ProposeNarrowing records an update that removes requirements; it
	// takes effect when ApproveNarrowing has approvals of every losing
	// domain. An update that removes nothing is refused: use UpdateTask.
	ProposeNarrowing(ctx context.Context, key string, u TaskUpdate) (*Narrowing, error)
	// ApproveNarrowing records the caller's approval for each pending
	// domain they are a member of, and applies the narrowing when none is
	// left. Humans only, independent of the task and not its proposer.
	ApproveNarrowing(ctx context.Context, id int64) (*Narrowing, error)
	ListNarrowings(ctx context.Context, task string) ([]*Narrowing, error)
}

// Columns returns the JSON a store keeps a narrowing's edit, removals and
// approvals in; DecodeJSONColumns reads them back.
func (n *Narrowing) Columns() (edit, removes, approvals string, err error) {
	var b [3][]byte
	for i, v := range []any{n.Update, n.Removes, n.Approvals} {
		if b[i], err = json.Marshal(v); err != nil {
			return "", "", "", err
		}
	}
	return string(b[0]), string(b[1]), string(b[2]), nil
}
