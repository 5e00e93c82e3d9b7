package ledger

import (
	"context"
	"encoding/json"
	"fmt"
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
		return w.record(map[string]any{"actor": w.by.Name, "link_hash": HashToken(secret), "expires_at": expires, "session_ttl": sessionTTL.String(), "issued_by": w.issuer()})
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
		if issuedBy == "" {
			issuedBy = a.Name // a link issued before links said: its actor asked for it
		}
		// The row is only what the store holds: a link counts only as the
		// audit event that issued it says (R8), so a row written into the
		// database file, or one whose life was stretched there, signs no
		// one in.
		issued, err := loginLinkIssued(w.tx, a.Name, HashToken(link))
		if err != nil {
			return err
		}
		if reason := issued.differs(a.Name, ttl, issuedBy, w.now); reason != "" {
			e := fairway.Errorf(fairway.EUNAUTHORIZED, "this login link signs no one in: %s, so it was written or changed in the store behind the ledger's back; run `fairway audit verify`, and ask for a new link with `fairway portal login-link`", reason)
			return w.refuseWith(e, map[string]any{"code": e.Code, "reason": e.Message, "link_hash": HashToken(link)})
		}
		expires := w.now.Add(ttl)
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

// issuedLink is a login link as the audit event that issued it states it.
type issuedLink struct {
	seq        int64
	actor      string
	expiresAt  time.Time
	sessionTTL time.Duration
	// issuedBy is empty for a link whose event did not say.
	issuedBy string
	// spentSeq is the login.redeem event that spent it, if one did.
	spentSeq int64
}

// loginLinkIssued finds the login.link event that issued the link with
// this hash for actor, and the login.redeem event that spent it, if one
// did; nil when none issued it.
func loginLinkIssued(tx fairway.Tx, actor, hash string) (*issuedLink, error) {
	var out *issuedLink
	err := eachEventOf(tx, actor, func(e *fairway.AuditEvent) {
		switch e.Action {
		case "login.link":
			if l := readIssuedLink(e); l != nil && l.hash == hash {
				out = &l.issuedLink
			}
		case "login.redeem":
			var v struct {
				LinkHash string `json:"link_hash"`
			}
			if out != nil && json.Unmarshal(e.Change, &v) == nil && v.LinkHash == hash {
				out.spentSeq = e.Seq
			}
		}
	})
	return out, err
}

// hashedLink is an issued link and its hash.
type hashedLink struct {
	issuedLink
	hash string
}

// readIssuedLink reads a login.link event; nil when it does not parse.
func readIssuedLink(e *fairway.AuditEvent) *hashedLink {
	var v struct {
		Actor      string    `json:"actor"`
		LinkHash   string    `json:"link_hash"`
		ExpiresAt  time.Time `json:"expires_at"`
		SessionTTL string    `json:"session_ttl"`
		IssuedBy   string    `json:"issued_by"`
	}
	if json.Unmarshal(e.Change, &v) != nil || v.LinkHash == "" {
		return nil
	}
	ttl := PortalSessionTTL // a link issued before links said
	if v.SessionTTL != "" {
		d, err := time.ParseDuration(v.SessionTTL)
		if err != nil {
			return nil
		}
		ttl = d
	}
	return &hashedLink{issuedLink{seq: e.Seq, actor: v.Actor, expiresAt: v.ExpiresAt, sessionTTL: ttl, issuedBy: v.IssuedBy}, v.LinkHash}
}

// differs says how a link row about to be spent at now, for actor, with
// the sign-in life ttl and issuer issuedBy, departs from the event that
// issued it; "" when it does not.
func (l *issuedLink) differs(actor string, ttl time.Duration, issuedBy string, now time.Time) string {
	switch {
	case l == nil:
		return "no audit event issued it"
	case l.actor != actor:
		return fmt.Sprintf("event %d issued it for %s, not %s", l.seq, l.actor, actor)
	case l.spentSeq != 0:
		return fmt.Sprintf("event %d spent it already", l.spentSeq)
	case !now.Before(l.expiresAt):
		return fmt.Sprintf("event %d issued it until %s", l.seq, l.expiresAt.UTC().Format(time.RFC3339))
	case ttl != l.sessionTTL:
		return fmt.Sprintf("event %d issued it for a sign-in of %s, not %s", l.seq, l.sessionTTL, ttl)
	case l.issuedBy != "" && issuedBy != l.issuedBy:
		return fmt.Sprintf("event %d issued it by %s, not %s", l.seq, l.issuedBy, issuedBy)
	}
	return ""
}
