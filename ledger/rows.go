package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"fairway"
)

// rowWitness reads the audit log for the last state each row the gate
// reads was written with: tasks (every event that changes one carries the
// task it leaves), reviews, waivers, evidence records and dependency
// edges. audit verify then compares the tables with it, so a row edited
// behind the ledger's back is found even when the log itself is intact
// (R8: every row the gate reads is derivable from the event that wrote
// it).
type rowWitness struct {
	tasks    map[string]witnessed
	reviews  map[int64]witnessed
	waivers  map[int64]witnessed
	evidence map[string]witnessed
	// scope holds scope checks and acknowledgements by ID.
	scope map[int64]witnessed
	// deps holds the edges the log leaves, blocked → blocker → the event
	// that added it.
	deps map[string]map[string]int64
	// actors holds each actor's kind, disabled state and identity as the
	// log left them; tokens the hashes of the live tokens it issued (nil
	// when an event issued one without naming its hash: an older log).
	actors map[string]*witnessedActor
	// active is the digest of the policy the log last put in force.
	active    string
	activeSeq int64
	// sessions follows each session from its attach event; claims holds
	// each claim as its event wrote it. An event that did not name its
	// row (an older log) makes the rows it wrote unknowable.
	sessions           map[string]*witnessedSession
	sessionsUnknowable bool
	claims             map[int64]witnessed
	claimsUnknowable   bool
	// deploys follows each deploy-run from its start event through its
	// stage moves and rollback decision: the gate reads how a run ended.
	deploys           map[int64]*witnessedDeploy
	deploysUnknowable bool
	// proofs holds each task's proof chain as its evidence events leave
	// it: approvals are bound to it (R4), so a chain rolled back behind
	// the ledger would revive a stale approval.
	proofs           map[string]witnessedProof
	proofsUnknowable bool
	// narrowings follows each narrowing from its proposal through each
	// approval (by the event's actor, for the domains it names) to its
	// application: an approval slipped into the row would apply a
	// narrowing that a losing domain never approved.
	narrowings           map[int64]*witnessedNarrowing
	narrowingsUnknowable bool
	// links holds the login links the log issued and not yet spent, by
	// hash; spent lists what a redemption's event says it spent that no
	// link event issued (a link written into the store would otherwise
	// launder a token through a genuine redemption).
	links map[string]*issuedLink
	spent []rowProblem
}

// witnessedNarrowing is a narrowing as the log leaves it.
type witnessedNarrowing struct {
	seq, proposeSeq int64
	n               fairway.Narrowing
}

// witnessedProof is a task's proof chain and the event that last
// extended it.
type witnessedProof struct {
	seq   int64
	count int
	chain string
}

// witnessedDeploy is a deploy-run as the log leaves it, and the last
// event that changed it.
type witnessedDeploy struct {
	seq, startSeq int64
	run           fairway.DeployRun
}

// witnessedSession is a session as the log leaves it: what its attach
// event wrote, which never changes, and its state and lease, which later
// events change.
type witnessedSession struct {
	seq                 int64 // the last event that changed it
	attachSeq           int64
	task, actor, kind   string
	generation          int64
	tokenID             string
	credentialExpiresAt time.Time
	state               string
	leaseUntil          time.Time
	// credentialHash is the hash of the session's credential, as its
	// attach event states it ("" for an event that did not say).
	credentialHash string
}

type witnessedActor struct {
	seq              int64
	kind             string
	disabled         bool
	issuer, subject  string
	tokens           map[string]time.Time // hash → expiry, zero for none
	tokensUnknowable bool
	// issuedBy is who issued each live token, by token id, as its event
	// says; a token whose event is older than that record is absent.
	issuedBy map[string]string
}

// taskChanging are the actions that change a task row.
var taskChanging = map[string]bool{"task.update": true, "task.transition": true, "task.close": true, "task.cancel": true, "task.narrow": true, "task.take": true}

// witnessed is a row as an event wrote it; row is nil when the event did
// not say (a log older than row witnesses).
type witnessed struct {
	seq int64
	row json.RawMessage
}

