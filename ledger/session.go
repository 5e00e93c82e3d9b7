package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"fairway"
)

// SessionTokenPrefix starts every session credential, so a bearer token
// is looked up in the one table it can be in.
const SessionTokenPrefix = "fws_"

// systemActor is who the ledger's own writes (lease sweeps, restart
// reconciliation) are audited as. Its name is not a valid actor name, so
// no actor can be created that is mistaken for it.
var systemActor = &fairway.Actor{Name: "@fairway", Kind: fairway.KindService}

type systemKey struct{}

// asSystem marks ctx for writes made by the ledger itself.
func asSystem(ctx context.Context) context.Context { return context.WithValue(ctx, systemKey{}, true) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// AttachSession attaches a session to a task and returns its credential
// once. A task holds one live session unless its "max-sessions/N" label
// allows more; Replace supersedes a live session explicitly, and every
// new session takes the task's next generation, so the one it replaced
// is fenced off.
func (l *Ledger) AttachSession(ctx context.Context, a fairway.SessionAttach) (*fairway.AttachedSession, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(a); err != nil {
		return nil, err
	}
	if a.LeaseTTL == 0 {
		a.LeaseTTL = fairway.DefaultLeaseTTL
	}
	token := SessionTokenPrefix + randomHex(32)
	id := "ses-" + randomHex(8)
	var out *fairway.AttachedSession
	err := l.write(ctx, "session.attach", a.Task, func(w *write) error {
		out = nil
		if err := w.requireMayAttach(); err != nil {
			return err
		}
		task, err := w.tx.Task(a.Task)
		if err != nil {
			return err
		}
		if fairway.IsTerminal(task.Status) {
			return w.refuse(fairway.Errorf(fairway.ECONFLICT, "task %s is %s: no session can attach to it", task.Key, task.Status))
		}
		live, err := w.liveSessions(task.Key)
		if err != nil {
			return err
		}
		s := &fairway.Session{
			ID: id, Task: task.Key, Actor: w.by.Name, ActorKind: w.by.Kind, Provider: a.Provider, Host: a.Host,
			ProviderSessions: a.ProviderSessions, TmuxSocket: a.TmuxSocket, TmuxPane: a.TmuxPane, PID: a.PID, PIDStart: a.PIDStart,
			Dir: a.Dir, BaseCommit: a.BaseCommit, LeaseTTL: a.LeaseTTL, LeaseUntil: w.now.Add(a.LeaseTTL),
			State: fairway.SessionAttached, Replaces: a.Replace, AttachedAt: w.now, UpdatedAt: w.now,
			// The credential is issued under the attaching token: it
			// cannot outlive it, and ends when that token is revoked.
			CredentialExpiresAt: w.issuedExpiry(time.Time{}), TokenID: w.auth.TokenID,
		}
		if a.Replace != "" {
			i := slices.IndexFunc(live, func(p *fairway.Session) bool { return p.ID == a.Replace })
			if i < 0 {
				return w.refuse(replaceError(w.tx, a.Replace, task.Key))
			}
			p := live[i]
			p.State, p.ReplacedBy, p.EndedAt, p.UpdatedAt = fairway.SessionReplaced, id, w.now, w.now
			p.Reason = fmt.Sprintf("replaced by %s (%s)", id, w.by.Name)
			if err := w.tx.UpdateSession(p); err != nil {
				return err
			}
			if err := w.recordAs("session.replace", p.ID, map[string]any{"session": p.ID, "task": p.Task, "generation": p.Generation, "replaced_by": id}); err != nil {
				return err
			}
			live = slices.Delete(live, i, i+1)
		}
		if max := task.MaxSessions(); len(live) >= max {
			h := live[0]
			return w.refuse(fairway.Errorf(fairway.ECONFLICT,
				"task %s already has %d live session(s), the most it allows: %s (%s, %s, lease until %s). Wait for it to detach or expire, replace it with `fairway session attach --task %s --provider %s --replace %s`, or give the task the label %s%d",
				task.Key, len(live), h.ID, h.Actor, h.Provider, h.LeaseUntil.Format(time.RFC3339), task.Key, a.Provider, h.ID, fairway.MaxSessionsLabel, max+1))
		}
		gen, err := w.tx.MaxSessionGeneration(task.Key)
		if err != nil {
			return err
		}
		s.Generation = gen + 1
		if err := w.tx.InsertSession(s, HashToken(token)); err != nil {
			return err
		}
		handoff, err := lastHandoff(w.tx, task.Key)
		if err != nil {
			return err
		}
		out = &fairway.AttachedSession{Session: s, Token: token, Handoff: handoff}
		w.subject = task.Key
		// The credential's hash, never the credential: audit verify finds
		// a row whose credential was swapped in the store (R8).
		return w.record(struct {
			*fairway.Session
			CredentialHash string `json:"credential_hash"`
		}{s, HashToken(token)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// replaceError says why a session cannot be replaced.
func replaceError(tx fairway.Tx, id, task string) *fairway.Error {
	p, err := tx.Session(id)
	switch {
	case err != nil:
		return &fairway.Error{Code: fairway.ENOTFOUND, Field: "replace", Message: fmt.Sprintf("session %s not found; see `fairway session list --task %s`", id, task)}
	case p.Task != task:
		return fairway.FieldError("replace", "session %s is attached to task %s, not %s", id, p.Task, task)
	}
	return &fairway.Error{Code: fairway.ECONFLICT, Field: "replace", Message: fmt.Sprintf("session %s is %s, not live: attach without --replace", id, p.State)}
}

// lastHandoff returns the newest handoff left on a task by a session that
// ended: what the next session is shown first.
func lastHandoff(tx fairway.Tx, task string) (*fairway.Handoff, error) {
	all, err := tx.Sessions(fairway.SessionFilter{Task: task})
	if err != nil {
		return nil, err
	}
	var h *fairway.Handoff
	for _, s := range all {
		if s.Handoff != "" && (h == nil || !s.EndedAt.Before(h.At)) {
			h = &fairway.Handoff{Session: s.ID, Actor: s.Actor, Provider: s.Provider, At: s.EndedAt, Summary: s.Handoff}
		}
	}
	return h, nil
}

// liveSessions returns a task's live sessions, first ending those whose
// lease ran out (audited as session.expire): expiry is evaluated on every
// write that looks, so no sweep is needed for it to hold.
func (w *write) liveSessions(task string) ([]*fairway.Session, error) {
	attached, err := w.tx.Sessions(fairway.SessionFilter{Task: task, State: fairway.SessionAttached})
	if err != nil {
		return nil, err
	}
	var live []*fairway.Session
	for _, s := range attached {
		if s.Live(w.now) {
			live = append(live, s)
		} else if err := w.expire(s); err != nil {
			return nil, err
		}
	}
	return live, nil
}

// expire ends a session whose lease ran out, or whose credential expired.
func (w *write) expire(s *fairway.Session) error {
	return w.end(s, "session.expire", fairway.SessionExpired, expiredReason(s, w.now))
}

// expiredReason says why an attached session that is not live at now is
// over: its credential expired with its token, or its lease ran out.
func expiredReason(s *fairway.Session, now time.Time) string {
	if s.CredentialExpired(now) {
		return "its credential expired at " + s.CredentialExpiresAt.Format(time.RFC3339) + " with the token that attached it"
	}
	return "lease ran out at " + s.LeaseUntil.Format(time.RFC3339) + " without a heartbeat"
}

// end moves a live session to a final state with its reason, audited
// under action.
func (w *write) end(s *fairway.Session, action, state, reason string) error {
	s.State, s.Reason, s.EndedAt, s.UpdatedAt = state, reason, w.now, w.now
	if err := w.tx.UpdateSession(s); err != nil {
		return err
	}
	change := map[string]any{"session": s.ID, "task": s.Task, "generation": s.Generation, "state": state, "reason": reason}
	if s.CredentialExpiresAt.Equal(w.now) {
		// The ending stopped its credential (endSessionsOf).
		change["credential_expires_at"] = s.CredentialExpiresAt
	}
	return w.recordAs(action, s.ID, change)
}

// fence refuses a write made with a session credential unless that
// session is attached, within its lease, of the generation the
// credential carries, and held by the acting actor (R10). Every write
// passes here (Ledger.write), so no operation can route around it.
func (w *write) fence() error {
	id := w.auth.Session
	s, err := w.tx.Session(id)
	if fairway.ErrorCode(err) == fairway.ENOTFOUND {
		return w.refuse(fairway.Errorf(fairway.EUNAUTHORIZED, "session %s is not known; attach a session with `fairway session attach`", id))
	} else if err != nil {
		return err
	}
	if s.Actor != w.by.Name {
		return w.refuse(fairway.Errorf(fairway.EUNAUTHORIZED, "session %s belongs to %s, not %s", id, s.Actor, w.by.Name))
	}
	if s.Generation != w.auth.Generation {
		return w.refuse(fairway.Errorf(fairway.EFORBIDDEN, "the write carries generation %d of session %s, which has generation %d: it is refused", w.auth.Generation, id, s.Generation))
	}
	if s.State == fairway.SessionAttached && !s.Live(w.now) {
		if err := w.expire(s); err != nil {
			return err
		}
	}
	if s.State != fairway.SessionAttached {
		return w.refuse(fenced(s))
	}
	w.session = s
	return nil
}

// fenced is the refusal of a write made with an ended session's
// credential.
func fenced(s *fairway.Session) *fairway.Error {
	next := "attach a new session with `fairway session attach --task " + s.Task + "`"
	if s.ReplacedBy != "" {
		next = "session " + s.ReplacedBy + " holds the task now; stop working on it"
	}
	return fairway.Errorf(fairway.EFORBIDDEN, "session %s (generation %d) is %s: %s. Its credential is refused, for reads and writes; %s",
		s.ID, s.Generation, s.State, s.Reason, next)
}

// session returns a session to change, refusing callers who may not
// control it, and ending it first when its lease ran out.
func (w *write) sessionFor(id string) (*fairway.Session, error) {
	var s *fairway.Session
	if w.session != nil && w.session.ID == id {
		// The write's own session, read and found live by the fence in
		// this same transaction: reading it again would read the same row.
		c := *w.session
		c.ProviderSessions = slices.Clone(c.ProviderSessions)
		s = &c
	} else {
		var err error
		if s, err = w.tx.Session(id); err != nil {
			return nil, err
		}
	}
	w.taskScoped = true // controlling a session is its own business
	if err := w.requireSessionControl(s); err != nil {
		return nil, err
	}
	if s.State == fairway.SessionAttached && !s.Live(w.now) {
		if err := w.expire(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// requireLive refuses changing a session that ended.
func (w *write) requireLive(s *fairway.Session) error {
	if s.State != fairway.SessionAttached {
		return w.refuse(fenced(s))
	}
	return nil
}

// HeartbeatLinger is how long a heartbeat may wait for others to share
// its commit: with a thousand sessions beating every ten seconds, a few
// commits a second instead of a hundred.
const HeartbeatLinger = 200 * time.Millisecond

// HeartbeatSession renews a live session's lease by its TTL.
func (l *Ledger) HeartbeatSession(ctx context.Context, id string) (*fairway.Session, error) {
	if err := fairway.ValidateSessionID("session", id); err != nil {
		return nil, err
	}
	var out *fairway.Session
	// A heartbeat is durable before it is answered, but nobody waits on
	// it: it may share its commit and fsync with other heartbeats.
	ctx = fairway.WithWriteLinger(ctx, HeartbeatLinger)
	err := l.write(ctx, "session.heartbeat", id, func(w *write) error {
		s, err := w.sessionFor(id)
		if err != nil {
			return err
		}
		if err := w.requireLive(s); err != nil {
			return err
		}
		s.LeaseUntil, s.UpdatedAt = w.now.Add(s.LeaseTTL), w.now
		if err := w.tx.RenewSessionLease(id, s.LeaseUntil, s.UpdatedAt); err != nil {
			return err
		}
		if err := w.tx.InsertObservation(&fairway.Observation{Session: id, At: w.now, Source: fairway.SourceHeartbeat}); err != nil {
			return err
		}
		out = s
		return w.record(map[string]any{"session": id, "generation": s.Generation, "lease_until": s.LeaseUntil})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DetachSession ends a live session, leaving a handoff summary that the
// next session on the task is shown first.
func (l *Ledger) DetachSession(ctx context.Context, id, handoff string) (*fairway.Session, error) {
	if err := fairway.ValidateSessionID("session", id); err != nil {
		return nil, err
	}
	handoff = strings.TrimSpace(handoff)
	if err := fairway.CheckText("handoff", handoff, 20000); err != nil {
		return nil, err
	}
	if err := refuseSecretText(struct {
		Handoff string `json:"handoff"`
	}{handoff}); err != nil {
		return nil, err
	}
	var out *fairway.Session
	err := l.write(ctx, "session.detach", id, func(w *write) error {
		s, err := w.sessionFor(id)
		if err != nil {
			return err
		}
		if err := w.requireLive(s); err != nil {
			return err
		}
		s.Handoff = handoff
		s.State, s.Reason, s.EndedAt, s.UpdatedAt = fairway.SessionDetached, "detached by "+w.by.Name, w.now, w.now
		if err := w.tx.UpdateSession(s); err != nil {
			return err
		}
		out = s
		return w.record(map[string]any{"session": id, "task": s.Task, "generation": s.Generation, "handoff": handoff})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ObserveSession records an observation of a session. A process-exit ends
// a live session: detached when the process exited 0, interrupted when it
// did not, so a killed agent is never left looking attached.
func (l *Ledger) ObserveSession(ctx context.Context, o fairway.SessionObserve) (*fairway.Observation, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(o); err != nil {
		return nil, err
	}
	var out *fairway.Observation
	err := l.write(ctx, "session.observe", o.Session, func(w *write) error {
		s, err := w.sessionFor(o.Session)
		if err != nil {
			return err
		}
		// An agent reports on its live session only, but for how its
		// process ended (session start records that after a detach or a
		// replacement): a replaced agent's hooks are fenced with its
		// plain token as with its session credential (R10).
		if w.by.Kind == fairway.KindAgent && o.Source != fairway.SourceProcessExit {
			if err := w.requireLive(s); err != nil {
				return err
			}
		}
		obs := &fairway.Observation{Session: s.ID, At: w.now, Source: o.Source, Detail: strings.TrimSpace(o.Detail), ExitCode: o.ExitCode}
		if err := w.tx.InsertObservation(obs); err != nil {
			return err
		}
		if p := strings.TrimSpace(o.ProviderSession); p != "" && !slices.Contains(s.ProviderSessions, p) && len(s.ProviderSessions) < fairway.MaxProviderSessions {
			s.ProviderSessions = append(s.ProviderSessions, p)
			s.UpdatedAt = w.now
			if err := w.tx.UpdateSession(s); err != nil {
				return err
			}
		}
		out = obs
		if err := w.record(obs); err != nil {
			return err
		}
		if o.Source == fairway.SourceProcessExit && s.State == fairway.SessionAttached {
			state, reason := fairway.SessionDetached, "the process exited 0"
			if *o.ExitCode != 0 {
				state, reason = fairway.SessionInterrupted, fmt.Sprintf("the process exited with code %d", *o.ExitCode)
				if obs.Detail != "" {
					reason += " (" + obs.Detail + ")"
				}
			}
			return w.end(s, "session."+map[string]string{fairway.SessionDetached: "detach", fairway.SessionInterrupted: "interrupt"}[state], state, reason)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// observationsShown caps the observations GetSession returns.
const observationsShown = 50

// GetSession returns a session and its newest observations. A lease that
// ran out reads as expired even before a write records it.
func (l *Ledger) GetSession(ctx context.Context, id string) (*fairway.Session, error) {
	if err := fairway.ValidateSessionID("session", id); err != nil {
		return nil, err
	}
	var s *fairway.Session
	now := l.now()
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		if s, err = tx.Session(id); err != nil {
			return err
		}
		s.Observations, err = tx.Observations(id, observationsShown)
		return err
	})
	if err != nil {
		return nil, err
	}
	asOf(s, now)
	return s, nil
}

// ListSessions lists sessions, oldest first.
func (l *Ledger) ListSessions(ctx context.Context, f fairway.SessionFilter) ([]*fairway.Session, error) {
	if f.Task != "" {
		if err := fairway.ValidateKey("task", f.Task); err != nil {
			return nil, err
		}
	}
	if f.State != "" && !slices.Contains(fairway.SessionStates, f.State) {
		return nil, fairway.FieldError("state", "%q is not a session state: use one of %s", f.State, strings.Join(fairway.SessionStates, ", "))
	}
	// The clock is read only when a session could have expired.
	var now time.Time
	store := fairway.SessionFilter{Task: f.Task, Actor: f.Actor, State: f.State}
	if f.Live {
		store.State = fairway.SessionAttached
	}
	out := []*fairway.Session{}
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		all, err := tx.Sessions(store)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, s := range all {
			if s.State == fairway.SessionAttached && now.IsZero() {
				now = l.now()
			}
			asOf(s, now)
			if (!f.Live || s.State == fairway.SessionAttached) && (f.State == "" || s.State == f.State) {
				out = append(out, s)
			}
		}
		return nil
	})
	return out, err
}

// asOf shows a session as it stands at now: attached with a lease that
// ran out, or a credential that expired, reads as expired.
func asOf(s *fairway.Session, now time.Time) {
	if s.State == fairway.SessionAttached && !s.Live(now) {
		s.State, s.Reason = fairway.SessionExpired, expiredReason(s, now)
	}
}

// ExpireSessions ends every attached session whose lease ran out, audited
// as the ledger itself, and counts them. Expiry also happens on every
// write that looks at a session; this sweep frees tasks no one touches.
func (l *Ledger) ExpireSessions(ctx context.Context) (int, error) {
	var n int
	err := l.write(asSystem(ctx), "session.sweep", "sessions", func(w *write) error {
		n = 0
		due, err := w.tx.Sessions(fairway.SessionFilter{State: fairway.SessionAttached, LeaseBefore: w.now.Add(time.Nanosecond)})
		if err != nil {
			return err
		}
		for _, s := range due {
			if err := w.expire(s); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Liveness confirms whether a session's process or pane is still there;
// provider adapters implement it. It may do I/O, so it runs outside any
// store transaction.
type Liveness func(ctx context.Context, s *fairway.Session) (alive bool, reason string)

// Reconcile runs after a restart: every attached session that alive
// cannot confirm becomes interrupted with the reason, audited as the
// ledger itself. A stored "attached" is never trusted on its own (R10).
// It returns the sessions it interrupted.
func (l *Ledger) Reconcile(ctx context.Context, alive Liveness) ([]*fairway.Session, error) {
	var attached []*fairway.Session
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		attached, err = tx.Sessions(fairway.SessionFilter{State: fairway.SessionAttached})
		return err
	})
	if err != nil {
		return nil, err
	}
	type verdict struct {
		s      *fairway.Session
		reason string
	}
	var dead []verdict
	for _, s := range attached {
		if ok, reason := alive(ctx, s); !ok {
			dead = append(dead, verdict{s, reason})
		}
	}
	var out []*fairway.Session
	for _, d := range dead {
		var ended *fairway.Session
		err := l.write(asSystem(ctx), "session.reconcile", d.s.ID, func(w *write) error {
			ended = nil
			s, err := w.tx.Session(d.s.ID)
			if err != nil {
				return err
			}
			// Only the session as it was judged: one that heartbeated,
			// detached or was replaced meanwhile is left alone.
			if s.State != fairway.SessionAttached || !s.UpdatedAt.Equal(d.s.UpdatedAt) {
				return nil
			}
			if err := w.tx.InsertObservation(&fairway.Observation{Session: s.ID, At: w.now, Source: fairway.SourceReconcile, Detail: d.reason}); err != nil {
				return err
			}
			ended = s
			return w.end(s, "session.interrupt", fairway.SessionInterrupted, "not confirmed alive after a restart: "+d.reason)
		})
		if err != nil {
			return out, err
		}
		if ended != nil {
			out = append(out, ended)
		}
	}
	return out, nil
}

// AuthenticateSession resolves a session credential to its actor and the
// Auth that carries the session and generation every write is fenced on.
// An ended session's credential still authenticates, so that its writes
// are refused by the fence and the refusal is audited; a disabled actor's
// does not.
func (l *Ledger) AuthenticateSession(ctx context.Context, token string) (*fairway.Actor, *fairway.Auth, error) {
	hash := HashToken(token)
	var a *fairway.Actor
	var cred sessionCred
	// A kept answer whose lease has run out is read again: a heartbeat
	// since may have renewed it.
	if head, ok := l.headKey(ctx); ok {
		if c, ka, ok := l.ids.session(head, hash); ok && c.leaseLive(l.now()) {
			return l.liveSession(c, ka)
		}
	}
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		// What a credential names is kept at the audit head it was read
		// at, as actors are (identities): every heartbeat authenticates,
		// and reading the session and its actor each time cost more than
		// the heartbeat's own write.
		var head headKey
		if l.ids != nil {
			h, err := tx.AuditHead()
			if err != nil {
				return err
			}
			head = keyOf(h)
			var ok bool
			if cred, a, ok = l.ids.session(head, hash); ok && cred.leaseLive(l.now()) {
				return nil
			}
		}
		s, err := tx.SessionByTokenHash(hash)
		if err != nil {
			return err
		}
		if a, err = tx.Actor(s.Actor); err != nil {
			return err
		}
		cred = sessionCred{id: s.ID, actor: s.Actor, generation: s.Generation, expires: s.CredentialExpiresAt, token: s.TokenID, session: *s}
		if s.State == fairway.SessionInterrupted && !s.CredentialExpiresAt.IsZero() && s.CredentialExpiresAt.Equal(s.EndedAt) {
			cred.cut = s.Reason
		}
		if s.TokenID != "" {
			// Revoking the token ends the session; its credential stops
			// here too, for reads and event streams as for writes. What
			// is kept is dropped by the revocation's event.
			k, err := tx.Token(s.TokenID)
			switch {
			case fairway.ErrorCode(err) == fairway.ENOTFOUND:
				return fairway.Errorf(fairway.EUNAUTHORIZED, "session %s was attached with token %s, which this ledger does not know: its credential is refused", s.ID, s.TokenID)
			case err != nil:
				return err
			default:
				cred.tokenRevoked = k.RevokedAt
			}
		}
		if l.ids != nil {
			l.ids.keepSession(head, hash, cred, a)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return l.liveSession(cred, a)
}

// liveSession refuses a session credential whose actor is disabled, or
// which outlived the token that attached it (its expiry or revocation);
// the cache's answer and the store's are judged alike.
func (l *Ledger) liveSession(cred sessionCred, a *fairway.Actor) (*fairway.Actor, *fairway.Auth, error) {
	if a.Disabled() {
		return nil, nil, disabledError(a)
	}
	if !cred.tokenRevoked.IsZero() {
		return nil, nil, fairway.Errorf(fairway.EUNAUTHORIZED, "session %s was attached with token %s of %s, which was revoked at %s: the session ended with it. Attach a new session with a token that is not revoked", cred.id, cred.token, a.Name, cred.tokenRevoked.UTC().Format(time.RFC3339))
	}
	if cred.cut != "" {
		return nil, nil, fairway.Errorf(fairway.EUNAUTHORIZED, "session %s ended at %s (%s): the credentials of %s were revoked, and its credential stopped with them. Attach a new session with a token that is not revoked", cred.id, cred.expires.UTC().Format(time.RFC3339), cred.cut, a.Name)
	}
	now := l.now()
	if !cred.expires.IsZero() && !now.Before(cred.expires) {
		return nil, nil, fairway.Errorf(fairway.EUNAUTHORIZED, "the credential of session %s expired at %s with the token of %s that attached it; get a new token (`fairway token rotate %s`) and attach again, or replace the session", cred.id, cred.expires.UTC().Format(time.RFC3339), a.Name, a.Name)
	}
	// A session that ended (detached, replaced, interrupted, expired) or
	// whose lease ran out stops its credential for reads and event
	// streams too, with the refusal a write gets (fence).
	if s := cred.session; s.State != fairway.SessionAttached {
		return nil, nil, fenced(&s)
	} else if !s.Live(now) {
		s.State, s.Reason = fairway.SessionExpired, expiredReason(&s, now)
		return nil, nil, fenced(&s)
	}
	return a, &fairway.Auth{Session: cred.id, Generation: cred.generation, ExpiresAt: cred.expires}, nil
}
