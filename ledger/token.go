package ledger

import (
	"context"
	"strings"
	"time"

	"fairway"
)

// issueToken mints a bearer token for actor, stores its hash (never the
// token) with its expiry, and returns the token, to be shown once. The
// caller's audit event names the hash (and the expiry, when there is
// one), so audit verify can tell every live token row was issued.
func (w *write) issueToken(actor string, expires time.Time, fromLink bool) (string, error) {
	return w.issueTokenBy(actor, expires, fromLink, w.issuer(), w.credentialID())
}

// issueTokenBy is issueToken with who it is issued by and with which
// credential given (authority.go's issuer and credentialID decide them).
func (w *write) issueTokenBy(actor string, expires time.Time, fromLink bool, issuedBy, issuedWith string) (string, error) {
	token := w.l.NewToken()
	k := &fairway.Token{Actor: actor, CreatedAt: w.now, ExpiresAt: expires, FromLoginLink: fromLink, IssuedBy: issuedBy, IssuedWith: issuedWith}
	if err := w.tx.InsertToken(HashToken(token), k); err != nil {
		return "", err
	}
	w.issued = k
	return token, nil
}

// issuedFields adds to an audit event's change who issued the token the
// operation issued and with which credential, so audit verify can tell a
// token row's issuer was not rewritten: independence looks through it
// (R2).
func (w *write) issuedFields(change map[string]any) map[string]any {
	if w.issued != nil {
		change["token_issued_by"] = w.issued.IssuedBy
		if w.issued.IssuedWith != "" {
			change["token_issued_with"] = w.issued.IssuedWith
		}
	}
	return change
}

// ListTokens lists an actor's tokens not revoked (the caller's own when
// actor is empty): ids and times, never a secret. Anyone known may list
// them: the audit log shows every token's issue and revocation to every
// reader already.
func (l *Ledger) ListTokens(ctx context.Context, actor string) ([]*fairway.Token, error) {
	var out []*fairway.Token
	err := l.store.View(ctx, func(tx fairway.Tx) error {
		by, err := l.actor(ctx, tx)
		if err != nil {
			return err
		}
		if actor == "" {
			actor = by.Name
		}
		if _, err := tx.Actor(actor); err != nil {
			return err
		}
		out, err = tx.Tokens(actor)
		return err
	})
	return out, err
}