func newRowWitness() *rowWitness {
	return &rowWitness{tasks: map[string]witnessed{}, reviews: map[int64]witnessed{}, waivers: map[int64]witnessed{},
		evidence: map[string]witnessed{}, scope: map[int64]witnessed{}, deps: map[string]map[string]int64{}, actors: map[string]*witnessedActor{},
		sessions: map[string]*witnessedSession{}, claims: map[int64]witnessed{}, deploys: map[int64]*witnessedDeploy{},
		proofs: map[string]witnessedProof{}, narrowings: map[int64]*witnessedNarrowing{}, links: map[string]*issuedLink{}}
}

// add reads one event.
func (r *rowWitness) add(e *fairway.AuditEvent) {
	if strings.HasSuffix(e.Action, ".refused") {
		return
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(e.Change, &body) != nil {
		return
	}
	if t, ok := body["task"]; ok && bytes.HasPrefix(bytes.TrimSpace(t), []byte("{")) {
		var key struct {
			Key string `json:"key"`
		}
		if json.Unmarshal(t, &key) == nil && key.Key != "" {
			r.tasks[key.Key] = witnessed{e.Seq, t}
		}
	}
	id := func() (int64, bool) {
		var v struct {
			ID int64 `json:"id"`
		}
		err := json.Unmarshal(e.Change, &v)
		return v.ID, err == nil && v.ID != 0
	}
	r.addActor(e)
	r.addSession(e)
	r.addDeploy(e)
	r.addNarrowing(e)
	if e.Action == "policy.bootstrap" || e.Action == "policy.activate" {
		var v struct {
			Digest string `json:"digest"`
		}
		if json.Unmarshal(e.Change, &v) == nil {
			r.active, r.activeSeq = v.Digest, e.Seq
		}
	}
	switch {
	case e.Action == "task.create" && body["task"] == nil:
		r.tasks[e.Subject] = witnessed{e.Seq, e.Change}
	case taskChanging[e.Action] && body["task"] == nil:
		// Written before events carried the task they leave: the row
		// cannot be checked until a later event states it.
		r.tasks[e.Subject] = witnessed{seq: e.Seq}
	case strings.HasPrefix(e.Action, "review."):
		if n, ok := id(); ok {
			r.reviews[n] = witnessed{e.Seq, e.Change}
		}
	case e.Action == "waiver.request" || e.Action == "waiver.approve":
		if n, ok := id(); ok {
			r.waivers[n] = witnessed{e.Seq, e.Change}
		}
	case e.Action == "evidence.add":
		var v struct {
			ID     string `json:"id"`
			Kind   string `json:"kind"`
			Digest string `json:"digest"`
		}
		if json.Unmarshal(e.Change, &v) == nil && v.ID != "" {
			r.evidence[v.ID] = witnessed{e.Seq, e.Change}
		}
		switch ev := (&fairway.Evidence{ID: v.ID, Kind: v.Kind, Digest: v.Digest}); {
		case v.ID == "" || v.Kind == "" || v.Digest == "":
			r.proofsUnknowable = true
		case fairway.CountsAsProof(ev):
			p := r.proofs[e.Subject]
			r.proofs[e.Subject] = witnessedProof{seq: e.Seq, count: p.count + 1, chain: fairway.ChainProof(p.chain, ev)}
		}
	case e.Action == "scope.check" || e.Action == "scope.acknowledge":
		var v struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal(body["scope"], &v) == nil && v.ID != 0 {
			r.scope[v.ID] = witnessed{e.Seq, body["scope"]}
		}
	case e.Action == "claim.add":
		if n, ok := id(); ok {
			r.claims[n] = witnessed{e.Seq, e.Change}
		} else {
			r.claimsUnknowable = true
		}
	case e.Action == "dependency.add" || e.Action == "dependency.remove":
		var v struct{ Blocked, Blocker string }
		if json.Unmarshal(e.Change, &v) != nil {
			return
		}
		if e.Action == "dependency.add" {
			if r.deps[v.Blocked] == nil {
				r.deps[v.Blocked] = map[string]int64{}
			}
			r.deps[v.Blocked][v.Blocker] = e.Seq
		} else {
			delete(r.deps[v.Blocked], v.Blocker)
		}
	case e.Action == "task.narrow":
		var v struct {
			Update fairway.TaskUpdate `json:"update"`
		}
		if json.Unmarshal(e.Change, &v) == nil {
			for _, b := range v.Update.RemoveBlockers {
				delete(r.deps[e.Subject], b)
			}
		}
	}
}

// addActor follows an actor's life through its events.
func (r *rowWitness) addActor(e *fairway.AuditEvent) {
	var v struct {
		Actor       json.RawMessage `json:"actor"`
		TokenIssued bool            `json:"token_issued"`
		TokenHash   string          `json:"token_hash"`
		TokenID     string          `json:"token_id"`
		Expires     time.Time       `json:"token_expires_at"`
		Issuer      string          `json:"issuer"`
		Subject     string          `json:"subject"`
		IssuedBy    *string         `json:"token_issued_by"`
		LinkHash    string          `json:"link_hash"`
	}
	switch e.Action {
	case "login.link":
		if l := readIssuedLink(e); l != nil {
			r.links[l.hash] = &l.issuedLink
		}
		return
	case "actor.create", "actor.disable", "actor.bind", "token.rotate", "token.revoke", "token.revoke.one", "token.signout", "login.redeem":
	default:
		return
	}
	if json.Unmarshal(e.Change, &v) != nil {
		return
	}
	if e.Action == "actor.create" {
		var a fairway.Actor
		if json.Unmarshal(v.Actor, &a) != nil {
			return
		}
		w := &witnessedActor{seq: e.Seq, kind: a.Kind, issuer: a.Issuer, subject: a.Subject, tokens: map[string]time.Time{}, issuedBy: map[string]string{}}
		r.actors[a.Name] = w
		r.issue(w, v.TokenIssued, v.TokenHash, v.Expires, v.IssuedBy)
		return
	}
	var name string
	if json.Unmarshal(v.Actor, &name) != nil {
		return
	}
	w := r.actors[name]
	if w == nil {
		return
	}
	w.seq = e.Seq
	switch e.Action {
	case "actor.disable":
		w.disabled, w.tokens = true, map[string]time.Time{}
	case "actor.bind":
		w.issuer, w.subject = v.Issuer, v.Subject
	case "token.rotate":
		w.tokens = map[string]time.Time{}
		w.tokensUnknowable = false
		r.issue(w, v.TokenIssued, v.TokenHash, v.Expires, v.IssuedBy)
	case "token.revoke":
		w.tokens, w.tokensUnknowable = map[string]time.Time{}, false
	case "token.revoke.one", "token.signout":
		for h := range w.tokens {
			if fairway.TokenID(h) == v.TokenID {
				delete(w.tokens, h)
			}
		}
	case "login.redeem":
		r.redeem(e, name, v.LinkHash, v.Expires, v.IssuedBy)
		r.issue(w, v.TokenIssued, v.TokenHash, v.Expires, v.IssuedBy)
	}
}

// addSession follows a session through its events: attached with the
// row its attach event states, its lease renewed by heartbeats, and ended
// (replaced, detached, interrupted or expired) by the event that says so.
func (r *rowWitness) addSession(e *fairway.AuditEvent) {
	if !strings.HasPrefix(e.Action, "session.") {
		return
	}
	if e.Action == "session.attach" {
		var s struct {
			fairway.Session
			CredentialHash string `json:"credential_hash"`
		}
		if json.Unmarshal(e.Change, &s) != nil || s.ID == "" || s.Task == "" || s.Actor == "" || s.State == "" {
			r.sessionsUnknowable = true
			return
		}
		r.sessions[s.ID] = &witnessedSession{seq: e.Seq, attachSeq: e.Seq, task: s.Task, actor: s.Actor, kind: s.ActorKind, generation: s.Generation,
			tokenID: s.TokenID, credentialExpiresAt: s.CredentialExpiresAt, state: s.State, leaseUntil: s.LeaseUntil, credentialHash: s.CredentialHash}
		return
	}
	var v struct {
		Session             string     `json:"session"`
		State               string     `json:"state"`
		LeaseUntil          *time.Time `json:"lease_until"`
		CredentialExpiresAt *time.Time `json:"credential_expires_at"`
	}
	if json.Unmarshal(e.Change, &v) != nil {
		return
	}
	w := r.sessions[v.Session]
	if w == nil {
		return
	}
	switch {
	case e.Action == "session.heartbeat" && v.LeaseUntil != nil:
		w.leaseUntil = *v.LeaseUntil
	case e.Action == "session.replace":
		w.state = fairway.SessionReplaced
	case v.State != "":
		w.state = v.State
		if v.CredentialExpiresAt != nil {
			w.credentialExpiresAt = *v.CredentialExpiresAt
		}
	case e.Action == "session.detach":
		w.state = fairway.SessionDetached
	default:
		return
	}
	w.seq = e.Seq
}

// addDeploy follows a deploy-run through its events: started with the
// run its start event states, each stage as its move wrote it (the run
// finishing with its follow-up stage), and a decision not to roll back.
func (r *rowWitness) addDeploy(e *fairway.AuditEvent) {
	switch e.Action {
	case "deploy.start":
		var run fairway.DeployRun
		if json.Unmarshal(e.Change, &run) != nil || run.ID == 0 || run.Task == "" || run.State == "" {
			r.deploysUnknowable = true
			return
		}
		r.deploys[run.ID] = &witnessedDeploy{seq: e.Seq, startSeq: e.Seq, run: run}
	case "deploy.stage":
		var v struct {
			Run       int64                `json:"run"`
			Stage     *fairway.DeployStage `json:"stage"`
			State     string               `json:"state"`
			FollowUps []string             `json:"follow_ups"`
		}
		if json.Unmarshal(e.Change, &v) != nil || v.Stage == nil {
			r.deploysUnknowable = true
			return
		}
		w := r.deploys[v.Run]
		if w == nil {
			return
		}
		st := w.run.Stage(v.Stage.Name)
		if st == nil {
			r.deploysUnknowable = true
			return
		}
		*st = *v.Stage
		w.run.State = v.State
		if v.State != fairway.DeployRunning && w.run.FinishedAt.IsZero() {
			w.run.FinishedAt = v.Stage.At
		}
		w.run.FollowUps = append(w.run.FollowUps, v.FollowUps...)
		w.seq = e.Seq
	case "deploy.no-rollback":
		var v struct {
			Run      int64             `json:"run"`
			Decision *fairway.Decision `json:"decision"`
		}
		if json.Unmarshal(e.Change, &v) != nil || v.Decision == nil {
			r.deploysUnknowable = true
			return
		}
		if w := r.deploys[v.Run]; w != nil {
			w.run.NoRollback, w.seq = v.Decision, e.Seq
		}
	}
}

// addNarrowing follows a narrowing through its events.
func (r *rowWitness) addNarrowing(e *fairway.AuditEvent) {
	switch e.Action {
	case "task.narrow.propose":
		var n fairway.Narrowing
		if json.Unmarshal(e.Change, &n) != nil || n.ID == 0 || n.Task == "" || n.State == "" {
			r.narrowingsUnknowable = true
			return
		}
		r.narrowings[n.ID] = &witnessedNarrowing{seq: e.Seq, proposeSeq: e.Seq, n: n}
	case "task.narrow.approve", "task.narrow":
		var v struct {
			Narrowing int64    `json:"narrowing"`
			Domains   []string `json:"domains"`
		}
		if json.Unmarshal(e.Change, &v) != nil || v.Narrowing == 0 {
			r.narrowingsUnknowable = true
			return
		}
		w := r.narrowings[v.Narrowing]
		if w == nil {
			return
		}
		if e.Action == "task.narrow" {
			w.n.State, w.n.AppliedAt = fairway.NarrowingApplied, e.At
		} else {
			for _, d := range v.Domains {
				w.n.Approvals = append(w.n.Approvals, fairway.NarrowingReview{Domain: d, By: e.Actor, At: e.At})
			}
		}
		w.seq = e.Seq
	}
}

// checkNarrowings compares narrowings with the log: an approval slipped
// in, a narrowing's edit or what it removes rewritten, one deleted.
func (r *rowWitness) checkNarrowings(tx fairway.Tx, differs func(int64, string, ...any)) error {
	if r.narrowingsUnknowable {
		return nil
	}
	list, err := tx.Narrowings("")
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	for _, n := range list {
		seen[n.ID] = true
		w := r.narrowings[n.ID]
		if w == nil {
			differs(0, "narrowing %d of %s is in the store but no audit event proposed it", n.ID, n.Task)
			continue
		}
		a, err1 := fairway.CanonicalJSON(&w.n)
		b, err2 := fairway.CanonicalJSON(n)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			differs(w.seq, "narrowing %d of %s differs from what the audit log left (its edit, what it removes, its approvals or state): it was changed outside the ledger", n.ID, n.Task)
		}
	}
	for id, w := range r.narrowings {
		if !seen[id] {
			differs(w.proposeSeq, "narrowing %d of %s was proposed by event %d but is not in the store: it was deleted outside the ledger", id, w.n.Task, w.proposeSeq)
		}
	}
	return nil
}

