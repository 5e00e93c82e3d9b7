// Package ledger holds Fairway's rules: who may do what, which status
// changes are legal, when a gate passes, and that every change is written
// with its audit event in the same transaction. It implements
// fairway.Service over any fairway.Store.
package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"fairway"
	"fairway/tlog"
)

// Ledger implements fairway.Service.
type Ledger struct {
	store fairway.Store
	// Blobs holds evidence bytes.
	Blobs fairway.BlobStore
	// StepUpACR and MFAMaxAge describe the authentication an MFA-gated
	// approval asks for in its step-up challenge (RFC 9470).
	StepUpACR []string
	MFAMaxAge time.Duration

	policies policyCache
	// Now is the clock; tests replace it to make time deterministic.
	Now func() time.Time
	// NewToken makes bearer tokens; tests may replace it.
	NewToken func() string
	// WatchPoll is how often Watch looks for other processes' events
	// (DefaultWatchPoll when zero).
	WatchPoll time.Duration
	// Getenv reads the server's environment: where webhook secrets are
	// (os.Getenv when nil). Tests replace it.
	Getenv func(string) string

	changes    changes
	listenOnce sync.Once
	// webhooks lets one request at a time in this process work on one
	// CI event, so a redelivery racing it here waits and answers
	// duplicate; across processes the claim in the log decides.
	webhooks        eventLocks
	webhookRefusals refusalBudget
	// SkipTree appends each event without its leaf in the Merkle tree.
	// It exists only to measure what the tree costs a write (fairway
	// bench --tlog), on a throwaway ledger: a tree behind its log is what
	// a forger who cut it back leaves, so `audit verify` fails such a
	// ledger and an ordinary write to it is refused.
	SkipTree bool
	// ids keeps actors and token hashes read, over a store whose writes
	// hold the audit head anyway (fairway.HeadHoldingStore); nil
	// otherwise.
	ids *identities
}

var _ fairway.Service = (*Ledger)(nil)

// New returns a ledger over store, keeping evidence bytes in blobs.
func New(store fairway.Store, blobs fairway.BlobStore) *Ledger {
	l := &Ledger{store: store, Blobs: blobs, Now: time.Now, NewToken: randomToken, MFAMaxAge: 15 * time.Minute}
	if h, ok := store.(fairway.HeadHoldingStore); ok && h.WritesHoldTheHead() {
		l.ids = &identities{}
	}
	return l
}

// Store returns the underlying store.
func (l *Ledger) Store() fairway.Store { return l.store }

func (l *Ledger) now() time.Time { return l.Now().Round(0).UTC() }

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return "fw_" + hex.EncodeToString(b)
}

// HashToken returns the stored form of a bearer token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// actor returns the acting actor as the store knows it: the context names
// who acts, the store says what kind they are and whether they may still
// act. An actor kept in memory is used only at the audit head it was read
// at (identities), so a disabled actor stops at once on every server that
// shares the store.
func (l *Ledger) actor(ctx context.Context, tx fairway.Tx) (*fairway.Actor, error) {
	a := fairway.ActorFromContext(ctx)
	if a == nil || a.Name == "" {
		return nil, fairway.Errorf(fairway.EUNAUTHORIZED, "no actor: pass --as NAME or set FAIRWAY_ACTOR (local mode), or a bearer token (server mode)")
	}
	var at headKey
	if l.ids != nil {
		head, err := tx.AuditHead()
		if err != nil {
			return nil, err
		}
		at = keyOf(head)
		if kept, ok := l.ids.actor(at, a.Name); ok {
			if kept.Disabled() {
				return nil, disabledError(kept)
			}
			return kept, nil
		}
	}
	stored, err := tx.Actor(a.Name)
	if fairway.ErrorCode(err) == fairway.ENOTFOUND {
		return nil, fairway.Errorf(fairway.EUNAUTHORIZED, "actor %q is not known; create it with `fairway actor create %s --kind human|agent|service`", a.Name, a.Name)
	} else if err != nil {
		return nil, err
	}
	if l.ids != nil {
		l.ids.keep(at, stored, "", nil)
	}
	if stored.Disabled() {
		return nil, disabledError(stored)
	}
	return stored, nil
}

func disabledError(a *fairway.Actor) error {
	return fairway.Errorf(fairway.EUNAUTHORIZED, "actor %s was disabled by %s at %s (%s); ask a human to create a new actor",
		a.Name, a.DisabledBy, a.DisabledAt.Format(time.RFC3339), a.DisabledReason)
}

// record seals and appends one audit event for a change made in tx.
func (l *Ledger) record(tx fairway.Tx, by *fairway.Actor, at time.Time, action, subject string, change any) error {
	body, err := fairway.CanonicalJSON(change)
	if err != nil {
		return err
	}
	head, err := tx.AuditHead()
	if err != nil {
		return err
	}
	if head.TreeSize != head.Seq && !l.SkipTree {
		if head, err = catchUpTree(tx, head); err != nil {
			return err
		}
	}
	e := &fairway.AuditEvent{At: at, Actor: by.Name, ActorKind: by.Kind, Action: action, Subject: subject, Change: body}
	e.Seal(head)
	var tree *fairway.MerkleAppend
	if !l.SkipTree {
		if tree, err = tlog.Append(head.TreeSize, head.Range, tlog.LeafHash(e)); err != nil {
			return err
		}
	}
	if err := tx.AppendAudit(e, tree); err != nil {
		return err
	}
	if l.ids != nil {
		l.ids.appended(keyOf(head), headKey{e.Seq, e.Hash}, action)
	}
	return nil
}

// AuditLog pages through the audit log.
func (l *Ledger) AuditLog(ctx context.Context, f fairway.AuditFilter) ([]*fairway.AuditEvent, error) {
	if f.Limit < 0 || f.Limit > 10000 {
		return nil, fairway.FieldError("limit", "must be between 1 and 10000")
	}
	var out []*fairway.AuditEvent
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		out, err = tx.AuditEvents(f)
		return err
	})
	return out, err
}

// VerifyAudit recomputes the whole chain and checks it against the head.
func (l *Ledger) VerifyAudit(ctx context.Context) (*fairway.AuditVerification, error) {
	var res *fairway.AuditVerification
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		res, err = verifyAudit(tx)
		return err
	})
	return res, err
}

// verifyAudit checks the chain, the Merkle tree and the rows the gate
// reads against the events that wrote them, in one transaction.
func verifyAudit(tx fairway.Tx) (*fairway.AuditVerification, error) {
	var v fairway.AuditVerifier
	rows := newRowWitness()
	if err := tx.EachAuditEvent(func(e *fairway.AuditEvent) error { v.Add(e); rows.add(e); return nil }); err != nil {
		return nil, err
	}
	head, err := tx.AuditHead()
	if err != nil {
		return nil, err
	}
	res := v.Finish(head)
	if res.OK {
		res, err = verifyTree(tx, head, res)
	}
	if err != nil || !res.OK {
		return res, err
	}
	problem, err := rows.check(tx)
	if problem != nil {
		res.OK, res.FirstBadSeq, res.Problem = false, problem.seq, problem.problem
	}
	return res, err
}
