package ledger

import (
	"context"
	"strings"
	"time"

	"fairway"
)

// LoginLinkPrefix starts every one-time portal login link, so it is never
// mistaken for a bearer token.
const LoginLinkPrefix = "fwl_"

// LoginLinkTTL is how long a login link is good for by default.
const LoginLinkTTL = 10 * time.Minute

// PortalSessionTTL is how long the token a login link mints works by
// default; MinPortalSessionTTL and MaxPortalSessionTTL bound what may be
// asked for.
const (
	PortalSessionTTL    = 12 * time.Hour
	MinPortalSessionTTL = 5 * time.Minute
	MaxPortalSessionTTL = 7 * 24 * time.Hour
)

// LoginLink is a one-time link's secret, shown once, until when it can
// be spent, and how long the portal sign-in it starts lasts.
type LoginLink struct {
	Actor      string    `json:"actor"`
	Link       string    `json:"link"`
	ExpiresAt  time.Time `json:"expires_at"`
	SessionTTL string    `json:"session_ttl"`
}

// IssueLoginLink makes a one-time portal login link for the caller: a
// human, acting with its own credential (a person signs themselves in;
// an agent has its token). Only the link's hash is stored; the audit
// event says who and until when, never the secret. The token the link
// mints when it is spent works for sessionTTL (PortalSessionTTL when 0).
func (l *Ledger) IssueLoginLink(ctx context.Context, ttl, sessionTTL time.Duration) (*LoginLink, error) {
	if ttl <= 0 || ttl > time.Hour {
		return nil, fairway.FieldError("ttl", "%s is not a login link's life: give a duration of at most an hour, such as 10m (how long the sign-in it starts lasts is --session-ttl, 12h by default)", ttl)
	}
	if sessionTTL == 0 {
		sessionTTL = PortalSessionTTL
	}
	if sessionTTL < MinPortalSessionTTL || sessionTTL > MaxPortalSessionTTL {
		return nil, fairway.FieldError("session-ttl", "%s is not a portal sign-in's life: give between %s and %s (7 days), such as 12h", sessionTTL, MinPortalSessionTTL, MaxPortalSessionTTL)
	}
	name := ""
	if a := fairway.ActorFromContext(ctx); a != nil {
		name = a.Name
	}
	secret := LoginLinkPrefix + randomHex(32)
	var out *LoginLink
	err := l.write(ctx, "login.link", name, func(w *write) error {
		out = nil
		if err := w.requireMayLogIn(); err != nil {
			return err
		}
		expires := w.now.Add(ttl)
		if err := w.tx.InsertLoginLink(HashToken(secret), w.by.Name, w.issuer(), w.now, expires, sessionTTL); err != nil {
			return err
		}
		out = &LoginLink{Actor: w.by.Name, Link: secret, ExpiresAt: expires, SessionTTL: sessionTTL.String()}
		return w.record(map[string]any{"actor": w.by.Name, "link_hash": HashToken(secret), "expires_at": expires, "session_ttl": sessionTTL.String()})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RedeemLoginLink spends a login link once and issues its actor a token
// for the browser session, which expires as the link said. A link that is
// unknown, used, expired or revoked is refused, and the refusal audited.
func (l *Ledger) RedeemLoginLink(ctx context.Context, link string) (*fairway.ActorCreated, error) {
	if !strings.HasPrefix(link, LoginLinkPrefix) || len(link) > 200 {
		return nil, fairway.Errorf(fairway.EUNAUTHORIZED, "this is not a Fairway login link; ask for one with `fairway portal login-link`")
	}
	var out *fairway.ActorCreated
	err := l.write(asSystem(ctx), "login.redeem", "portal", func(w *write) error {
		out = nil
		a, ttl, issuedBy, err := w.tx.UseLoginLink(HashToken(link), w.now)
		if e, ok := err.(*fairway.Error); ok && e.Code == fairway.EUNAUTHORIZED {
			return w.refuseWith(e, map[string]any{"code": e.Code, "reason": e.Message, "link_hash": HashToken(link)})
		} else if err != nil {
			return err
		}
		if a.Disabled() {
			return w.refuse(disabledError(a).(*fairway.Error))
		}
		if ttl == 0 {
			ttl = PortalSessionTTL // a link issued before links said
		}
		expires := w.now.Add(ttl)
		if issuedBy == "" {
			issuedBy = a.Name // a link issued before links said: its actor asked for it
		}
		token, err := w.issueTokenBy(a.Name, expires, true, issuedBy, "")
		if err != nil {
			return err
		}
		out = &fairway.ActorCreated{Actor: a, Token: token}
		return w.recordAs("login.redeem", a.Name, w.issuedFields(map[string]any{"actor": a.Name, "link_hash": HashToken(link), "token_issued": true, "token_hash": HashToken(token), "token_expires_at": expires}))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