// checkDeploys compares deploy-runs with the log: a run slipped in or
// deleted, a failed run or stage turned passed, its evidence swapped.
func (r *rowWitness) checkDeploys(tx fairway.Tx, differs func(int64, string, ...any)) error {
	if r.deploysUnknowable {
		return nil
	}
	runs, err := tx.DeployRuns(fairway.DeployFilter{})
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	for _, run := range runs {
		seen[run.ID] = true
		w := r.deploys[run.ID]
		if w == nil {
			differs(0, "deploy-run %d of %s is in the store but no audit event started it", run.ID, run.Task)
			continue
		}
		a, err1 := fairway.CanonicalJSON(&w.run)
		b, err2 := fairway.CanonicalJSON(run)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			differs(w.seq, "deploy-run %d of %s differs from what the audit log left (its stages, state, evidence or decision): it was changed outside the ledger", run.ID, run.Task)
		}
	}
	for id, w := range r.deploys {
		if !seen[id] {
			differs(w.startSeq, "deploy-run %d of %s was started by event %d but is not in the store: it was deleted outside the ledger", id, w.run.Task, w.startSeq)
		}
	}
	return nil
}

// checkSessions compares sessions with the log: a session slipped in or
// deleted, given to another actor or generation, cut from the token whose
// revocation ends it, revived, or its lease stretched.
func (r *rowWitness) checkSessions(tx fairway.Tx, differs func(int64, string, ...any)) error {
	if r.sessionsUnknowable {
		return nil
	}
	sessions, err := tx.Sessions(fairway.SessionFilter{})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, s := range sessions {
		seen[s.ID] = true
		w := r.sessions[s.ID]
		if w == nil {
			differs(0, "session %s is in the store but no audit event attached it", s.ID)
			continue
		}
		if s.Task != w.task || s.Actor != w.actor || (w.kind != "" && s.ActorKind != w.kind) || s.Generation != w.generation || s.TokenID != w.tokenID ||
			!s.CredentialExpiresAt.Equal(w.credentialExpiresAt) || s.State != w.state || !s.LeaseUntil.Equal(w.leaseUntil) {
			differs(w.seq, "session %s differs from what the audit log left (task, actor, generation, attaching token, credential expiry, state or lease): it was changed outside the ledger", s.ID)
		}
		if w.credentialHash != "" {
			// A credential swapped in the row would act as the session.
			held, err := tx.SessionByTokenHash(w.credentialHash)
			switch code := fairway.ErrorCode(err); {
			case err == nil && held.ID == s.ID:
			case err == nil || code == fairway.EUNAUTHORIZED || code == fairway.ENOTFOUND:
				differs(w.attachSeq, "session %s no longer holds the credential its attach event %d issued: it was changed outside the ledger", s.ID, w.attachSeq)
			default:
				return err
			}
		}
	}
	for id, w := range r.sessions {
		if !seen[id] {
			differs(w.attachSeq, "session %s was attached by event %d but is not in the store: it was deleted outside the ledger", id, w.attachSeq)
		}
	}
	return nil
}

