package ledger

import (
	"context"
	"errors"
	"time"

	"fairway"
)

// write is one write operation in progress: its transaction, who acts with
// which credential, and the one time stamped on everything it records.
// Every change to the ledger goes through Ledger.write, so what must hold
// for every write (an actor who exists and is enabled, refusals audited,
// the audit event in the same transaction) holds in one place.
type write struct {
	ctx  context.Context
	l    *Ledger
	tx   fairway.Tx
	by   *fairway.Actor
	auth *fairway.Auth
	// session is the live session whose credential made the write, once
	// the fence let it through.
	session *fairway.Session
	// token is the bearer token the request was made with, once
	// requireTokenNotRevoked read it; nil for none.
	token *fairway.Token
	// issued is the token the operation issued, if any, for its audit
	// event to state who issued it (issuedFields).
	issued *fairway.Token
	// taskScoped is set once the operation named the task it writes to
	// (onTask), or the session it controls: a session credential may do
	// nothing else.
	taskScoped bool
	now        time.Time
	// action and subject name the audit event of the operation and of its
	// refusal.
	action, subject string
}

// refusal is a write refused by a rule. Ledger.write commits its audit
// event and then returns err to the caller.
type refusal struct {
	err    *fairway.Error
	change any
}

func (r *refusal) Error() string { return r.err.Error() }

// refuse ends the operation with a refusal that is audited as
// "<action>.refused" with its code and reason.
func (w *write) refuse(e *fairway.Error) error {
	return &refusal{err: e, change: map[string]any{"code": e.Code, "reason": e.Message}}
}

// refuseWith is refuse with the audited change given.
func (w *write) refuseWith(e *fairway.Error, change any) error {
	return &refusal{err: e, change: change}
}

// record seals and appends the operation's audit event for a change.
func (w *write) record(change any) error {
	return w.l.record(w.tx, w.by, w.now, w.action, w.subject, change)
}

// recordAs appends an audit event other than the operation's own, made
// in the same transaction (a policy activated by a close, say).
func (w *write) recordAs(action, subject string, change any) error {
	return w.l.record(w.tx, w.by, w.now, action, subject, change)
}

// write runs fn in one store transaction as the acting actor: it resolves
// the actor and credential, stamps the time once, and when fn refuses,
// commits the refusal's audit event and then returns the refusal. The
// store may run fn more than once (a serialization retry), so fn keeps
// its effects inside the transaction.
func (l *Ledger) write(ctx context.Context, action, subject string, fn func(w *write) error) error {
	return l.writeWith(ctx, action, subject, false, fn)
}

// writeWith is write; bootstrap lets fn run with no actor on a ledger
// that has none yet (the first actor creates itself).
func (l *Ledger) writeWith(ctx context.Context, action, subject string, bootstrap bool, fn func(w *write) error) error {
	var refused, notOnTask *fairway.Error
	err := l.store.Update(ctx, func(tx fairway.Tx) error {
		refused, notOnTask = nil, nil
		w := &write{ctx: ctx, l: l, tx: tx, auth: fairway.AuthFromContext(ctx), now: l.now(), action: action, subject: subject}
		empty := false
		if bootstrap {
			n, err := tx.CountActors()
			if err != nil {
				return err
			}
			empty = n == 0
		}
		switch {
		case ctx.Value(systemKey{}) != nil:
			w.by, w.auth = systemActor, &fairway.Auth{}
		case !empty:
			by, err := l.actor(ctx, tx)
			if err != nil {
				return err
			}
			w.by = by
		}
		var err error
		if w.auth.Session != "" {
			err = w.fence()
		} else if w.auth.TokenID != "" && w.by != nil {
			// The token may have been revoked since the request was
			// authenticated: it stops at once, for every write (R1).
			err = w.requireTokenNotRevoked()
		}
		if err == nil {
			err = fn(w)
		}
		if err == nil && w.session != nil && !w.taskScoped {
			// A session credential acts on its task and nothing else: a
			// write that touched no task is undone, then refused.
			notOnTask = fairway.Errorf(fairway.EFORBIDDEN, "session %s works on task %s; its credential cannot %s, which is not a write to that task", w.session.ID, w.session.Task, action)
			return notOnTask
		}
		var r *refusal
		if errors.As(err, &r) {
			if w.by == nil {
				return r.err
			}
			refused = r.err
			return l.record(tx, w.by, w.now, w.action+".refused", w.subject, r.change)
		}
		return err
	})
	if notOnTask != nil && errors.Is(err, notOnTask) {
		// Record the refusal in a write of its own: the refused one
		// was rolled back whole.
		if rerr := l.write(ctx, action, subject, func(w *write) error {
			w.taskScoped = true
			return w.refuse(notOnTask)
		}); rerr != notOnTask && rerr != nil && fairway.ErrorCode(rerr) != fairway.EFORBIDDEN {
			return rerr
		}
		return notOnTask
	}
	if err != nil {
		return err
	}
	l.changes.notify()
	if refused != nil {
		return refused
	}
	return nil
}