// RevokeToken revokes one token by its id, with the authority revoking
// all of its actor's tokens takes (requireMayRevoke): its own actor, or
// who could issue it. The sessions attached with that token end with it;
// the actor's other tokens and the sessions they attached go on.
func (l *Ledger) RevokeToken(ctx context.Context, id string) (*fairway.Token, error) {
	if err := fairway.CheckTokenID(id); err != nil {
		return nil, err
	}
	var out *fairway.Token
	err := l.write(ctx, "token.revoke.one", id, func(w *write) error {
		out = nil
		k, err := w.tx.Token(id)
		if err != nil {
			return err
		}
		// The event is about the token's actor, as token.revoke is.
		w.subject = k.Actor
		a, err := w.tx.Actor(k.Actor)
		if err != nil {
			return err
		}
		if err := w.requireMayRevoke(a); err != nil {
			return err
		}
		if !k.RevokedAt.IsZero() {
			return fairway.Errorf(fairway.ECONFLICT, "token %s of %s was revoked already, at %s", id, k.Actor, k.RevokedAt.UTC().Format(time.RFC3339))
		}
		if err := w.tx.RevokeToken(id, w.now); err != nil {
			return err
		}
		ended, err := w.endSessionsAttachedWith(id, "token "+id+" that attached it was revoked by "+w.by.Name)
		if err != nil {
			return err
		}
		unknown, err := w.endSessionsWithoutToken(k, "token "+id+" of "+k.Actor+" was revoked by "+w.by.Name+", and the session records no token, so it may have attached it")
		if err != nil {
			return err
		}
		ended += unknown
		k.RevokedAt = w.now
		out = k
		return w.record(map[string]any{"actor": k.Actor, "token_id": id, "sessions_ended": ended})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SignOut ends a portal sign-in: it revokes the token a login link
// minted for it, so a copy of its cookie stops working too, and every
// token issued with the sign-in's credential (and what those issued in
// turn), ending the sessions each attached. Holding the credential is
// the authority. A token pasted into the sign-in form is the person's own
// credential for the CLI and API, theirs to revoke with `fairway token
// revoke`, and is left alone. An identity provider's token cannot be
// revoked here; what it issued is. A credential that is unknown, revoked
// or expired, and issued nothing live, has nothing left to end.
func (l *Ledger) SignOut(ctx context.Context, token string) error {
	if strings.HasPrefix(token, SessionTokenPrefix) {
		return nil
	}
	a, k, err := l.authenticateToken(ctx, HashToken(token))
	if err == nil {
		if !k.FromLoginLink {
			return nil
		}
		ctx = fairway.NewContextWithAuth(fairway.NewContextWithActor(ctx, a), &fairway.Auth{})
		return l.write(ctx, "token.signout", a.Name, func(w *write) error {
			err := w.tx.RevokeToken(k.ID, w.now)
			if fairway.ErrorCode(err) == fairway.ENOTFOUND {
				return nil // revoked meanwhile: nothing left to do
			} else if err != nil {
				return err
			}
			why := "the portal sign-in (token " + k.ID + ") that issued it was signed out"
			ended, err := w.endSessionsAttachedWith(k.ID, "the portal sign-in (token "+k.ID+") that attached it was signed out")
			if err != nil {
				return err
			}
			revoked, err := w.revokeIssuedWith(k.ID, why)
			if err != nil {
				return err
			}
			return w.record(map[string]any{"actor": a.Name, "token_id": k.ID, "sessions_ended": ended, "tokens_revoked": revoked})
		})
	}
	if fairway.ErrorCode(err) != fairway.EUNAUTHORIZED {
		return err
	}
	// Not a live Fairway token: an identity provider's, say, or a login
	// link's that expired or was revoked. What a request made with it
	// issued names it by id, and its issuer is who signed in with it. A
	// person's own token, even one no longer live, is not a sign-in.
	id := fairway.TokenID(HashToken(token))
	var issued []*fairway.Token
	if err := l.store.View(ctx, func(tx fairway.Tx) error {
		k, err := tx.Token(id)
		if err == nil && !k.FromLoginLink {
			return nil
		} else if err != nil && fairway.ErrorCode(err) != fairway.ENOTFOUND {
			return err
		}
		issued, err = tx.TokensIssuedWith(id)
		return err
	}); err != nil {
		return err
	}
	if len(issued) == 0 || issued[0].IssuedBy == "" {
		return nil
	}
	by := issued[0].IssuedBy
	ctx = fairway.NewContextWithAuth(fairway.NewContextWithActor(ctx, &fairway.Actor{Name: by}), &fairway.Auth{})
	return l.write(ctx, "token.signout", by, func(w *write) error {
		revoked, err := w.revokeIssuedWith(id, "the sign-in (credential "+id+") that issued it was signed out")
		if err != nil {
			return err
		}
		return w.record(map[string]any{"actor": by, "credential_id": id, "tokens_revoked": revoked})
	})
}

// revokeIssuedWith revokes the live tokens the credential with this id
// issued, and what each of those issued in turn, ending the sessions each
// attached: what a sign-in handed out ends with it. Each revocation is an
// event of its own, as `token revoke ID` records it.
func (w *write) revokeIssuedWith(id, why string) (int, error) {
	n := 0
	seen := map[string]bool{id: true}
	for queue := []string{id}; len(queue) > 0; queue = queue[1:] {
		issued, err := w.tx.TokensIssuedWith(queue[0])
		if err != nil {
			return 0, err
		}
		for _, k := range issued {
			if seen[k.ID] {
				continue
			}
			seen[k.ID] = true
			if err := w.tx.RevokeToken(k.ID, w.now); fairway.ErrorCode(err) == fairway.ENOTFOUND {
				continue
			} else if err != nil {
				return 0, err
			}
			ended, err := w.endSessionsAttachedWith(k.ID, "token "+k.ID+" that attached it was revoked: "+why)
			if err != nil {
				return 0, err
			}
			if err := w.recordAs("token.revoke.one", k.Actor, map[string]any{"actor": k.Actor, "token_id": k.ID, "issued_with": queue[0], "reason": why, "sessions_ended": ended}); err != nil {
				return 0, err
			}
			n++
			queue = append(queue, k.ID)
		}
	}
	return n, nil
}

// endSessionsAttachedWith ends, as interrupted, the live sessions that a
// token attached, once it is revoked: each credential was issued under
// that token and stops with it (R1), and the tasks they held are free.
func (w *write) endSessionsAttachedWith(tokenID, why string) (int, error) {
	live, err := w.tx.Sessions(fairway.SessionFilter{TokenID: tokenID, State: fairway.SessionAttached})
	if err != nil {
		return 0, err
	}
	for _, s := range live {
		if err := w.end(s, "session.interrupt", fairway.SessionInterrupted, why); err != nil {
			return 0, err
		}
	}
	return len(live), nil
}

// endSessionsWithoutToken ends, as interrupted, the live sessions of a
// revoked token's actor that record no token and were attached while it
// existed: one attached before sessions recorded their token (migration
// 0019) may have been attached with it, and would outlive it. A session
// attached in local mode or with an identity provider's token records
// none either, and ends too: the ledger cannot tell them apart.
func (w *write) endSessionsWithoutToken(k *fairway.Token, why string) (int, error) {
	live, err := w.tx.Sessions(fairway.SessionFilter{Actor: k.Actor, State: fairway.SessionAttached})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range live {
		if s.TokenID != "" || s.AttachedAt.Before(k.CreatedAt) {
			continue
		}
		if err := w.end(s, "session.interrupt", fairway.SessionInterrupted, why); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// requireTokenNotRevoked refuses a write made with a bearer token that
// was revoked after the request was authenticated and before its
// transaction: the write would outlive the revocation (a session
// attached so would outlive the revocation that should have ended it).
func (w *write) requireTokenNotRevoked() error {
	id := w.auth.TokenID
	if id == "" {
		return nil
	}
	// A token kept at the write's head was not revoked since it was read:
	// a revocation is an identity event, which empties what is kept.
	if w.l.ids != nil {
		head, err := w.tx.AuditHead()
		if err != nil {
			return err
		}
		if k, ok := w.l.ids.tokenByID(keyOf(head), id); ok && k.RevokedAt.IsZero() {
			w.token = k
			return nil
		}
	}
	k, err := w.tx.Token(id)
	if fairway.ErrorCode(err) == fairway.ENOTFOUND {
		return w.refuse(fairway.Errorf(fairway.EUNAUTHORIZED, "token %s is not known; ask for a new one with `fairway token rotate %s`", id, w.by.Name))
	} else if err != nil {
		return err
	}
	if !k.RevokedAt.IsZero() {
		return w.refuse(fairway.Errorf(fairway.EUNAUTHORIZED, "token %s of %s was revoked at %s; ask for a new one with `fairway token rotate %s`", id, k.Actor, k.RevokedAt.UTC().Format(time.RFC3339), k.Actor))
	}
	w.token = k
	return nil
}