// redeem checks a redemption against the link event that issued it: a
// link no event issued, issued for someone else, spent after its life or
// twice, or minting a sign-in longer or of another issuer than it said.
func (r *rowWitness) redeem(e *fairway.AuditEvent, actor, hash string, expires time.Time, issuedBy *string) {
	if hash == "" {
		return
	}
	l := r.links[hash]
	delete(r.links, hash)
	by := ""
	if issuedBy != nil {
		by = *issuedBy
	}
	reason := ""
	switch {
	case l == nil:
		reason = "no login.link event issued it (or it was spent before)"
	case l.actor != actor:
		reason = fmt.Sprintf("event %d issued it for %s", l.seq, l.actor)
	case !e.At.Before(l.expiresAt):
		reason = fmt.Sprintf("event %d issued it until %s", l.seq, l.expiresAt.UTC().Format(time.RFC3339))
	case !expires.IsZero() && expires.After(e.At.Add(l.sessionTTL)):
		reason = fmt.Sprintf("event %d issued it for a sign-in of %s, and the token lasts until %s", l.seq, l.sessionTTL, expires.UTC().Format(time.RFC3339))
	case l.issuedBy != "" && issuedBy != nil && by != l.issuedBy:
		reason = fmt.Sprintf("event %d issued it by %s, and the token says %s", l.seq, l.issuedBy, by)
	}
	if reason != "" {
		r.spent = append(r.spent, rowProblem{e.Seq, fmt.Sprintf("event %d signed %s in with a login link that %s: the link was written or changed in the store behind the ledger's back", e.Seq, actor, reason)})
	}
}

