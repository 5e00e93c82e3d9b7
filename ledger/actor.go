package ledger

import (
	"context"

	"fairway"
)

// CreateActor creates an actor. On an empty ledger the first actor may be
// created by no one, and must be a human: it bootstraps everything else.
// Afterwards authority.go says who may create which kind.
func (l *Ledger) CreateActor(ctx context.Context, c fairway.ActorCreate) (*fairway.ActorCreated, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var out *fairway.ActorCreated
	err := l.writeWith(ctx, "actor.create", c.Name, true, func(w *write) error {
		if w.by == nil {
			if c.Kind != fairway.KindHuman {
				return fairway.FieldError("kind", "the first actor of a ledger must be a human: it is the one who can approve and close")
			}
		} else if err := w.requireMayCreate(c.Kind); err != nil {
			return err
		}
		a := &fairway.Actor{Name: c.Name, Kind: c.Kind, DisplayName: c.DisplayName, CreatedAt: w.now}
		if w.by != nil {
			a.CreatedBy = w.by.Name
		} else {
			w.by = a
		}
		if err := w.tx.InsertActor(a); err != nil {
			return err
		}
		out = &fairway.ActorCreated{Actor: a}
		if c.IssueToken {
			out.Token = l.NewToken()
			if err := w.tx.InsertToken(HashToken(out.Token), a.Name); err != nil {
				return err
			}
		}
		return w.record(map[string]any{"actor": a, "token_issued": c.IssueToken})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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
