package ledger

import (
	"context"

	"fairway"
)

// CreateActor creates an actor. On an empty ledger the first actor may be
// created by no one, and must be a human: it bootstraps everything else.
// Afterwards only humans and services create actors.
func (l *Ledger) CreateActor(ctx context.Context, c fairway.ActorCreate) (*fairway.ActorCreated, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var out *fairway.ActorCreated
	var refusal error
	err := l.store.Update(ctx, func(tx fairway.Tx) error {
		now := l.now()
		n, err := tx.CountActors()
		if err != nil {
			return err
		}
		var by *fairway.Actor
		if n == 0 {
			if c.Kind != fairway.KindHuman {
				return fairway.FieldError("kind", "the first actor of a ledger must be a human: it is the one who can approve and close")
			}
		} else {
			if by, err = l.actor(ctx, tx); err != nil {
				return err
			}
			if by.Kind == fairway.KindAgent {
				refusal = &fairway.Error{Code: fairway.EFORBIDDEN, Message: "agents cannot create actors; ask a human"}
				return l.refuse(tx, by, now, "actor.create", c.Name, refusal.(*fairway.Error))
			}
		}
		a := &fairway.Actor{Name: c.Name, Kind: c.Kind, DisplayName: c.DisplayName, CreatedAt: now}
		if by != nil {
			a.CreatedBy = by.Name
		} else {
			by = a
		}
		if err := tx.InsertActor(a); err != nil {
			return err
		}
		out = &fairway.ActorCreated{Actor: a}
		change := map[string]any{"actor": a, "token_issued": c.IssueToken}
		if c.IssueToken {
			out.Token = l.NewToken()
			if err := tx.InsertToken(HashToken(out.Token), a.Name); err != nil {
				return err
			}
		}
		return l.record(tx, by, now, "actor.create", a.Name, change)
	})
	if err != nil {
		return nil, err
	}
	return out, refusal
}

// GetActor returns one actor.
func (l *Ledger) GetActor(ctx context.Context, name string) (*fairway.Actor, error) {
	var a *fairway.Actor
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		a, err = tx.Actor(name)
		return err
	})
	return a, err
}

// ListActors lists every actor.
func (l *Ledger) ListActors(ctx context.Context) ([]*fairway.Actor, error) {
	var out []*fairway.Actor
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		out, err = tx.Actors()
		return err
	})
	return out, err
}

// Whoami returns the acting actor.
func (l *Ledger) Whoami(ctx context.Context) (*fairway.Actor, error) {
	var a *fairway.Actor
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		a, err = l.actor(ctx, tx)
		return err
	})
	return a, err
}

// Authenticate returns the actor a bearer token belongs to.
func (l *Ledger) Authenticate(ctx context.Context, token string) (*fairway.Actor, error) {
	hash := HashToken(token)
	if a, ok := l.tokens.Load(hash); ok {
		return a.(*fairway.Actor), nil
	}
	var a *fairway.Actor
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		a, err = tx.ActorByTokenHash(hash)
		return err
	})
	if err != nil {
		return nil, err
	}
	l.tokens.Store(hash, a)
	return a, nil
}