func (r *rowWitness) issue(w *witnessedActor, issued bool, hash string, expires time.Time, issuedBy *string) {
	switch {
	case hash != "":
		w.tokens[hash] = expires
		if issuedBy != nil {
			w.issuedBy[fairway.TokenID(hash)] = *issuedBy
		}
	case issued:
		w.tokensUnknowable = true
	}
}

// checkActors compares actors and their live tokens with the log: a kind
// turned human, a disabled actor enabled again, a token slipped in.
func (r *rowWitness) checkActors(tx fairway.Tx, differs func(int64, string, ...any)) error {
	actors, err := tx.Actors()
	if err != nil {
		return err
	}
	for _, a := range actors {
		w := r.actors[a.Name]
		if w == nil {
			differs(0, "actor %s is in the store but no audit event created it", a.Name)
			continue
		}
		if a.Kind != w.kind || a.Disabled() != w.disabled || a.Issuer != w.issuer || a.Subject != w.subject {
			differs(w.seq, "actor %s differs from what the audit log left (kind, disabled state or identity): it was changed outside the ledger", a.Name)
		}
		if w.tokensUnknowable {
			continue
		}
		live, err := tx.LiveTokens(a.Name)
		if err != nil {
			return err
		}
		for h, expires := range live {
			issued, ok := w.tokens[h]
			if !ok {
				differs(0, "actor %s has a live token that no audit event issued", a.Name)
				break
			}
			if !expires.Equal(issued) {
				differs(0, "actor %s has token %s whose expiry differs from what its audit event issued: it was changed outside the ledger", a.Name, fairway.TokenID(h))
				break
			}
		}
		if len(w.issuedBy) == 0 {
			continue
		}
		tokens, err := tx.Tokens(a.Name)
		if err != nil {
			return err
		}
		for _, k := range tokens {
			if by, ok := w.issuedBy[k.ID]; ok && k.IssuedBy != by {
				differs(0, "actor %s has token %s whose issuer (%s) differs from what its audit event issued (%s): it was changed outside the ledger", a.Name, k.ID, k.IssuedBy, by)
				break
			}
		}
	}
	return nil
}

