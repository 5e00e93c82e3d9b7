package ledger

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"fairway"
)

// Who may do what. Every authority rule of the ledger lives in this file:
//
//   - Only a human, acting with its own credential and not a session's,
//     approves reviews and waivers, closes or cancels tasks, changes what
//     a gate requires, bootstraps the policy and disables actors (R1).
//   - Only a human creates a human actor or has a human's token issued.
//     A service may create agents and services and issue their tokens.
//     Agents and session credentials create no actors and issue no
//     tokens; anyone may revoke their own tokens.
//   - Only a human, with its own credential, gets a portal login link,
//     and only for itself.
//   - Only a human, with its own credential, binds an actor to an
//     identity provider's issuer and subject; a name in the provider's
//     token never selects an actor.
//   - A reviewer or waiver approver is independent of the task (R2).
//     A token one actor issued for another is a hand-over the issuer
//     could keep: a review, waiver or narrowing approval made with it
//     is, for independence, the issuer's too, and every token issued with it
//     (a rotate, a login link's) stays the issuer's. A human issuing his
//     own token, with a credential of his own, issues it as himself; the
//     first human of a ledger issues his own token. A service issuing an
//     agent's or service's token is recorded as its issuer, which binds
//     no review: neither kind reviews. Binding an identity provider's
//     subject is no hand-over: no credential passes through the binder.
//   - A session is attached with an actor's own credential; it is
//     controlled by its actor, by its own credential only, or by a human
//     or service operating it.

// humanOnly refuses agents, services and any request made with a session
// credential (R1).
func humanOnly(auth *fairway.Auth, by *fairway.Actor, what, hint string) *fairway.Error {
	if s := auth.Session; s != "" {
		return &fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("only a human can %s, and not with a session credential (session %s)", what, s)}
	}
	if !by.IsHuman() {
		msg := fmt.Sprintf("only a human can %s; %s is %s %s", what, by.Name, article(by.Kind), by.Kind)
		if hint != "" {
			msg += ". " + hint
		}
		return &fairway.Error{Code: fairway.EFORBIDDEN, Message: msg}
	}
	return nil
}

// requireHuman refuses, with an audited refusal, anyone but a human acting
// with its own credential.
func (w *write) requireHuman(what, hint string) error {
	if e := humanOnly(w.auth, w.by, what, hint); e != nil {
		return w.refuse(e)
	}
	return nil
}

// requireMayCreate refuses creating an actor of kind by anyone not
// allowed to.
func (w *write) requireMayCreate(kind string) error {
	return w.requireCredentialAuthority("create "+article(kind)+" "+kind+" actor", kind)
}

// requireMayIssueToken refuses issuing a token for target by anyone not
// allowed to.
func (w *write) requireMayIssueToken(target *fairway.Actor) error {
	return w.requireCredentialAuthority("issue a token for "+target.Name+" ("+target.Kind+")", target.Kind)
}

// requireCredentialAuthority is the one rule for creating actors and
// issuing tokens: humans for humans; humans or services for agents and
// services; never an agent, never with a session credential.
func (w *write) requireCredentialAuthority(what, kind string) error {
	if kind == fairway.KindHuman {
		return w.requireHuman(what, "A human's credential carries the authority to approve and close")
	}
	if s := w.auth.Session; s != "" {
		return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("a session credential (session %s) cannot %s; ask a human", s, what)})
	}
	if w.by.Kind == fairway.KindAgent {
		return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("agents cannot %s; ask a human", what)})
	}
	return nil
}

// requireMayLogIn refuses a login link to anyone but a human asking for
// one with its own credential: a link signs a person into the portal,
// where reviews are made.
func (w *write) requireMayLogIn() error {
	if err := w.requireHuman("get a portal login link", "Agents sign in with their own token"); err != nil {
		return err
	}
	// The link's sign-in starts when it is spent, so it could outlive the
	// credential that asked for it.
	if at := w.auth.ExpiresAt; !at.IsZero() {
		return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("the token you act with expires at %s, and a login link would outlive it; ask for one with a token that does not expire (the CLI's, or `fairway token rotate %s` by another human)", at.UTC().Format(time.RFC3339), w.by.Name)})
	}
	return nil
}

// issuedExpiry is when a token this write issues expires: at expires
// (zero: never), but no later than the credential issuing it.
func (w *write) issuedExpiry(expires time.Time) time.Time {
	if at := w.auth.ExpiresAt; !at.IsZero() && (expires.IsZero() || at.Before(expires)) {
		return at
	}
	return expires
}

// requireMayBind refuses binding target to an identity provider's
// subject by anyone but a human acting with its own credential: a
// binding makes that provider's tokens act as target.
func (w *write) requireMayBind(target *fairway.Actor) error {
	return w.requireHuman("bind "+target.Name+" ("+target.Kind+") to an identity", "")
}

