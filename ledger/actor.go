package ledger

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fairway"
)

// CreateActor creates an actor. On an empty ledger the first actor may be
// created by no one, and must be a human: it bootstraps everything else.
// Afterwards authority.go says who may create which kind.
func (l *Ledger) CreateActor(ctx context.Context, c fairway.ActorCreate) (*fairway.ActorCreated, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := refuseSecretText(c); err != nil {
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
		expires := w.issuedExpiry(time.Time{})
		if c.IssueToken {
			token, err := w.issueToken(a.Name, expires, false)
			if err != nil {
				return err
			}
			out.Token, out.TokenExpiresAt = token, expires
		}
		change := map[string]any{"actor": a, "token_issued": c.IssueToken}
		if c.IssueToken {
			// The hash, never the token: audit verify checks every live
			// token row was issued by an event.
			change["token_hash"] = HashToken(out.Token)
			if !expires.IsZero() {
				change["token_expires_at"] = expires
			}
			w.issuedFields(change)
		}
		return w.record(change)
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

// Authenticate returns the actor a live bearer token belongs to. Tokens
// are looked up each time: a revoked token or a disabled actor stops at
// once, on every server that shares the store; an expired one stops at
// its expiry, also while it is kept in memory.
func (l *Ledger) Authenticate(ctx context.Context, token string) (*fairway.Actor, error) {
	a, _, err := l.authenticateToken(ctx, HashToken(token))
	return a, err
}

// authenticateToken returns the actor of a live, unexpired token and the
// token, by the token's hash.
func (l *Ledger) authenticateToken(ctx context.Context, hash string) (*fairway.Actor, *fairway.Token, error) {
	if head, ok := l.headKey(ctx); ok {
		if a, k, ok := l.ids.token(head, hash); ok {
			return liveToken(a, k, l.now)
		}
	}
	var a *fairway.Actor
	var k *fairway.Token
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		if l.ids == nil {
			var err error
			a, k, err = tx.ActorByTokenHash(hash)
			return err
		}
		head, err := tx.AuditHead()
		if err != nil {
			return err
		}
		var ok bool
		if a, k, ok = l.ids.token(keyOf(head), hash); ok {
			return nil
		}
		if a, k, err = tx.ActorByTokenHash(hash); err != nil {
			return err
		}
		l.ids.keep(keyOf(head), a, hash, k)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return liveToken(a, k, l.now)
}

// liveToken refuses a token whose actor is disabled or which expired.
func liveToken(a *fairway.Actor, k *fairway.Token, now func() time.Time) (*fairway.Actor, *fairway.Token, error) {
	if a.Disabled() {
		return nil, nil, disabledError(a)
	}
	// The clock is read only for a token that can expire.
	if !k.ExpiresAt.IsZero() && k.Expired(now()) {
		return nil, nil, expiredError(k)
	}
	return a, k, nil
}

// expiredError says that a token expired, when, and how to get another.
func expiredError(k *fairway.Token) error {
	at := k.ExpiresAt.UTC().Format(time.RFC3339)
	if k.FromLoginLink {
		return fairway.Errorf(fairway.EUNAUTHORIZED, "your portal sign-in (token %s of %s) expired at %s; sign in again with a new link from `fairway portal login-link --as %s`", k.ID, k.Actor, at, k.Actor)
	}
	return fairway.Errorf(fairway.EUNAUTHORIZED, "token %s of %s expired at %s; ask for a new one with `fairway token rotate %s`", k.ID, k.Actor, at, k.Actor)
}

// DisableActor stops an actor: from the next request on, its tokens,
// sessions and local-mode use are refused. Only a human may, and not
// themselves (so a ledger always keeps a human who can act).
func (l *Ledger) DisableActor(ctx context.Context, name, reason string) (*fairway.Actor, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, fairway.FieldError("reason", "is required: say why the actor is disabled")
	}
	if err := fairway.CheckText("reason", reason, 4000); err != nil {
		return nil, err
	}
	if err := refuseSecretText(struct {
		Reason string `json:"reason"`
	}{reason}); err != nil {
		return nil, err
	}
	var out *fairway.Actor
	err := l.write(ctx, "actor.disable", name, func(w *write) error {
		if err := w.requireHuman("disable an actor", ""); err != nil {
			return err
		}
		a, err := w.tx.Actor(name)
		if err != nil {
			return err
		}
		if a.Disabled() {
			return fairway.Errorf(fairway.ECONFLICT, "actor %s is already disabled (by %s)", name, a.DisabledBy)
		}
		if a.Name == w.by.Name {
			return fairway.Errorf(fairway.ECONFLICT, "you cannot disable yourself; ask another human")
		}
		a.DisabledAt, a.DisabledBy, a.DisabledReason = w.now, w.by.Name, reason
		if err := w.tx.UpdateActor(a); err != nil {
			return err
		}
		revoked, err := w.tx.RevokeTokens(a.Name, w.now)
		if err != nil {
			return err
		}
		// Its sessions end too, so the tasks they held are free at once.
		ended, err := w.endSessionsOf(a.Name, "actor "+a.Name+" was disabled by "+w.by.Name)
		if err != nil {
			return err
		}
		out = a
		return w.record(map[string]any{"actor": a.Name, "reason": reason, "tokens_revoked": revoked, "sessions_ended": ended})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RotateToken revokes every token of an actor and issues a new one,
// returned once, that expires after ttl (never when 0), and no later
// than the credential asking for it.
func (l *Ledger) RotateToken(ctx context.Context, name string, ttl time.Duration) (*fairway.ActorCreated, error) {
	if err := fairway.CheckTokenTTL(ttl); err != nil {
		return nil, err
	}
	var out *fairway.ActorCreated
	err := l.write(ctx, "token.rotate", name, func(w *write) error {
		a, err := w.tx.Actor(name)
		if err != nil {
			return err
		}
		if err := w.requireMayIssueToken(a); err != nil {
			return err
		}
		if a.Disabled() {
			return fairway.Errorf(fairway.ECONFLICT, "actor %s is disabled; a disabled actor gets no token", name)
		}
		revoked, err := w.tx.RevokeTokens(a.Name, w.now)
		if err != nil {
			return err
		}
		// A session credential was issued under the revoked tokens: it
		// ends with them.
		ended, err := w.endSessionsOf(a.Name, "the tokens of "+a.Name+" were rotated by "+w.by.Name)
		if err != nil {
			return err
		}
		out = &fairway.ActorCreated{Actor: a}
		if ttl != 0 {
			out.TokenExpiresAt = w.now.Add(ttl)
		}
		out.TokenExpiresAt = w.issuedExpiry(out.TokenExpiresAt)
		if out.Token, err = w.issueToken(a.Name, out.TokenExpiresAt, false); err != nil {
			return err
		}
		change := w.issuedFields(map[string]any{"actor": a.Name, "tokens_revoked": revoked, "token_issued": true, "token_hash": HashToken(out.Token), "sessions_ended": ended})
		if !out.TokenExpiresAt.IsZero() {
			change["token_expires_at"] = out.TokenExpiresAt
		}
		return w.record(change)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RevokeTokens revokes every token of an actor. Anyone may revoke their
// own; otherwise it takes who could issue them.
func (l *Ledger) RevokeTokens(ctx context.Context, name string) (int, error) {
	var n int
	err := l.write(ctx, "token.revoke", name, func(w *write) error {
		a, err := w.tx.Actor(name)
		if err != nil {
			return err
		}
		if err := w.requireMayRevoke(a); err != nil {
			return err
		}
		if n, err = w.tx.RevokeTokens(a.Name, w.now); err != nil {
			return err
		}
		ended, err := w.endSessionsOf(a.Name, "the tokens of "+a.Name+" were revoked by "+w.by.Name)
		if err != nil {
			return err
		}
		return w.record(map[string]any{"actor": a.Name, "tokens_revoked": n, "sessions_ended": ended})
	})
	return n, err
}

// ActorForIdentity maps an identity provider's token to the actor bound
// to its issuer and subject. Nothing else selects an actor: a username
// claim is neither unique nor stable, and at many providers its holder
// picks it, so it only suggests, in the refusal, the name a human may
// bind the identity to (BindIdentity). Bindings made on a first sign-in
// before this are bindings like any other and keep working.
func (l *Ledger) ActorForIdentity(ctx context.Context, issuer, subject, name string) (*fairway.Actor, error) {
	if issuer == "" || subject == "" {
		return nil, fairway.Errorf(fairway.EUNAUTHORIZED, "the identity token has no issuer or subject")
	}
	var a, named *fairway.Actor
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		var err error
		a, err = tx.ActorByIdentity(issuer, subject)
		if fairway.ErrorCode(err) != fairway.ENOTFOUND {
			return err
		}
		a = nil
		if name == "" {
			return nil
		}
		named, err = tx.Actor(name)
		if fairway.ErrorCode(err) == fairway.ENOTFOUND {
			named, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if a != nil {
		if a.Disabled() {
			return nil, disabledError(a)
		}
		return a, nil
	}
	bind := fmt.Sprintf("`fairway actor bind NAME --oidc-issuer %s --oidc-subject %s`", issuer, subject)
	switch {
	case name == "":
		return nil, fairway.Errorf(fairway.EUNAUTHORIZED, "subject %s of %s is bound to no actor; a human binds it to its actor with %s", subject, issuer, bind)
	case named != nil:
		return nil, fairway.Errorf(fairway.EUNAUTHORIZED, "subject %s of %s is bound to no actor. Its token names %s, but a name in a token never selects an existing actor: if this identity is %s's, a human binds it with %s",
			subject, issuer, name, name, strings.Replace(bind, "NAME", name, 1))
	default:
		return nil, fairway.Errorf(fairway.EUNAUTHORIZED, "subject %s of %s is bound to no actor, and no actor is named %s: a human creates one (`fairway actor create %s --kind human`) and binds it with %s",
			subject, issuer, name, name, strings.Replace(bind, "NAME", name, 1))
	}
}

// BindIdentity binds an actor to an identity provider's issuer and
// subject, so that provider's tokens for that subject act as the actor.
// Only a human, with its own credential, binds (authority.go); an actor
// bound already, or an identity bound to another actor, is refused:
// disable the actor and create another to move an identity.
func (l *Ledger) BindIdentity(ctx context.Context, name, issuer, subject string) (*fairway.Actor, error) {
	issuer, subject = strings.TrimSpace(issuer), strings.TrimSpace(subject)
	if issuer == "" {
		return nil, fairway.FieldError("oidc-issuer", "is required: the identity provider's issuer URL, as its tokens' iss claim says it")
	}
	if subject == "" {
		return nil, fairway.FieldError("oidc-subject", "is required: the person's subject at the identity provider, as its tokens' sub claim says it (a refused sign-in names it)")
	}
	if err := fairway.CheckText("oidc-issuer", issuer, 1000); err != nil {
		return nil, err
	}
	if err := fairway.CheckText("oidc-subject", subject, 1000); err != nil {
		return nil, err
	}
	var out *fairway.Actor
	err := l.write(ctx, "actor.bind", name, func(w *write) error {
		a, err := w.tx.Actor(name)
		if err != nil {
			return err
		}
		if err := w.requireMayBind(a); err != nil {
			return err
		}
		if a.Disabled() {
			return fairway.Errorf(fairway.ECONFLICT, "actor %s is disabled; a disabled actor is bound to nothing", name)
		}
		if a.Subject != "" {
			return fairway.Errorf(fairway.ECONFLICT, "actor %s is bound already, to subject %s of %s; to move an identity, disable the actor and create another", name, a.Subject, a.Issuer)
		}
		a.Issuer, a.Subject = issuer, subject
		if err := w.tx.UpdateActor(a); err != nil {
			return err
		}
		out = a
		return w.record(map[string]any{"actor": name, "issuer": issuer, "subject": subject})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// endSessionsOf interrupts an actor's live sessions: their credentials
// stop with the actor's tokens (their expiry is set to now, so that one
// of a session attached without a token stops too), and the tasks they
// held are free.
func (w *write) endSessionsOf(actor, why string) (int, error) {
	live, err := w.tx.Sessions(fairway.SessionFilter{Actor: actor, State: fairway.SessionAttached})
	if err != nil {
		return 0, err
	}
	for _, s := range live {
		if s.CredentialExpiresAt.IsZero() || s.CredentialExpiresAt.After(w.now) {
			s.CredentialExpiresAt = w.now
		}
		if err := w.end(s, "session.interrupt", fairway.SessionInterrupted, why); err != nil {
			return 0, err
		}
	}
	return len(live), nil
}