// checkEvidence compares an evidence record with the event that wrote it.
func (r *rowWitness) checkEvidence(ev *fairway.Evidence, differs func(int64, string, ...any)) {
	w, ok := r.evidence[ev.ID]
	if !ok {
		differs(0, "evidence %s is in the store but no audit event wrote it", ev.ID)
		return
	}
	var got struct {
		Kind, Digest, Supersedes string
		Size                     int64
		Record                   string
	}
	same := json.Unmarshal(w.row, &got) == nil && got.Kind == ev.Kind && got.Digest == ev.Digest && got.Size == ev.Size && got.Supersedes == ev.Supersedes
	if got.Record != "" {
		same = same && got.Record == recordDigest(ev)
	} else {
		// An event older than record digests: the ID is a digest of
		// the record too, if a shorter one.
		same = same && evidenceID(withoutID(ev)) == ev.ID
	}
	if !same {
		differs(w.seq, "evidence %s differs from what event %d wrote: it was changed outside the ledger", ev.ID, w.seq)
	}
}

// checkReview compares a review with the event that wrote it.
func (r *rowWitness) checkReview(rv *fairway.Review, differs func(int64, string, ...any)) {
	if w, ok := r.reviews[rv.ID]; !ok {
		differs(0, "review %d of %s is in the store but no audit event wrote it", rv.ID, rv.Task)
	} else if !sameRow(w.row, rv, new(fairway.Review)) {
		differs(w.seq, "review %d of %s differs from what event %d wrote: it was changed outside the ledger", rv.ID, rv.Task, w.seq)
	}
}