// requireMayRevoke refuses revoking target's tokens by anyone but target
// itself or someone who may issue them.
func (w *write) requireMayRevoke(target *fairway.Actor) error {
	if w.by.Name == target.Name && w.auth.Session == "" {
		return nil
	}
	return w.requireCredentialAuthority("revoke the tokens of "+target.Name+" ("+target.Kind+")", target.Kind)
}

// notIndependent maps everyone who may not review a task to why (R2): its
// owner, its creator, whoever asked for the work, everyone who recorded
// its evidence, held a session on it or claimed work on it, and who
// proposed the policy change it carries.
func notIndependent(tx fairway.Tx, task *fairway.Task) (map[string]string, error) {
	out := map[string]string{}
	mark := func(who, why string) {
		if _, seen := out[who]; who != "" && !seen {
			out[who] = why
		}
	}
	mark(task.Owner, "owns the task")
	mark(task.Creator, "created the task")
	mark(task.AssignedBy, "asked for the work")
	recorders, err := tx.EvidenceRecorders(task.Key)
	if err != nil {
		return nil, err
	}
	for _, r := range recorders {
		mark(r, "recorded its evidence")
	}
	sessions, err := tx.Sessions(fairway.SessionFilter{Task: task.Key})
	if err != nil {
		return nil, err
	}
	for _, s := range sessions {
		mark(s.Actor, "held a session on it")
	}
	claims, err := tx.Claims(task.Key)
	if err != nil {
		return nil, err
	}
	for _, c := range claims {
		mark(c.Actor, "claimed work on it")
	}
	// A policy change's proposer wrote what the policy owners judge.
	if p, err := tx.PolicyProposal(task.Key); err == nil {
		mark(p.ProposedBy, "proposed its policy change")
	} else if fairway.ErrorCode(err) != fairway.ENOTFOUND {
		return nil, err
	}
	return out, nil
}

// notIndependentEver is notIndependent plus everyone who ever owned the
// task or assigned it, or proposed a policy change on it, read from its
// audit events: a reassignment must
// not turn the person who did the work, or who asked an agent to do it,
// into its independent reviewer. Writes that approve ask this; the gate,
// reading often, judges recorded reviews by notIndependent (an approval
// by a former owner or assigner was refused when made).
func notIndependentEver(tx fairway.Tx, task *fairway.Task) (map[string]string, error) {
	out, err := notIndependent(tx, task)
	if err != nil {
		return nil, err
	}
	err = eachEventOf(tx, task.Key, func(e *fairway.AuditEvent) {
		// A proposal another replaced was still its proposer's work.
		if _, seen := out[e.Actor]; e.Action == "policy.propose" && !seen {
			out[e.Actor] = "proposed a policy change on it"
		}
		owner, assigner := ownerSetBy(e)
		if _, seen := out[owner]; owner != "" && !seen {
			out[owner] = "owned the task"
		}
		if _, seen := out[assigner]; assigner != "" && !seen {
			out[assigner] = "asked for the work"
		}
	})
	return out, err
}

// eachEventOf calls fn with every audit event of subject, in order, a
// page at a time.
func eachEventOf(tx fairway.Tx, subject string, fn func(*fairway.AuditEvent)) error {
	f := fairway.AuditFilter{Subject: subject, Limit: 1000}
	for {
		events, err := tx.AuditEvents(f)
		if err != nil {
			return err
		}
		for _, e := range events {
			fn(e)
			f.AfterSeq = e.Seq
		}
		if len(events) < f.Limit {
			return nil
		}
	}
}

// ownerSetBy returns the owner a task event left, and who assigned it,
// if it says: a task's creation, an update or take, or an applied
// narrowing's update.
func ownerSetBy(e *fairway.AuditEvent) (owner, assigner string) {
	if !strings.HasPrefix(e.Action, "task.") || strings.HasSuffix(e.Action, ".refused") {
		return "", ""
	}
	var change struct {
		Owner      string `json:"owner"`       // task.create: the task itself
		AssignedBy string `json:"assigned_by"` // task.create
		Task       any    `json:"task"`        // others: the task as the event left it
	}
	if json.Unmarshal(e.Change, &change) != nil {
		return "", ""
	}
	if t, ok := change.Task.(map[string]any); ok {
		owner, _ = t["owner"].(string)
		assigner, _ = t["assigned_by"].(string)
		return owner, assigner
	}
	return change.Owner, change.AssignedBy
}

// issuer is who a token this write issues is issued by: the issuer of
// the credential the write is made with when another actor issued it
// (so a hand-over cannot be laundered by a rotate or a login link), or
// else the acting actor.
func (w *write) issuer() string {
	if v := w.vouchedBy(); v != "" {
		return v
	}
	if w.by == nil {
		return ""
	}
	return w.by.Name
}