// taskRowProblem compares what closing a task judges of it (its reviews,
// its evidence records and the proof chain its approvals are bound to)
// with the task's own events, which wrote them: a review or a record
// written or changed in the store behind the ledger's back closes
// nothing (R3, R8). nil when they agree. It reads the task's events
// only; audit verify checks everything.
func taskRowProblem(tx fairway.Tx, key string) (*rowProblem, error) {
	r := newRowWitness()
	if err := eachEventOf(tx, key, r.add); err != nil {
		return nil, err
	}
	var problems []rowProblem
	differs := func(seq int64, format string, args ...any) {
		problems = append(problems, rowProblem{seq, fmt.Sprintf(format, args...)})
	}
	reviews, err := tx.Reviews(key)
	if err != nil {
		return nil, err
	}
	for _, rv := range reviews {
		r.checkReview(rv, differs)
	}
	evidence, err := tx.EvidenceList(fairway.EvidenceFilter{Task: key})
	if err != nil {
		return nil, err
	}
	for _, ev := range evidence {
		r.checkEvidence(ev, differs)
	}
	if !r.proofsUnknowable {
		n, chain, err := tx.ProofChain(key)
		if err != nil {
			return nil, err
		}
		if p := r.proofs[key]; n != p.count || chain != p.chain {
			differs(p.seq, "the proof chain of %s (%d records) is not the one its evidence events leave (%d records): it was changed outside the ledger, which would make a stale approval count again", key, n, p.count)
		}
	}
	if len(problems) == 0 {
		return nil, nil
	}
	return &problems[0], nil
}

// rowProblem is a row that differs from what the log says wrote it.
type rowProblem struct {
	seq     int64
	problem string
}

// check compares the tables with the log and returns the first row that
// differs, or nil.
func (r *rowWitness) check(tx fairway.Tx) (*rowProblem, error) {
	tasks, err := tx.Tasks(fairway.TaskFilter{})
	if err != nil {
		return nil, err
	}
	problems := slices.Clone(r.spent)
	differs := func(seq int64, format string, args ...any) {
		problems = append(problems, rowProblem{seq, fmt.Sprintf(format, args...)})
	}
	seenClaims := map[int64]bool{}
	for _, t := range tasks {
		w, ok := r.tasks[t.Key]
		if !ok {
			differs(0, "task %s is in the store but no audit event wrote it", t.Key)
			continue
		}
		if w.row != nil && !sameRow(w.row, t, new(fairway.Task)) {
			differs(w.seq, "task %s differs from what event %d wrote: it was changed outside the ledger", t.Key, w.seq)
		}
		reviews, err := tx.Reviews(t.Key)
		if err != nil {
			return nil, err
		}
		for _, rv := range reviews {
			r.checkReview(rv, differs)
		}
		scope, err := tx.ScopeRecords(t.Key)
		if err != nil {
			return nil, err
		}
		for _, sr := range scope {
			if w, ok := r.scope[sr.ID]; !ok {
				differs(0, "scope record %d of %s is in the store but no audit event wrote it", sr.ID, t.Key)
			} else if !sameRow(w.row, sr, new(fairway.ScopeRecord)) {
				differs(w.seq, "scope record %d of %s differs from what event %d wrote: it was changed outside the ledger", sr.ID, t.Key, w.seq)
			}
		}
		claims, err := tx.Claims(t.Key)
		if err != nil {
			return nil, err
		}
		for _, c := range claims {
			seenClaims[c.ID] = true
			if w, ok := r.claims[c.ID]; !ok {
				if !r.claimsUnknowable {
					differs(0, "claim %d of %s is in the store but no audit event wrote it", c.ID, t.Key)
				}
			} else if !sameRow(w.row, c, new(fairway.Claim)) {
				differs(w.seq, "claim %d of %s differs from what event %d wrote: it was changed outside the ledger", c.ID, t.Key, w.seq)
			}
		}
		if !r.proofsUnknowable {
			n, chain, err := tx.ProofChain(t.Key)
			if err != nil {
				return nil, err
			}
			if p := r.proofs[t.Key]; n != p.count || chain != p.chain {
				differs(p.seq, "the proof chain of %s (%d records) is not the one its evidence events leave (%d records): it was changed outside the ledger, which would make a stale approval count again", t.Key, n, p.count)
			}
		}
		blockers, err := tx.Blockers(t.Key)
		if err != nil {
			return nil, err
		}
		want := make([]string, 0, len(r.deps[t.Key]))
		for b := range r.deps[t.Key] {
			want = append(want, b)
		}
		slices.Sort(want)
		slices.Sort(blockers)
		if !slices.Equal(want, blockers) {
			differs(0, "the dependencies of %s (%v) are not the ones the audit log left (%v)", t.Key, blockers, want)
		}
	}
	waivers, err := tx.Waivers("", "")
	if err != nil {
		return nil, err
	}
	for _, wv := range waivers {
		if w, ok := r.waivers[wv.ID]; !ok {
			differs(0, "waiver %d is in the store but no audit event wrote it", wv.ID)
		} else if !sameRow(w.row, wv, new(fairway.Waiver)) {
			differs(w.seq, "waiver %d differs from what event %d wrote: it was changed outside the ledger", wv.ID, w.seq)
		}
	}
	evidence, err := tx.EvidenceList(fairway.EvidenceFilter{})
	if err != nil {
		return nil, err
	}
	for _, ev := range evidence {
		r.checkEvidence(ev, differs)
	}
	for id, w := range r.claims {
		if !seenClaims[id] {
			var c fairway.Claim
			_ = json.Unmarshal(w.row, &c)
			differs(w.seq, "claim %d of %s was written by event %d but is not in the store: it was deleted outside the ledger", id, c.Task, w.seq)
		}
	}
	if err := r.checkActors(tx, differs); err != nil {
		return nil, err
	}
	if err := r.checkSessions(tx, differs); err != nil {
		return nil, err
	}
	if err := r.checkDeploys(tx, differs); err != nil {
		return nil, err
	}
	if err := r.checkNarrowings(tx, differs); err != nil {
		return nil, err
	}
	// The policy in force is the one the log put in force, and its source
	// still hashes to its digest: every gate decision is stamped with it.
	if rec, err := tx.ActivePolicy(); err == nil {
		sum := sha256.Sum256([]byte(rec.Source))
		if rec.Digest != r.active || "sha256:"+hex.EncodeToString(sum[:]) != rec.Digest {
			differs(r.activeSeq, "the policy in force (%s) is not the one the audit log put in force, or its source no longer hashes to its digest: it was changed outside the ledger", rec.Digest)
		}
	} else if fairway.ErrorCode(err) != fairway.ENOTFOUND {
		return nil, err
	} else if r.active != "" {
		differs(r.activeSeq, "no policy is in force, but the audit log put %s in force", r.active)
	}
	if len(problems) == 0 {
		return nil, nil
	}
	// The earliest event that wrote a changed row names the problem; a
	// row no event wrote is reported after those.
	slices.SortStableFunc(problems, func(a, b rowProblem) int {
		switch {
		case a.seq == b.seq:
			return 0
		case a.seq == 0:
			return 1
		case b.seq == 0:
			return -1
		case a.seq < b.seq:
			return -1
		}
		return 1
	})
	return &problems[0], nil
}

// sameRow reports whether a row equals what an event wrote: both read as
// the row's type, then compared in canonical JSON, so field order and
// omitted zero values do not matter.
func sameRow[T any](written json.RawMessage, row T, fresh T) bool {
	if json.Unmarshal(written, fresh) != nil {
		return false
	}
	a, err1 := fairway.CanonicalJSON(fresh)
	b, err2 := fairway.CanonicalJSON(row)
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}

func withoutID(e *fairway.Evidence) *fairway.Evidence {
	c := *e
	c.ID = ""
	return &c
}