// vouchedBy is the actor other than the acting one who issued the token
// the write is made with, or "": that actor could hold it.
func (w *write) vouchedBy() string {
	if w.token == nil || w.by == nil || w.token.Actor != w.by.Name {
		return ""
	}
	return w.token.Vouched()
}

// credentialID is the id of the bearer credential the write is made
// with, which a token it issues records: ending that credential's
// sign-in ends what it issued.
func (w *write) credentialID() string {
	if w.auth.TokenID != "" {
		return w.auth.TokenID
	}
	return w.auth.CredentialID
}

// reviewPrincipals are the actors a review stands for (R2): its reviewer
// and, when it was made with a token another actor issued, that actor.
func reviewPrincipals(rv *fairway.Review) []string {
	if rv.TokenIssuedBy != "" && rv.TokenIssuedBy != rv.Reviewer {
		return []string{rv.Reviewer, rv.TokenIssuedBy}
	}
	return []string{rv.Reviewer}
}

// notIndependentReview says why a review is not independent of a task
// whose excluded actors are given, or "" when it is: its reviewer, or
// the issuer of the token it was made with, is excluded.
func notIndependentReview(rv *fairway.Review, excluded map[string]string) string {
	if why := excluded[rv.Reviewer]; why != "" {
		return why
	}
	if v := rv.TokenIssuedBy; v != "" && v != rv.Reviewer {
		if why := excluded[v]; why != "" {
			return "acts with a token issued by " + v + ", who " + why
		}
	}
	return ""
}

// distinctApprovers counts the people a set of approvals proves at
// least: the approvals of one reviewer are one, and a reviewer who
// approved with a token another actor issued is one with that actor,
// since either could have made both. Each group is named by its members.
func distinctApprovers(approvals []*fairway.Review) []string {
	parent := map[string]string{}
	var find func(string) string
	find = func(a string) string {
		if p, ok := parent[a]; ok && p != a {
			r := find(p)
			parent[a] = r
			return r
		}
		parent[a] = a
		return a
	}
	for _, rv := range approvals {
		ps := reviewPrincipals(rv)
		root := find(ps[0])
		for _, p := range ps[1:] {
			if r := find(p); r != root {
				if r < root {
					root, r = r, root
				}
				parent[r] = root
			}
		}
	}
	groups := map[string][]string{}
	for a := range parent {
		r := find(a)
		groups[r] = append(groups[r], a)
	}
	var out []string
	for _, members := range groups {
		sort.Strings(members)
		out = append(out, strings.Join(members, "+"))
	}
	sort.Strings(out)
	return out
}

func article(kind string) string {
	if kind == fairway.KindAgent {
		return "an"
	}
	return "a"
}

// requireMayAttach refuses attaching a session with a session
// credential: a session does not start sessions; its actor does.
func (w *write) requireMayAttach() error {
	if s := w.auth.Session; s != "" {
		return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("a session credential (session %s) cannot attach a session; attach with the actor's own credential", s)})
	}
	return nil
}

// requireSessionControl refuses heartbeating, detaching or observing a
// session by anyone but its own actor, or a human or service acting with
// its own credential (an operator, or the adapter that runs it). A
// session credential controls only its own session.
func (w *write) requireSessionControl(s *fairway.Session) error {
	if id := w.auth.Session; id != "" {
		if id != s.ID {
			return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("the credential of session %s cannot act on session %s", id, s.ID)})
		}
		return nil
	}
	if w.by.Name == s.Actor || w.by.Kind == fairway.KindHuman || w.by.Kind == fairway.KindService {
		return nil
	}
	return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf("session %s belongs to %s; %s (%s) cannot act on it", s.ID, s.Actor, w.by.Name, w.by.Kind)})
}

// onTask is called by every write to a task, before it writes. It keeps
// two rules of sessions (R10): a session credential writes to its own
// task only; and a task held by a live session takes an agent's writes
// only through that session, so an agent whose session was replaced or
// expired cannot go on with its plain token.
func (w *write) onTask(key string) error {
	w.taskScoped = true
	if w.session != nil {
		if w.session.Task != key {
			return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf(
				"session %s works on task %s; its credential cannot write to %s", w.session.ID, w.session.Task, key)})
		}
		return nil
	}
	if w.by == nil || w.by.Kind != fairway.KindAgent {
		return nil
	}
	held, err := w.tx.Sessions(fairway.SessionFilter{Task: key, State: fairway.SessionAttached})
	if err != nil {
		return err
	}
	for _, s := range held {
		if s.Live(w.now) {
			return w.refuse(&fairway.Error{Code: fairway.EFORBIDDEN, Message: fmt.Sprintf(
				"task %s is held by session %s of %s: an agent writes to it only through that session (--session %s with its credential)", key, s.ID, s.Actor, s.ID)})
		}
	}
	return nil
}
